"""`pip install .` from the repository root: builds libmlp with CMake and installs the Python
package (python/mlp) with the library inside (python/setup_libmlp.py; docs/PYTHON.md)."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "python"))

from setup_libmlp import setup_mlp  # noqa: E402

setup_mlp(root=HERE, package_dir="python/mlp")
