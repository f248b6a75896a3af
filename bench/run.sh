#!/usr/bin/env bash
# Runs the benchmark suite twice, with OpenBLAS's kernels as the environment selects them and with
# OPENBLAS_CORETYPE unset (auto-detected), writing Google Benchmark JSON (medians of 5 repetitions)
# to $OUT_DIR/bench-<corename>.json, then prints each case beside the checked-in baseline.
#   bench/run.sh [extra bench_mlp flags]      (OUT_DIR defaults to build/bench/results)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DMLP_BUILD_BENCH=ON >/dev/null
cmake --build build -j"$(nproc)" --target bench_mlp >/dev/null
out=${OUT_DIR:-build/bench/results}
mkdir -p "$out"
for mode in env auto; do
  if [ "$mode" = auto ]; then run=(env -u OPENBLAS_CORETYPE); else run=(env); fi
  json="$out/bench-$mode.json"
  "${run[@]}" ./build/bench/bench_mlp --benchmark_repetitions=5 --benchmark_min_time=0.1 \
    --benchmark_report_aggregates_only=true \
    --benchmark_out="$json" --benchmark_out_format=json "$@"
  core=$(python3 -c 'import json,sys; b=json.load(open(sys.argv[1]))["benchmarks"]; print(b[0].get("label","unknown"))' "$json")
  echo "== $mode: OpenBLAS core $core; baseline comparison (ratio = now / baseline samples/s)"
  base="bench/baseline/bench-$core.json"
  if [ -f "$base" ]; then python3 bench/compare_baseline.py "$base" "$json"; else echo "(no baseline $base)"; fi
done
