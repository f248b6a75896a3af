"""mlp.MLPRegressor: scikit-learn's MLPRegressor (1.2) on libmlp."""
import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils.metaestimators import available_if

from . import _lib, _params
from ._base import BaseMLP, XFAIL_CHECKS


class MLPRegressor(RegressorMixin, BaseMLP):
    """Multi-layer perceptron regressor with scikit-learn 1.2's parameters, trained by libmlp.

    Parameters are scikit-learn's MLPRegressor's (same names, same defaults; solver 'adam',
    'sgd' or 'lbfgs'), plus mlp's own ``threads``, ``dropout``, ``early_stopping_metric`` and
    ``precision`` ('f32', 'bf16' or 'auto'; the fitted ``precision_`` says which ran) and
    ``predict_precision`` ('f32', the default, 'bf16' or 'auto': the arithmetic of predict).
    fit and partial_fit take sample_weight (scikit-learn >= 1.7; keyword-only in partial_fit).
    y may be 1-D or 2-D (one output per column).
    Computation is float32 (predictions are returned in float64 unless X is float32).
    See docs/PYTHON.md.

    Beyond scikit-learn 1.2's MLPRegressor:

    - ``loss``: 'squared_error' (default; identity outputs), 'poisson' (scikit-learn 1.7's: exp
      outputs, the half Poisson deviance, y >= 0) or 'huber' (identity outputs, PyTorch's
      HuberLoss with ``huber_delta``, default 1.0). Keyword-only here (scikit-learn 1.7 makes it
      the first positional parameter; mlp keeps 1.2's positions).
    - ``activation``: a name for every hidden layer, or a tuple of one name per hidden layer
      (mlp's extension).
    - ``fit(..., eval_set=(X_val, y_val))`` (or ``[(X_val, y_val)]``): early stopping and the
      validation attributes use that set; every row of X trains.
    """

    _task = _lib.TASK_REGRESS

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 threads=None, dropout=0.0, early_stopping_metric="score", precision="f32",
                 predict_precision="f32",
                 loss="squared_error", huber_delta=1.0):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver,
            alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
            warm_start=warm_start, momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, n_iter_no_change=n_iter_no_change,
            max_fun=max_fun, threads=threads, dropout=dropout,
            early_stopping_metric=early_stopping_metric, precision=precision,
            predict_precision=predict_precision)
        self.loss = loss
        self.huber_delta = huber_delta

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

    @staticmethod
    def _check_targets(Y, p, what="y"):
        """Poisson's targets are counts (or rates): >= 0."""
        if p.loss == "poisson" and np.any(Y < 0):
            i = int(np.argwhere(Y < 0)[0][0])
            raise ValueError("Some value(s) of %s are negative which is not allowed for Poisson "
                             "regression (loss='poisson'): row %d" % (what, i))

    def _encode_eval_set(self, eval_set, X, Y, p):
        """eval_set into (X_val, None, Y_val) as float32 with X's features and Y's targets."""
        xy = self._eval_set_xy(eval_set)
        if xy is None:
            return None
        Xv, yv = xy
        if Xv.shape[1] != X.shape[1]:
            raise ValueError("eval_set: X_val has %d features, but X has %d"
                             % (Xv.shape[1], X.shape[1]))
        with np.errstate(over="ignore"):
            Yv = np.asarray(yv, dtype=np.float64)
            Yv = np.ascontiguousarray(Yv.reshape(Yv.shape[0], -1) if Yv.ndim else Yv,
                                      dtype=np.float32)
        if Yv.shape != (Xv.shape[0], Y.shape[1]):
            raise ValueError("eval_set: y_val has shape %s, expected %d rows of %d targets"
                             % (np.shape(yv), Xv.shape[0], Y.shape[1]))
        if not np.all(np.isfinite(Yv)):
            raise ValueError("eval_set: y_val must be finite (within float32's range)")
        self._check_targets(Yv, p, "y_val")
        return Xv, None, Yv

    def fit(self, X, y, sample_weight=None, eval_set=None):
        """Fit the model to X (n_samples, n_features), y (n_samples,) or (n_samples, n_targets).
        sample_weight (n_samples,) or None: per-row weights of the loss (scikit-learn >= 1.7);
        finite, >= 0, not all 0. eval_set: (X_val, y_val) or [(X_val, y_val)], a validation set
        of the caller's (early stopping on it; mlp's extension). A fit that fails leaves the
        estimator as it was."""
        p = self._check_params()
        continuing = self.warm_start and self._fitted_net() is not None
        X, Y, attrs = self._validate_xy(X, y, reset=not continuing)
        self._check_targets(Y, p)
        sw = self._check_sample_weight(sample_weight, X.shape[0])
        val = self._encode_eval_set(eval_set, X, Y, p)
        return self._fit(p, X, None, Y, Y.shape[1], self._task, False, sw, attrs, val)

    def _check_solver(self):
        """partial_fit exists for the stochastic solvers only (scikit-learn's available_if)."""
        if self.solver not in _params.STOCHASTIC_SOLVERS:
            raise AttributeError("partial_fit is only available for stochastic optimizers. "
                                 "%s is not stochastic." % self.solver)
        return True

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X, y, *, sample_weight=None):
        """One epoch over X, y, continuing the net and its optimizer state. sample_weight is
        keyword-only (as in MLPClassifier.partial_fit). A call that fails leaves the estimator
        as it was."""
        p = self._check_params()
        first = self._fitted_net() is None
        X, Y, attrs = self._validate_xy(X, y, reset=first)
        self._check_targets(Y, p)
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
        return {"multioutput": True, "_xfail_checks": dict(XFAIL_CHECKS)}
