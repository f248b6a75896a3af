"""mlp: scikit-learn's MLPClassifier and MLPRegressor on libmlp (C, OpenBLAS, OpenMP).

    from mlp import MLPClassifier      # instead of sklearn.neural_network's

Binding: ctypes over libmlp.so (mlp._lib); docs/PYTHON.md in the mlp repository.
"""
from . import _lib
from .classifier import MLPClassifier
from .regressor import MLPRegressor
from ._lib import MLPDivergedError, MLPError, MLPUnsupportedError, bf16_available

__version__ = _lib.version()
__all__ = ["MLPClassifier", "MLPRegressor", "MLPError", "MLPDivergedError",
           "MLPUnsupportedError", "bf16_available", "__version__"]
