"""mlp.MLPRegressor: scikit-learn's MLPRegressor (1.2) on libmlp."""
import numpy as np
from sklearn.base import RegressorMixin

from . import _lib, _params
from ._base import BaseMLP


class MLPRegressor(RegressorMixin, BaseMLP):
    """Multi-layer perceptron regressor with scikit-learn 1.2's parameters, trained by libmlp.

    Parameters are scikit-learn's MLPRegressor's (same names, same defaults; solver 'adam',
    'sgd' or 'lbfgs'), plus mlp's own ``threads``, ``dropout``, ``early_stopping_metric`` and
    ``precision`` ('f32', 'bf16' or 'auto'; the fitted ``precision_`` says which ran).
    fit and partial_fit take sample_weight (scikit-learn >= 1.7; keyword-only in partial_fit).
    Squared-error loss, identity outputs; y may be 1-D or 2-D (one output per column).
    Computation is float32 (predictions are returned in float64 unless X is float32).
    See docs/PYTHON.md.
    """

    _task = _lib.TASK_REGRESS

    def _validate_xy(self, X, y, reset):
        """(X dense float32, Y float32 n x targets, the data attributes _validate_fit_data
        returned). A target that is finite but beyond float32's range is refused here (mlp
        trains on float32 targets, where it would be inf)."""
        X, y, attrs = self._validate_fit_data(X, y, reset, accept_sparse=["csr", "csc", "coo"],
                                              dtype=np.float32, order="C", multi_output=True,
                                              y_numeric=True)
        with np.errstate(over="ignore"):
            Y = np.ascontiguousarray(y.reshape(y.shape[0], -1), dtype=np.float32)
        big = ~np.isfinite(Y)
        if np.any(big):
            i, j = np.argwhere(big)[0]
            raise ValueError("y must be within float32's range (|y| <= %.8g), the type mlp "
                             "computes in: row %d%s is %r"
                             % (_params.FLT_MAX, i, "" if Y.shape[1] == 1 else ", column %d" % j,
                                float(np.asarray(y).reshape(Y.shape)[i, j])))
        return self._dense(X), Y, attrs

    def fit(self, X, y, sample_weight=None):
        """Fit the model to X (n_samples, n_features), y (n_samples,) or (n_samples, n_targets).
        sample_weight (n_samples,) or None: per-row weights of the squared-error loss
        (scikit-learn >= 1.7); finite, >= 0, not all 0. A fit that fails leaves the estimator
        as it was."""
        p = self._check_params()
        continuing = self.warm_start and self._fitted_net() is not None
        X, Y, attrs = self._validate_xy(X, y, reset=not continuing)
        sw = self._check_sample_weight(sample_weight, X.shape[0])
        return self._fit(p, X, None, Y, Y.shape[1], self._task, False, sw, attrs)

    def partial_fit(self, X, y, *, sample_weight=None):
        """One epoch over X, y, continuing the net and its optimizer state. sample_weight is
        keyword-only (as in MLPClassifier.partial_fit). A call that fails leaves the estimator
        as it was."""
        if self.solver not in _params.STOCHASTIC_SOLVERS:
            raise AttributeError("partial_fit is only available for stochastic optimizers. "
                                 "%s is not stochastic." % self.solver)
        p = self._check_params()
        first = self._fitted_net() is None
        X, Y, attrs = self._validate_xy(X, y, reset=first)
        sw = self._check_sample_weight(sample_weight, X.shape[0])
        return self._fit(p, X, None, Y, Y.shape[1], self._task, True, sw, attrs)

    def predict(self, X):
        """Predictions, float32 for a float32 X, else float64: (n_samples,) for one output,
        else (n_samples, n_outputs)."""
        m = self._model()  # one model for the whole call (thread safety: _base._model)
        X, dtype = m._validate_predict(X)
        p = m._forward(X).astype(dtype, copy=False)
        return p.ravel() if p.shape[1] == 1 else p

    def _more_tags(self):
        return {"multioutput": True}
