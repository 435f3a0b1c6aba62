#!/usr/bin/env bash
# Runs every fuzz target (cargo-fuzz, libFuzzer; nightly Rust) from the seeds in
# tests/fuzz/seeds/<target>/ and prints one line per target: executions, coverage (edges
# and features) and the corpus size. A crash or a hang fails the script and leaves its
# input in tests/fuzz/artifacts/<target>/.
#   bash tests/fuzz/run.sh [seconds per target] [max executions per target]
# CI: `bash tests/fuzz/run.sh 30` (a smoke run). The note's figures: 10 million executions.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}
runs=${2:--1}  # -1: no limit on executions (time only)
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
      -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
    tail -40 "$log"
    echo "fuzz: $t FAILED (input kept in tests/fuzz/artifacts/$t/)"
    exit 1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$')
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -1)
  echo "fuzz: $t: $execs executions in ${secs} s max, $cov, no crash"
done
