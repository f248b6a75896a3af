#!/usr/bin/env bash
# The main job: install what is missing, build, and train the digits MLP exactly as the seed does
# (hidden 50, ReLU, Adam, max_iter 500, seed 42, scikit-learn's rs42 split), printing test
# accuracy and training speed. Extra arguments go to `mlp train` (e.g. --threads 2, --json).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target mlp_cli >/dev/null
./build/cli/mlp train --data digits --hidden 50 --activation relu --solver adam --max-iter 500 \
  --seed 42 "$@"
