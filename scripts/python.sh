#!/usr/bin/env bash
# Installs the Python package `mlp` into .venv at the repository root: a thin wrapper over
# `pip install .`, which builds libmlp with CMake and puts it inside the package (setup.py,
# python/setup_libmlp.py; docs/PYTHON.md):
#  1. the Debian packages the build and the package need, if missing (quietly, through
#     scripts/setup.sh: its apt log goes to MLP_SETUP_LOG, default ${TMPDIR:-/tmp}/mlp-setup-apt.log);
#  2. .venv (python3 -m venv --system-site-packages: numpy, scikit-learn, pytest, setuptools and
#     onnx come from Debian), created if missing;
#  3. pip install --no-build-isolation . into it, offline (--no-index).
# Then: .venv/bin/python -c "import mlp; print(mlp.__version__)"
# MLP_PYTHON (default /usr/bin/python3, Debian's, which has the python3-* packages) picks the
# interpreter the venv is made from.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh python3 python3-numpy python3-sklearn python3-venv python3-pytest \
  python3-setuptools python3-wheel python3-onnx

log=${TMPDIR:-/tmp}/mlp-python-build.log
py=${MLP_PYTHON:-/usr/bin/python3}
if [ ! -x .venv/bin/python ]; then
  echo "python: creating .venv (system site packages)"
  "$py" -m venv --system-site-packages .venv
fi
# a library copied next to the sources by older versions of this script would shadow nothing
# installed, but would be picked up by anything importing python/mlp from the source tree
rm -f python/mlp/libmlp.so*
echo "python: pip install . into .venv (libmlp built in build-python; log: $log)"
if ! nice -n 19 .venv/bin/python -m pip install --no-build-isolation --no-deps --no-index \
       --disable-pip-version-check . >"$log" 2>&1; then
  echo "python: pip install failed; the end of $log:" >&2
  tail -n 25 "$log" >&2
  exit 1
fi
root=$PWD
(cd / && "$root/.venv/bin/python" -c \
  'import mlp; print("python: mlp", mlp.__version__, "in .venv; library", mlp._lib.library_path)')
