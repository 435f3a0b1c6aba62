#!/usr/bin/env bash
# The real-GPU run: on a machine with an NVIDIA GPU, its driver and Vulkan ICD, no Rust and no
# network (PyTorch + torch_geometric optional), from the bundle benches/device/prepare.sh made.
#   bash benches/device/run.sh [OUT]      (OUT: $OUT, else target/device)
# Steps, each with its own time limit, each recorded even when it fails: nvidia-smi, argva info,
# argva doctor, argva bench cora for the four models, the 1 M-node SBM bench (GAE, ARGVA), and
# PyTorch Geometric on CUDA with the same recipe (Cora ARGVA epoch time after warm-up). Writes
# OUT/device.json and OUT/device.md (a table for docs/performance.md). About 5 minutes on an
# H100; SBM_NODES (default 1000000) shrinks the SBM for a run on a CPU adapter.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-${OUT:-$root/target/device}}
mkdir -p "$out"
argva=$here/bundle/bin/argva
[ -x "$argva" ] || argva=$root/target/release/argva
[ -x "$argva" ] || { echo "run.sh: no argva binary: run benches/device/prepare.sh first" >&2; exit 2; }
# The Vulkan loader: the system's, else the bundled one; NVIDIA's ICD when none is chosen.
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1 '; then
  export LD_LIBRARY_PATH=$here/bundle/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
for icd in /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
  if [ -z "${VK_ICD_FILENAMES:-}" ] && [ -f "$icd" ]; then export VK_ICD_FILENAMES=$icd; fi
done
export WGPU_BACKEND=${WGPU_BACKEND:-vulkan}
sbm="sbm:nodes=${SBM_NODES:-1000000},classes=16,degree=20,features=128,seed=1"
: >"$out/steps.tsv"

# step NAME LIMIT_S COMMAND…: stdout to OUT/NAME.out, stderr to OUT/NAME.err, a line in steps.tsv.
step() {
  local name=$1 limit=$2
  shift 2
  local start rc ms
  start=$(date +%s%N)
  timeout "$limit" "$@" >"$out/$name.out" 2>"$out/$name.err"
  rc=$?
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  printf '%s\t%s\t%d.%03d\n' "$name" "$rc" $((ms / 1000)) $((ms % 1000)) >>"$out/steps.tsv"
  echo "run.sh: $name exit $rc"
}

step nvidia-smi 30 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
step info 60 "$argva" info --json
step doctor 120 "$argva" doctor --json
for model in gae vgae arga argva; do
  step "bench-cora-$model" 90 "$argva" bench cora --model "$model" --epochs 30 --warmup 5 --json
done
for model in gae argva; do
  step "bench-sbm-$model" 240 "$argva" bench "$sbm" --model "$model" --epochs 3 --warmup 1 --json
done
if python3 -c 'import torch, torch_geometric; assert torch.cuda.is_available()' 2>/dev/null; then
  pyg=$(mktemp -d)
  mkdir -p "$pyg/Cora"
  cp -r "$root/assets/datasets/planetoid/Cora/raw" "$pyg/Cora/"
  step pyg-cora-argva 180 python3 "$root/benches/pyg/recipe.py" --data-root "$pyg" --dataset Cora \
    --model argva --device cuda --timing --epochs 60 --warmup 10
else
  echo "run.sh: no PyTorch with CUDA here: the PyG comparison is skipped"
fi
python3 "$here/summarize.py" "$out"
