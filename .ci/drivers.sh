#!/usr/bin/env bash
# The driver matrix: `argva doctor` and the GPU suite (kernels vs twins, golden epochs,
# determinism) on every software driver CI can have, and Cora GAE/ARGVA 20-epoch results that must be the same bytes
# on all of them. Drivers: lavapipe and llvmpipe GL of the installed Mesa (25 from
# bookworm-backports), SwiftShader's native Vulkan (Debian's chromium package ships it: run
# after tests/web/run.sh has installed chromium, else it is skipped with the reason), and Debian
# 12's stock Mesa 22.3.6 lavapipe and llvmpipe unpacked beside it (.ci/mesa22.sh); on the stock
# lavapipe (what the README's plain apt line installs) the whole `cargo test --release`.
# Usage: bash .ci/drivers.sh [--skip-installed]   (--skip-installed: the installed Mesa's two
# drivers already ran the suite, as in .ci/run). Needs a release build of the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
skip_installed=${1:-}
argva=./target/release/argva
mesa22=$(bash .ci/mesa22.sh target/mesa22)
swiftshader=/usr/lib/chromium/vk_swiftshader_icd.json

# name | environment | suite? (GL: one test thread: wgpu's GLES device is one context behind
# one lock, see .ci/run) | the same bytes as the first driver (exact) or within bounds (close:
# SwiftShader rounds differently, .ci/same_bits.py)
drivers=(
  "lavapipe-installed|WGPU_BACKEND=vulkan|$([ "$skip_installed" = --skip-installed ] && echo no || echo yes)|exact"
  "llvmpipe-gl-installed|WGPU_BACKEND=gl|$([ "$skip_installed" = --skip-installed ] && echo no || echo gl)|exact"
  "swiftshader-vulkan|WGPU_BACKEND=vulkan VK_ICD_FILENAMES=$swiftshader|yes|close"
  "lavapipe-mesa22|WGPU_BACKEND=vulkan ${mesa22#export }|all|exact"
  "llvmpipe-gl-mesa22|WGPU_BACKEND=gl ${mesa22#export }|gl|exact"
)

# Cora, 20 epochs, seed 0, into target/drivers/NAME/MODEL: the embedding, model and metrics.
train() {
  local out=target/drivers/$1/$model
  rm -rf "$out"; mkdir -p "target/drivers/$1"
  env "${@:2}" "$argva" train cora --model "$model" --epochs 20 --json --out "$out" >"$out.json" 2>/dev/null
}
summary=()
for entry in "${drivers[@]}"; do
  IFS='|' read -r name environment suite mode <<<"$entry"
  read -r -a vars <<<"$environment"
  if [ "$name" = swiftshader-vulkan ] && [ ! -f "$swiftshader" ]; then
    summary+=("$name: skipped ($swiftshader missing: install chromium, or run tests/web/run.sh first)")
    continue
  fi
  echo "== $name"
  env "${vars[@]}" "$argva" info
  env "${vars[@]}" "$argva" doctor | tail -n 3
  secs=-
  if [ "$suite" != no ]; then
    args=(--test gpu)
    [ "$suite" = gl ] && args=(--test gpu -- --test-threads=1)
    # Debian 12's stock lavapipe is what the README's plain apt line installs: the README's
    # whole test command runs on it, not only the GPU suite.
    [ "$suite" = all ] && args=()
    start=$(date +%s)
    env "${vars[@]}" cargo test --release "${args[@]}"
    secs=$(( $(date +%s) - start ))
  fi
  for model in gae argva; do train "$name" "${vars[@]}"; done
  reference=${reference:-$name}
  bits=$(python3 .ci/same_bits.py "target/drivers/$reference" "target/drivers/$name" "$mode")
  summary+=("$name: $([ "$suite" = all ] && echo "cargo test --release" || echo "GPU suite") ${secs} s; Cora GAE, ARGVA 20 epochs vs $reference: $bits")
done
echo "== driver matrix"
printf '%s\n' "${summary[@]}"
