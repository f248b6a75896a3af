"""`pip install ./python`: builds libmlp with CMake from the repository around this folder and
installs the package with the library inside (setup_libmlp.py; docs/PYTHON.md)."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from setup_libmlp import setup_mlp  # noqa: E402

setup_mlp(root=os.path.dirname(HERE), package_dir="mlp")
