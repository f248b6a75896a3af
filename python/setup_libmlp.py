"""The build of the Python package: `pip install .` (repository root) and `pip install ./python`
build libmlp with CMake and put libmlp.so.0 inside the package, so that `import mlp` finds it
without MLP_LIBRARY or a system-wide install.

Used by setup.py at the repository root and python/setup.py; both hand over the repository's
root (the CMake project) and where the package's sources are. The library is built in
<root>/build-python (Release; tests, benchmarks and examples off) with its installed RUNPATH
(the OpenBLAS OpenMP build's directory only). The wheel is platform-specific (a shared library inside): it
installs on machines with the same Debian packages (OpenBLAS, libgomp, zlib, liblbfgs, oneDNN
when found at build time). Build offline with --no-build-isolation: setuptools and wheel come
from Debian (python3-setuptools, python3-wheel), like numpy and scikit-learn."""
import os
import re
import shutil
import subprocess
import sys

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

# What a Debian 12 machine needs to build libmlp (scripts/setup.sh installs these and more).
DEBIAN_BUILD = "cmake make gcc pkg-config libopenblas-openmp-dev zlib1g-dev"
DEBIAN_OPTIONAL = "liblbfgs-dev (the lbfgs solver) and libdnnl-dev (precision='bf16')"
TOOLS = {"cmake": "cmake", "make": "make", "cc": "gcc", "pkg-config": "pkg-config"}
SONAME = "libmlp.so.0"


class BuildError(SystemExit):
    """One message naming what is missing; pip shows it in the build's output."""


def deps_message(what):
    return ("mlp: cannot build libmlp: %s.\nOn Debian 12 install the build dependencies first:\n"
            "    apt-get install %s\n(optional: %s), or run `bash scripts/setup.sh` in the mlp "
            "repository." % (what, DEBIAN_BUILD, DEBIAN_OPTIONAL))


def check_build_tools(which=shutil.which):
    """Raises BuildError naming the Debian packages when a build tool is missing."""
    missing = sorted({pkg for tool, pkg in TOOLS.items() if which(tool) is None})
    if missing:
        raise BuildError(deps_message("missing %s (Debian package%s %s)" % (
            ", ".join(t for t, p in TOOLS.items() if p in missing),
            "s" if len(missing) > 1 else "", " ".join(missing))))


def version(root):
    """The library's version, from include/mlp/mlp.h (the one place it is written for C)."""
    with open(os.path.join(root, "include", "mlp", "mlp.h")) as f:
        m = re.search(r'^#define MLP_VERSION_STRING "([^"]+)"', f.read(), re.M)
    if not m:
        raise BuildError("mlp: MLP_VERSION_STRING not found in include/mlp/mlp.h")
    return m.group(1)


def run_logged(cmd, log, step):
    with open(log, "a") as f:
        f.write("$ %s\n" % " ".join(cmd))
        f.flush()
        r = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        with open(log) as f:
            lines = f.read().splitlines()
        errors = [ln for ln in lines if "Error" in ln or "error:" in ln or "mlp:" in ln][-8:]
        detail = "\n".join(errors or lines[-15:])
        raise BuildError(deps_message("%s failed (log: %s):\n%s" % (step, log, detail)))


def build_library(root):
    """Configures and builds libmlp; returns the path of the built libmlp.so.0."""
    if not os.path.isfile(os.path.join(root, "CMakeLists.txt")):
        raise BuildError("mlp: the package is built from the mlp repository: no CMakeLists.txt "
                         "at %s" % root)
    check_build_tools()
    build = os.path.join(root, "build-python")
    log = os.path.join(build, "pip-build.log")
    os.makedirs(build, exist_ok=True)
    open(log, "w").close()
    jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL") or "2"
    print("mlp: building libmlp with CMake in %s (log: %s)" % (build, log), file=sys.stderr)
    # CMAKE_BUILD_WITH_INSTALL_RPATH: the built library carries its installed RUNPATH (the
    # OpenBLAS OpenMP build's directory only), not the build tree's
    run_logged(["cmake", "-S", root, "-B", build, "-DCMAKE_BUILD_TYPE=Release",
                "-DMLP_BUILD_TESTS=OFF", "-DMLP_BUILD_BENCH=OFF", "-DMLP_BUILD_EXAMPLES=OFF",
                "-DCMAKE_BUILD_WITH_INSTALL_RPATH=ON"], log, "configuring libmlp (CMake)")
    run_logged(["cmake", "--build", build, "--target", "mlp_shared", "-j", jobs], log,
               "building libmlp")
    lib = os.path.join(build, "src", SONAME)
    if not os.path.isfile(lib):
        raise BuildError("mlp: the build made no %s (log: %s)" % (lib, log))
    return os.path.realpath(lib)


def make_build_py(root):
    class BuildPyWithLibrary(build_py):
        """build_py, then libmlp.so.0 built and copied into the package's build folder (so it
        goes into the wheel and the installed package, next to _lib.py, which looks there)."""

        def run(self):
            super().run()
            lib = build_library(root)
            dest = os.path.join(self.build_lib, "mlp", SONAME)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copyfile(lib, dest)
            os.chmod(dest, 0o755)

    return BuildPyWithLibrary


class BinaryDistribution(Distribution):
    """A wheel for this platform (it carries a shared library), not a py3-none-any one."""

    def has_ext_modules(self):
        return True


def check_python_build_deps():
    """setuptools' bdist_wheel (what pip builds with) comes from the wheel package; without it
    setuptools only says "invalid command 'bdist_wheel'"."""
    try:
        import wheel  # noqa: F401
    except ImportError:
        raise BuildError("mlp: building the package needs the wheel package (Debian: "
                         "python3-wheel, seen by a venv made with `/usr/bin/python3 -m venv "
                         "--system-site-packages`), or pip without --no-build-isolation where "
                         "PyPI is reachable") from None


def setup_mlp(root, package_dir):
    """setup() for the package whose sources are at package_dir (relative to setup.py)."""
    check_python_build_deps()
    # setuptools' own build folders in build-python too, not in the source tree (the root's
    # build/ is CMake's)
    work = os.path.join(root, "build-python", "setuptools")
    os.makedirs(work, exist_ok=True)
    setup(version=version(root), packages=["mlp"], package_dir={"mlp": package_dir},
          cmdclass={"build_py": make_build_py(root)}, distclass=BinaryDistribution,
          options={"build": {"build_base": work}, "egg_info": {"egg_base": work}})
