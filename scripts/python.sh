#!/usr/bin/env bash
# Installs the Python package `mlp` (python/) into .venv at the repository root:
#  1. the Debian packages it needs, if missing (quietly, through scripts/setup.sh: its apt log
#     goes to MLP_SETUP_LOG, default ${TMPDIR:-/tmp}/mlp-setup-apt.log);
#  2. builds libmlp and the mlp tool in build-python (Release; tests, bench and examples off);
#  3. creates .venv (python3 -m venv --system-site-packages: numpy, scikit-learn and pytest come
#     from Debian) and installs the package into it offline, libmlp.so.0 copied next to it.
# Then: .venv/bin/python -c "import mlp; print(mlp.__version__)"
# MLP_PYTHON (default /usr/bin/python3, Debian's, which has the python3-* packages) picks the
# interpreter the venv is made from.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh python3 python3-numpy python3-sklearn python3-venv python3-pytest \
  python3-setuptools python3-wheel

dir=build-python
log=${TMPDIR:-/tmp}/mlp-python-build.log
echo "python: building libmlp in $dir (log: $log)"
if ! { nice -n 19 cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DMLP_BUILD_TESTS=OFF \
         -DMLP_BUILD_BENCH=OFF -DMLP_BUILD_EXAMPLES=OFF &&
       nice -n 19 cmake --build "$dir" --target mlp_shared mlp_cli -j2; } >"$log" 2>&1; then
  echo "python: building libmlp failed; the end of $log:" >&2
  tail -n 20 "$log" >&2
  exit 1
fi

# the library next to the package, under its SONAME (the name its dependents ask for)
so=$(readlink -f "$dir/src/libmlp.so")
rm -f python/mlp/libmlp.so*
cp "$so" python/mlp/libmlp.so.0
sed -n 's/^#define MLP_VERSION_STRING "\(.*\)"/\1/p' include/mlp/mlp.h >python/VERSION

py=${MLP_PYTHON:-/usr/bin/python3}
if [ ! -x .venv/bin/python ]; then
  echo "python: creating .venv (system site packages)"
  "$py" -m venv --system-site-packages .venv
fi
echo "python: installing python/ into .venv"
rm -rf python/build python/*.egg-info
if ! .venv/bin/python -m pip install --quiet --no-build-isolation --no-deps --no-index \
       --disable-pip-version-check ./python >>"$log" 2>&1; then
  echo "python: pip install failed; the end of $log:" >&2
  tail -n 20 "$log" >&2
  exit 1
fi
rm -rf python/build python/*.egg-info
root=$PWD
(cd / && "$root/.venv/bin/python" -c \
  'import mlp; print("python: mlp", mlp.__version__, "in .venv; library", mlp._lib.library_path)')
