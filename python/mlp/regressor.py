"""mlp.MLPRegressor: scikit-learn's MLPRegressor (1.2) on libmlp."""
import numpy as np
from sklearn.base import RegressorMixin

from . import _lib
from ._base import BaseMLP


class MLPRegressor(RegressorMixin, BaseMLP):
    """Multi-layer perceptron regressor with scikit-learn 1.2's parameters, trained by libmlp.

    Parameters are scikit-learn's MLPRegressor's (same names, same defaults; solver 'adam',
    'sgd' or 'lbfgs'), plus mlp's own ``threads``, ``dropout`` and ``early_stopping_metric``.
    fit and partial_fit take sample_weight (scikit-learn >= 1.7).
    Squared-error loss, identity outputs; y may be 1-D or 2-D (one output per column).
    Computation is float32 (predictions are returned in float64 unless X is float32).
    See docs/PYTHON.md.
    """

    _task = _lib.TASK_REGRESS

    def _validate_xy(self, X, y, reset):
        X, y = self._validate_data(X, y, accept_sparse=["csr", "csc", "coo"], dtype=np.float32,
                                   order="C", multi_output=True, y_numeric=True, reset=reset)
        Y = np.ascontiguousarray(y.reshape(y.shape[0], -1), dtype=np.float32)
        return self._dense(X), Y

    def fit(self, X, y, sample_weight=None):
        """Fit the model to X (n_samples, n_features), y (n_samples,) or (n_samples, n_targets).
        sample_weight (n_samples,) or None: per-row weights of the squared-error loss
        (scikit-learn >= 1.7); finite, >= 0, not all 0."""
        continuing = self.warm_start and getattr(self, "_net", None) is not None
        X, Y = self._validate_xy(X, y, reset=not continuing)
        sw = self._check_sample_weight(sample_weight, X.shape[0])
        return self._run_fit(X, None, Y, Y.shape[1], incremental=False, sample_weight=sw)

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over X, y, continuing the net and its optimizer state."""
        if self.solver not in ("adam", "sgd"):
            raise AttributeError("partial_fit is only available for stochastic optimizers. "
                                 "%s is not stochastic." % self.solver)
        first = getattr(self, "_net", None) is None
        X, Y = self._validate_xy(X, y, reset=first)
        sw = self._check_sample_weight(sample_weight, X.shape[0])
        return self._run_fit(X, None, Y, Y.shape[1], incremental=True, sample_weight=sw)

    def predict(self, X):
        """Predictions, float32 for a float32 X, else float64: (n_samples,) for one output,
        else (n_samples, n_outputs)."""
        X, dtype = self._validate_predict(X)
        p = self._forward(X).astype(dtype, copy=False)
        return p.ravel() if p.shape[1] == 1 else p

    def _more_tags(self):
        return {"multioutput": True}
