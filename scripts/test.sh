#!/usr/bin/env bash
# Builds mlp with warnings as errors and runs every test suite through ctest.
# MLP_BUILD_DIR (default build) and MLP_CMAKE_FLAGS select another configuration.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
dir=${MLP_BUILD_DIR:-build}
# shellcheck disable=SC2086
cmake -S . -B "$dir" -DMLP_WERROR=ON ${MLP_CMAKE_FLAGS:-}
cmake --build "$dir" -j"$(nproc)"
ctest --test-dir "$dir" --output-on-failure -j"$(nproc)"
