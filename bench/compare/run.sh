#!/usr/bin/env bash
# Side-by-side benchmark of mlp against scikit-learn, PyTorch, numpy and FANN (README.md here).
#   bash bench/compare/run.sh [--quick] [compare.py options]
# 1. installs the peers and the data if missing (apt-get: python3-sklearn, python3-torch,
#    libfann-dev, dataset-fashion-mnist; root or sudo needed only then; a peer that cannot be
#    installed is skipped with a note; without Fashion-MNIST the 784-100-10 fit runs on a
#    deterministic synthetic set of the same shape, and the tables say so),
# 2. builds mlp (cmake, in $BUILD_DIR, default build-cmp) and the two C drivers,
# 3. runs compare.py with Debian's /usr/bin/python3 and prints the tables.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${BUILD_DIR:-build-cmp}

sudo_=()
[ "$(id -u)" = 0 ] || sudo_=(sudo)
apt_install() { # best effort: a peer that cannot be installed is skipped later
  DEBIAN_FRONTEND=noninteractive "${sudo_[@]}" apt-get install -y -q --no-install-recommends "$@" \
    >/dev/null 2>&1 || { "${sudo_[@]}" apt-get update -q >/dev/null 2>&1 &&
    DEBIAN_FRONTEND=noninteractive "${sudo_[@]}" apt-get install -y -q --no-install-recommends "$@" \
    >/dev/null 2>&1; } || echo "run.sh: could not install $*: skipped" >&2
}
need=()
for p in cmake gcc g++ pkg-config libopenblas-openmp-dev zlib1g-dev libbenchmark-dev \
         python3-numpy python3-threadpoolctl; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
[ ${#need[@]} = 0 ] || apt_install "${need[@]}"
# Each alone: one failure skips one peer (or, for the data, falls back to synthetic data).
for p in python3-sklearn python3-torch libfann-dev dataset-fashion-mnist; do
  dpkg -s "$p" >/dev/null 2>&1 || apt_install "$p"
done

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DMLP_BUILD_TESTS=OFF -DMLP_BUILD_EXAMPLES=OFF \
  -DMLP_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target mlp_shared >/dev/null 2>&1 ||
  cmake --build "$build" -j"$(nproc)" >/dev/null
mkdir -p "$build/compare"
ob=/usr/lib/x86_64-linux-gnu/openblas-openmp
lib=$(cd "$build/src" && pwd)
gcc -std=c11 -O2 -Wall -Wextra -o "$build/compare/mlp_driver" bench/compare/mlp_driver.c \
  -Iinclude -I/usr/include/x86_64-linux-gnu/openblas-openmp -L"$lib" -lmlp -L"$ob" -lopenblas \
  -Wl,-rpath,"$lib:$ob"
if [ -f /usr/include/floatfann.h ]; then
  gcc -std=c11 -O2 -Wall -Wextra -o "$build/compare/fann_driver" bench/compare/fann_driver.c \
    -lfloatfann -lz -lm
else
  rm -f "$build/compare/fann_driver"
fi
exec /usr/bin/python3 bench/compare/compare.py --build-dir "$build" "$@"
