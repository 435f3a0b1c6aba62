#!/usr/bin/env bash
# Runs every fuzz target (cargo-fuzz, libFuzzer; nightly Rust) from the seeds in
# tests/fuzz/seeds/<target>/ and prints one line per target: executions, coverage (edges
# and features) and the corpus size. A crash or a hang fails the script and leaves its
# input in tests/fuzz/artifacts/<target>/.
#   bash tests/fuzz/run.sh [seconds per target] [max executions per target]
# FUZZ_SEED=N fixes libFuzzer's random seed (default: a new seed each run). CI runs
# `FUZZ_SEED=1 bash tests/fuzz/run.sh 30`, a smoke run that does not find a new input on one day
# and not the next; exploring is the long runs' job (docs/reliability.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}
runs=${2:--1}  # -1: no limit on executions (time only)
seed=${FUZZ_SEED:-0}  # 0: libFuzzer picks one
if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz: skipped: no nightly toolchain (rustup toolchain install nightly)"
  exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked --quiet || cargo install cargo-fuzz --quiet
fi
targets=(pickle edge_list npy checkpoint spec csv arrays)
cargo +nightly fuzz build -O --fuzz-dir tests/fuzz
for t in "${targets[@]}"; do
  mkdir -p "tests/fuzz/corpus/$t"
  log="tests/fuzz/target/$t.log"
  # -rss_limit_mb: an input that makes a reader allocate more is a failure too.
  if ! cargo +nightly fuzz run -O --fuzz-dir tests/fuzz "$t" "tests/fuzz/corpus/$t" \
      "tests/fuzz/seeds/$t" -- -max_total_time="$secs" -runs="$runs" -max_len=65536 \
      -rss_limit_mb=2048 -timeout=10 -seed="$seed" -print_final_stats=1 >"$log" 2>&1; then
    # What went wrong (the panic, or libFuzzer's timeout/OOM line), then cargo-fuzz's summary.
    grep -m 5 -E "panicked at|==ERROR: libFuzzer|ALARM|out-of-memory" "$log" || true
    tail -25 "$log"
    echo "fuzz: $t FAILED (input kept in tests/fuzz/artifacts/$t/)"
    exit 1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$')
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -1)
  echo "fuzz: $t: $execs executions in ${secs} s max, $cov, no crash"
done
