#!/usr/bin/env bash
# The GPU suite once under Khronos validation (Debian's vulkan-validationlayers) with
# synchronization validation on, on lavapipe. wgpu forwards the layer's messages to the `log`
# crate, which the tests do not print, so the layer writes them to a log file itself (a layer
# settings file); every error, warning or sync hazard found there is printed and fails the run.
# (Sync validation checks barriers between commands; a race inside one dispatch is invisible
# to it: the kernels' twins and the drivers matrix cover that.)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f /usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json ]; then
  apt-get install -y -q vulkan-validationlayers >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null && apt-get install -y -q vulkan-validationlayers >/dev/null; }
fi
dir=$(realpath -m target/validation)
rm -rf "$dir"
mkdir -p "$dir"
export WGPU_BACKEND=vulkan VK_INSTANCE_LAYERS=VK_LAYER_KHRONOS_validation
# Runs a command under the layer with its own log (each process rewrites its log file).
under_layer() {
  local name=$1
  shift
  cat >"$dir/$name.txt" <<SETTINGS
khronos_validation.debug_action = VK_DBG_LAYER_ACTION_LOG_MSG
khronos_validation.log_filename = $dir/$name.log
khronos_validation.report_flags = error,warn,perf,info
khronos_validation.enables = VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT
SETTINGS
  VK_LAYER_SETTINGS_PATH=$dir/$name.txt "$@"
  [ -s "$dir/$name.log" ] || { echo "validation: no log from $name: was the layer loaded?" >&2; exit 1; }
  grep -q "SYNCHRONIZATION_VALIDATION" "$dir/$name.log" ||
    { echo "validation: $name's log does not show synchronization validation on" >&2; exit 1; }
}
start=$(date +%s)
under_layer gpu-suite cargo test --release --test gpu
# The engine's real schedules too: 3 epochs of each model on Cora, and a mini-batch run.
for model in gae vgae arga argva; do
  under_layer "cora-$model" ./target/release/argva train cora --model "$model" --epochs 3 --no-save
done
under_layer cora-minibatch ./target/release/argva train cora --model argva --epochs 2 --gpu-memory 6 --no-save
echo "validation: the GPU suite and 5 Cora runs took $(( $(date +%s) - start )) s under the layer"
# Every message but the layer's own INFO lines (its settings, the enables) is a finding: the
# layer heads each with "NAME(SEVERITY / TYPE): msgNum: … - Validation SEVERITY: …".
if grep -h -E "\((ERROR|WARN|PERF)|Validation (Error|Warning|Performance)" "$dir"/*.log >"$dir/found.txt"; then
  echo "validation: the layer reported $(wc -l <"$dir/found.txt") messages:" >&2
  cat "$dir/found.txt" >&2
  exit 1
fi
echo "validation: 0 errors, 0 warnings, 0 sync hazards (logs in $dir)"
