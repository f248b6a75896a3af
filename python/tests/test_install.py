"""Packaging: `pip wheel` of the repository makes a platform wheel with libmlp.so.0 inside, which
installs into a fresh virtual environment (--system-site-packages, offline) and fits the digits
example there without MLP_LIBRARY; a missing build tool gives one message naming the Debian
packages."""
import importlib.util
import os
import subprocess
import sys
import zipfile

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
# loaded by path: python/ on sys.path would make `import mlp` (here and in joblib's workers,
# which inherit sys.path) find the sources, which have no library, instead of the installed package
_spec = importlib.util.spec_from_file_location("setup_libmlp",
                                               os.path.join(ROOT, "python", "setup_libmlp.py"))
setup_libmlp = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(setup_libmlp)

PIP = ["-m", "pip", "--disable-pip-version-check"]
FIT = ("import mlp, os; from sklearn.datasets import load_digits; "
       "from sklearn.model_selection import train_test_split as s; "
       "assert 'MLP_LIBRARY' not in os.environ; "
       "Xa, Xb, ya, yb = s(*load_digits(return_X_y=True), test_size=0.2, random_state=42); "
       "c = mlp.MLPClassifier((50,), max_iter=300, random_state=42).fit(Xa, ya); "
       "print(mlp._lib.library_path); print(c.score(Xb, yb))")


def test_missing_build_tool_names_debian_packages():
    with pytest.raises(SystemExit) as e:
        setup_libmlp.check_build_tools(which=lambda tool: None if tool == "cmake" else "/bin/x")
    msg = str(e.value)
    assert "missing cmake (Debian package cmake)" in msg
    assert "apt-get install cmake make gcc pkg-config libopenblas-openmp-dev zlib1g-dev" in msg


@pytest.mark.skipif("MLP_LIBRARY" in os.environ, reason="the test needs the package's own library")
def test_wheel_installs_elsewhere_and_fits_digits(tmp_path):
    if not os.access(ROOT, os.W_OK):
        pytest.skip("the repository is read-only: the wheel builds in build-python/")
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable] + PIP + ["wheel", "--no-build-isolation", "--no-deps",
                                             "--no-index", "-q", "-w", str(wheels), ROOT],
                   check=True, cwd=str(tmp_path))
    (wheel,) = list(wheels.glob("mlp-*.whl"))
    assert "linux" in wheel.name, "a platform wheel (it holds a shared library): " + wheel.name
    assert "mlp/libmlp.so.0" in zipfile.ZipFile(wheel).namelist()
    env_dir = tmp_path / "venv"
    base = getattr(sys, "_base_executable", sys.executable)  # the interpreter .venv came from
    subprocess.run([base, "-m", "venv", "--system-site-packages", str(env_dir)],
                   check=True)
    py = str(env_dir / "bin" / "python")
    subprocess.run([py] + PIP + ["install", "--no-index", "--no-deps", "-q", str(wheel)],
                   check=True)
    out = subprocess.run([py, "-c", FIT], check=True, capture_output=True, text=True, cwd="/")
    library, score = out.stdout.split()
    assert library.startswith(str(env_dir)), library
    assert float(score) > 0.9
