#!/usr/bin/env bash
# The browser test: builds the page (build.sh), serves it on 127.0.0.1, and drives the system
# Chromium headless on SwiftShader's WebGPU adapter (run.mjs): no-WebGPU message, every shader
# under Tint, `argva doctor`'s checks (kernels vs twins, golden epochs, a repeated run), a few
# ARGVA epochs on Cora against the native engine's, the
# bench view. Installs what it needs (chromium from apt, playwright-core from npm) when missing.
# Ends with "N passed, N failed"; exits non-zero on any failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
out=target/web
mkdir -p "$out"

if [ ! -x /usr/bin/chromium ]; then
  echo "run.sh: installing Debian's chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null
fi
if [ ! -d "$here/node_modules/playwright-core" ]; then
  (cd "$here" && npm ci --no-audit --no-fund)
fi

bash "$here/build.sh" "$out/site"

# The native engine's run of the same job, for the browser to match.
epochs=5
cargo build --release --bin argva
./target/release/argva train cora --model argva --epochs "$epochs" --seed 0 --val-every "$epochs" \
  --json --quiet --no-save > "$out/native.json"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$out/site" >"$out/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/')" 2>/dev/null && break
  sleep 0.2
done

shaders=$(ls shaders/*.wgsl | wc -l)
node "$here/run.mjs" "http://127.0.0.1:$port/" "$out/native.json" "$out/screenshot.png" "$shaders"
