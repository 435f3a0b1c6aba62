#!/usr/bin/env bash
# Builds the browser page into target/web/site (or $1): argva's library for wasm32 + WebGPU,
# its JS glue from wasm-bindgen-cli of exactly the wasm-bindgen version in Cargo.lock, the page
# (assets/web/). Installs the wasm32 target and
# wasm-bindgen-cli when missing (reused when present). Serve the folder over http (WebGPU
# needs a secure context: http://127.0.0.1 or https), e.g.
#   python3 -m http.server -d target/web/site 8000 --bind 127.0.0.1
set -euo pipefail
cd "$(dirname "$0")/../.."
site=${1:-target/web/site}

rustup target list --installed | grep -qx wasm32-unknown-unknown \
  || rustup target add wasm32-unknown-unknown \
  || { echo "build.sh: cannot install the wasm32-unknown-unknown target" >&2; exit 1; }

want=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
[ -n "$want" ] || { echo "build.sh: no wasm-bindgen in Cargo.lock" >&2; exit 1; }
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  echo "build.sh: installing wasm-bindgen-cli $want (have: ${have:-none}; minutes on 2 cores)"
  # --locked first; its lock file pins a webpki-roots the registry no longer serves, so fall
  # back to a fresh resolution of the same version.
  cargo install wasm-bindgen-cli --version "$want" --locked \
    || cargo install wasm-bindgen-cli --version "$want"
fi

cargo rustc --lib --release --target wasm32-unknown-unknown --crate-type cdylib
rm -rf "$site"
mkdir -p "$site"
wasm-bindgen --target web --no-typescript --out-dir "$site/pkg" \
  target/wasm32-unknown-unknown/release/argva.wasm
cp assets/web/* "$site/"
echo "build.sh: page in $site ($(du -sh "$site/pkg/argva_bg.wasm" | cut -f1) of wasm)"
