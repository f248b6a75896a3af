#!/usr/bin/env bash
# Runs the benchmark suite twice: with OpenBLAS's AVX2 kernels (OPENBLAS_CORETYPE as the
# environment sets it, or Haswell if it sets none) and with the kernels OpenBLAS detects for this
# CPU (OPENBLAS_CORETYPE unset); a third time with SkylakeX's when that detection falls back to
# Prescott on an AVX-512 CPU. Each pass writes Google Benchmark JSON (medians of 5 repetitions)
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
# OpenBLAS < 0.3.25 (Debian 12: 0.3.21) detects Prescott (SSE3) kernels on Intel CPUs it does not
# know by model (Sapphire / Emerald Rapids); then a third pass runs the AVX-512 kernels the mlp
# tool switches to there (cli/blas_kernels.c).
modes=(avx2 auto)
for ((i = 0; i < ${#modes[@]}; i++)); do
  mode=${modes[i]}
  case $mode in
    auto) run=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE) ;;
    avx512) run=(env -u OPENBLAS_L2_SIZE OPENBLAS_CORETYPE=SkylakeX) ;;
    *) run=(env "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}") ;;
  esac
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
  if [ "$mode" = auto ] && [ "$core" = Prescott ] && grep -qw avx512f /proc/cpuinfo; then
    modes+=(avx512)
  fi
done
echo "== scaling model (docs/SCALING.md), auto kernels"
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ./build/bench/scaling_model
