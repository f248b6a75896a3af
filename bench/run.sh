#!/usr/bin/env bash
# Runs the benchmark suite twice: with OpenBLAS's AVX2 kernels (OPENBLAS_CORETYPE as the
# environment sets it, or Haswell if it sets none) and with the kernels OpenBLAS detects for this
# CPU (OPENBLAS_CORETYPE unset). Each pass writes Google Benchmark JSON (medians of 5 repetitions)
# to $OUT_DIR/bench-<mode>.json and prints:
#   - every training step and GEMM floor at 1 and 2 threads with its fraction of the FMA peak
#     measured in the same process, and its 2-thread scaling against the peak's (bench/report.py);
#   - each case beside the checked-in baseline of the same OpenBLAS core (bench/compare_baseline.py).
#   bench/run.sh [extra bench_mlp flags]      (OUT_DIR defaults to build/bench/results)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DMLP_BUILD_BENCH=ON >/dev/null
cmake --build build -j"$(nproc)" --target bench_mlp scaling_model >/dev/null
out=${OUT_DIR:-build/bench/results}
mkdir -p "$out"
for mode in avx2 auto; do
  if [ "$mode" = auto ]; then run=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)
  else run=(env "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}"); fi
  json="$out/bench-$mode.json"
  "${run[@]}" ./build/bench/bench_mlp --benchmark_repetitions=5 --benchmark_min_time=0.1 \
    --benchmark_report_aggregates_only=true \
    --benchmark_out="$json" --benchmark_out_format=json "$@"
  core=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["context"].get("blas_core","unknown"))' "$json")
  echo "== $mode: OpenBLAS core $core: fraction of peak and 2-thread scaling"
  python3 bench/report.py "$json"
  echo "== $mode: baseline comparison (ratio = now / baseline samples/s)"
  base="bench/baseline/bench-$core.json"
  if [ -f "$base" ]; then python3 bench/compare_baseline.py "$base" "$json"; else echo "(no baseline $base)"; fi
done
echo "== scaling model (docs/SCALING.md), auto kernels"
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ./build/bench/scaling_model
