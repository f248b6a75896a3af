#!/usr/bin/env bash
# mlp on the shipped digits set and rs42 split for seeds 0..N-1, the same settings as
# sklearn_digits_seeds.py (hidden 50, ReLU, Adam, max_iter 500): one line per seed and the mean.
# Usage: mlp_digits_seeds.sh [N_SEEDS] [PRECISION]   (f32, bf16 or auto: mlp train --precision;
# needs a build: bash scripts/digits.sh builds it)
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-10}
precision=${2:-f32}
mlp=./build/cli/mlp
[ -x "$mlp" ] || { echo "build first: cmake -S . -B build && cmake --build build" >&2; exit 1; }
sum=0
for ((s = 0; s < n; s++)); do
  line=$(OMP_NUM_THREADS=1 "$mlp" train --data digits --hidden 50 --activation relu --solver adam \
    --max-iter 500 --seed "$s" --threads 1 --precision "$precision" --json --quiet | tail -n 1)
  acc=$(sed -E 's/.*"accuracy": ([0-9.]+).*/\1/' <<<"$line")
  ep=$(sed -E 's/.*"epochs": ([0-9]+).*/\1/' <<<"$line")
  sec=$(sed -E 's/.*"seconds": ([0-9.e-]+).*/\1/' <<<"$line")
  printf 'seed %d: epochs %s fit %.3f s accuracy %.2f%%\n' "$s" "$ep" "$sec" "$(awk -v a="$acc" 'BEGIN{print 100*a}')"
  sum=$(awk -v a="$sum" -v b="$acc" 'BEGIN{print a+b}')
done
awk -v s="$sum" -v n="$n" -v p="$precision" \
  'BEGIN{printf "mean accuracy over seeds 0..%d (%s): %.2f%%\n", n-1, p, 100*s/n}'
