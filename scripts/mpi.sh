#!/usr/bin/env bash
# Data-parallel training over MPI: installs Open MPI (Debian libopenmpi-dev, openmpi-bin) if
# missing (quietly, scripts/setup.sh), configures build-mpi with -DMLP_WITH_MPI=ON and warnings as
# errors, builds, and runs the MPI tests (ctest -R mpi: 2- and 3-rank jobs under mpirun,
# `mpirun -np P mlp train`, and mpi_consumer: the installed libmlp_mpi through mlp::mpi and
# mlp-mpi.pc, on 2 ranks).
# MLP_BUILD_DIR (default build-mpi) and MLP_CMAKE_FLAGS select another configuration. Installing
# packages needs root or sudo; the tests run mpirun with --allow-run-as-root --oversubscribe.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh libopenmpi-dev openmpi-bin
dir=${MLP_BUILD_DIR:-build-mpi}
# shellcheck disable=SC2086
cmake -S . -B "$dir" -DMLP_WITH_MPI=ON -DMLP_WERROR=ON -DMLP_BUILD_BENCH=OFF ${MLP_CMAKE_FLAGS:-}
cmake --build "$dir" -j"$(nproc)"
ctest --test-dir "$dir" -R mpi --output-on-failure
