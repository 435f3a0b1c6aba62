#!/usr/bin/env bash
# Link-prediction and clustering quality over seeds: mean ± std of the test metrics, the
# figures in the README. Usage: benches/quality.sh [DATASET] [MODELS] [SEEDS] [TRAIN FLAGS]
#   benches/quality.sh cora "gae vgae arga argva" 10
#   benches/quality.sh cora gae 5 "--batch parts=128,per=64 --epochs 100"   # docs/minibatch.md
# Needs a release build (`cargo build --release`); Cora and CiteSeer are built into argva.
set -euo pipefail
dataset=${1:-cora}
models=${2:-gae vgae arga argva}
seeds=${3:-10}
flags=${4:-}
bin=${ARGVA_BIN:-target/release/argva}
out=$(mktemp -d)
for model in $models; do
  for seed in $(seq 0 $((seeds - 1))); do
    # shellcheck disable=SC2086 # the flags are words
    "$bin" train "$dataset" --model "$model" --seed "$seed" --json --quiet --no-save $flags > "$out/$model-$seed.json"
  done
  python3 - "$out" "$model" "$seeds" "$dataset" <<'PY'
import json, statistics as st, sys
out, model, seeds, dataset = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
runs = [json.load(open(f"{out}/{model}-{s}.json")) for s in range(seeds)]
def ms(xs):
    return f"{st.mean(xs):.3f} ± {st.stdev(xs) if len(xs) > 1 else 0:.3f}"
row = [ms([r["test"]["auc"] for r in runs]), ms([r["test"]["ap"] for r in runs])]
if runs[0].get("clustering"):
    row += [ms([r["clustering"][k] for r in runs]) for k in ("acc", "nmi", "ari")]
t = st.mean(r["train_seconds"] / r["config"]["epochs"] * 1e3 for r in runs)
print(f"| {dataset} | {model} | " + " | ".join(row) + f" | {t:.0f} ms |", flush=True)
PY
done
