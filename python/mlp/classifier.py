"""mlp.MLPClassifier: scikit-learn's MLPClassifier (1.2) on libmlp."""
import ctypes
import math

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import column_or_1d

from . import _lib, _params
from ._base import BaseMLP, XFAIL_CHECKS


class MLPClassifier(ClassifierMixin, BaseMLP):
    """Multi-layer perceptron classifier with scikit-learn 1.2's parameters, trained by libmlp.

    Parameters are scikit-learn's MLPClassifier's (same names, same defaults; solver 'adam',
    'sgd' or 'lbfgs'), plus mlp's own ``threads`` (None: OpenMP's default thread count; n:
    n threads for the fit), ``dropout``, ``early_stopping_metric`` ('score', scikit-learn's
    rule, or 'loss': stop on the validation loss) and ``precision`` ('f32', the default, 'bf16'
    or 'auto': the arithmetic of the training GEMMs; the fitted ``precision_`` says which ran).
    fit and partial_fit take sample_weight (scikit-learn >= 1.7; keyword-only in partial_fit).
    Computation is float32 (bf16 GEMM operands with precision='bf16'); inference is float32,
    or bf16 with mlp's ``predict_precision`` ('f32', the default, 'bf16' or 'auto').
    predict, predict_proba and score may run from many threads at once, also during a refit.
    See docs/PYTHON.md for every difference.

    Labels of any type (numbers, strings) are encoded as np.unique does (classes_ sorted); two
    classes train one logistic output, more a softmax output; a 2-D 0/1 indicator matrix trains
    a multi-label net (logistic outputs). A y of one class trains and predicts that class, as
    scikit-learn's does.

    Beyond scikit-learn's MLPClassifier (requested there, not in it):

    - ``class_weight``: None, 'balanced' (n_samples / (n_classes * np.bincount(y)), scikit-learn's
      formula) or {label: weight} (unnamed classes weigh 1); each row's loss weight is its
      class's, times its sample_weight, as scikit-learn's other classifiers combine them.
    - ``activation``: a name for every hidden layer, or a tuple of one name per hidden layer
      (for example ('relu', 'tanh')): mlp's extension.
    - ``fit(..., eval_set=(X_val, y_val))`` (or ``[(X_val, y_val)]``, as XGBoost's and
      LightGBM's scikit-learn APIs): early stopping, ``validation_scores_`` and the validation
      losses use that set, and every row of X trains. Without it, early stopping holds out
      ``validation_fraction`` of X, drawn class by class (scikit-learn's stratified split).
    """

    _task = _lib.TASK_CLASSIFY

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 threads=None, dropout=0.0, early_stopping_metric="score", precision="f32",
                 predict_precision="f32",
                 class_weight=None):
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
        self.class_weight = class_weight

    def _validate_xy(self, X, y, reset):
        """(X dense float32, y, type_of_target(y), the data attributes _validate_fit_data
        returned). A 2-D y must be a 0/1 indicator matrix (multi-label): one of class labels
        (multiclass-multioutput) is refused, as scikit-learn's MLPClassifier refuses it."""
        X, y, attrs = self._validate_fit_data(X, y, reset, accept_sparse=["csr", "csc", "coo"],
                                              dtype=np.float32, order="C", multi_output=True)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        kind = type_of_target(y)
        if kind == "multiclass-multioutput":
            raise ValueError("y is multiclass-multioutput (shape %s: columns of class labels), "
                             "which MLPClassifier does not support (neither does "
                             "scikit-learn's); a 2-D y must be a 0/1 indicator matrix "
                             "(multi-label)" % (y.shape,))
        return self._dense(X), y, kind, attrs

    @staticmethod
    def _encode(y, kind, fitted):
        """(labels, Y, k, attrs): labels (int32 indices into classes_) or Y (0/1 float32
        indicator matrix), the number of classes or labels, and the attributes that go with
        them (classes_, _multilabel, _task). fitted: (classes_, multilabel) of the model that
        is continued, or None for a new one (classes_ from y)."""
        if kind == "multilabel-indicator":
            if fitted is None:
                classes = np.arange(y.shape[1])
            else:
                classes, multilabel = fitted
                if not multilabel or y.shape[1] != len(classes):
                    raise ValueError("y has %d label columns; the model was fitted with %s"
                                     % (y.shape[1], classes))
            Y = np.ascontiguousarray(y, dtype=np.float32)
            if np.any((Y != 0) & (Y != 1)):  # type_of_target takes any two integers
                raise ValueError("a multi-label y must be a 0/1 indicator matrix, got the values "
                                 "%s" % (np.unique(y),))
            attrs = dict(classes_=classes, _multilabel=True, _task=_lib.TASK_MULTILABEL)
            return None, Y, y.shape[1], attrs
        if fitted is not None and fitted[1]:
            raise ValueError("the model was fitted on a multi-label indicator matrix; y is %s"
                             % kind)
        if fitted is None:
            classes, idx = np.unique(y, return_inverse=True)
        else:
            classes = fitted[0]
            idx = np.searchsorted(classes, y)
            idx[idx >= len(classes)] = 0
            bad = classes[idx] != y
            if np.any(bad):
                raise ValueError("y contains labels not in classes %s: %s"
                                 % (classes, np.unique(np.asarray(y)[bad])))
        attrs = dict(classes_=classes, _multilabel=False, _task=_lib.TASK_CLASSIFY)
        # one class: trained as two (one logistic output, every label 0), as scikit-learn's
        # LabelBinarizer makes one all-zero column; predict gives that class
        return np.ascontiguousarray(idx, dtype=np.int32), None, max(2, len(classes)), attrs

    def _fitted_classes(self):
        return self.classes_, getattr(self, "_multilabel", False)

    def _check_warm_classes(self, y, kind):
        """scikit-learn's rule for a warm start: y has exactly the classes of the first fit."""
        if kind == "multilabel-indicator" or self._fitted_classes()[1]:
            return
        classes = np.unique(y)
        if set(classes) != set(self.classes_):
            raise ValueError("warm_start can only be used where `y` has the same classes as in "
                             "the previous call to fit. Previously got %s, `y` has %s"
                             % (self.classes_, classes))

    def _sample_weights(self, labels, k, classes, sample_weight, n, incremental=False):
        """The weights mlp_fit gets (float32, or None): sample_weight times class_weight's
        per-row weights (mlp_class_weights: compute_sample_weight's arithmetic in double; the
        product in float64, as scikit-learn's classifiers take it, rounded to float32 once)."""
        cw = self.class_weight
        if cw is None or labels is None:
            if cw is not None and labels is None:
                raise ValueError("class_weight is not supported for a multi-label y (an "
                                 "indicator matrix)")
            return self._check_sample_weight(sample_weight, n)
        if isinstance(cw, str) and cw == "balanced" and incremental:
            raise ValueError("class_weight 'balanced' is not supported for partial_fit: the "
                             "class frequencies of one batch are not the data's. Use "
                             "compute_class_weight('balanced', classes=classes, y=y) on the "
                             "training targets and pass the weights as a dict.")
        per_class = None
        if not (isinstance(cw, str) and cw == "balanced"):
            per_class = self._class_weight_array(cw, k, classes)
        out = np.empty(n, dtype=np.float64)
        dp = ctypes.POINTER(ctypes.c_double)
        _lib.check(_lib.lib.mlp_class_weights(
            labels.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)), n, k,
            None if per_class is None else per_class.ctypes.data_as(dp), None,
            out.ctypes.data_as(dp)), "mlp_class_weights")
        if sample_weight is not None:
            sw = self._check_sample_weight(sample_weight, n, as_float32=False)
            out = sw * out
        return self._check_sample_weight(out, n)

    @staticmethod
    def _class_weight_array(cw, k, classes):
        """{label: weight} as one float64 weight per class index (1 for unnamed classes)."""
        if not isinstance(cw, dict):
            raise ValueError("class_weight must be None, 'balanced' or a dict {label: weight}, "
                             "got %r" % (cw,))
        out = np.ones(k, dtype=np.float64)
        for label, w in cw.items():
            hits = [i for i, c in enumerate(classes) if c == label]
            if not hits:
                raise ValueError("class_weight: the label %r is not a class of y (classes %s)"
                                 % (label, classes))
            if not _params.is_real(w) or not math.isfinite(float(w)) or float(w) < 0:
                raise ValueError("class_weight[%r] must be a finite number >= 0, got %r"
                                 % (label, w))
            out[hits[0]] = float(w)
        return out

    def _encode_eval_set(self, eval_set, d, classes, multilabel):
        """eval_set into (X_val, labels_val, Y_val) with the classes of the fit."""
        xy = self._eval_set_xy(eval_set)
        if xy is None:
            return None
        Xv, yv = xy
        if Xv.shape[1] != d:
            raise ValueError("eval_set: X_val has %d features, but X has %d" % (Xv.shape[1], d))
        yv = np.asarray(yv)
        if yv.ndim == 2 and yv.shape[1] == 1 and not multilabel:
            yv = column_or_1d(yv)
        if yv.shape[0] != Xv.shape[0]:
            raise ValueError("eval_set: X_val has %d rows, y_val %d" % (Xv.shape[0],
                                                                        yv.shape[0]))
        kind = "multilabel-indicator" if multilabel else type_of_target(yv)
        lv, Yv, _, _ = self._encode(yv, kind, (classes, multilabel))
        return Xv, lv, Yv

    def fit(self, X, y, sample_weight=None, eval_set=None):
        """Fit the model to X (n_samples, n_features) and y (labels or an indicator matrix).
        sample_weight (n_samples,) or None: each row's loss counts that many times (the loss is
        the weighted mean, scikit-learn >= 1.7's definition); finite, >= 0, not all 0; times
        class_weight's weights. eval_set: (X_val, y_val) or [(X_val, y_val)], a validation set
        of the caller's (early stopping on it, whatever early_stopping says; mlp's extension,
        XGBoost's and LightGBM's convention). A fit that fails leaves the estimator as it was."""
        p = self._check_params()
        continuing = self.warm_start and self._fitted_net() is not None
        X, y, kind, attrs = self._validate_xy(X, y, reset=not continuing)
        if continuing:
            self._check_warm_classes(y, kind)
        labels, Y, k, enc = self._encode(y, kind, self._fitted_classes() if continuing else None)
        sw = self._sample_weights(labels, k, enc["classes_"], sample_weight, X.shape[0])
        val = self._encode_eval_set(eval_set, X.shape[1], enc["classes_"], enc["_multilabel"])
        attrs.update(enc)
        return self._fit(p, X, labels, Y, k, enc["_task"], False, sw, attrs, val)

    def _check_solver(self):
        """partial_fit exists for the stochastic solvers only (scikit-learn's available_if):
        with solver='lbfgs', hasattr(est, 'partial_fit') is False."""
        if self.solver not in _params.STOCHASTIC_SOLVERS:
            raise AttributeError("partial_fit is only available for stochastic optimizers. "
                                 "%s is not stochastic." % self.solver)
        return True

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X, y, classes=None, *, sample_weight=None):
        """One epoch over X, y, continuing the net and its optimizer state. classes (all labels
        that y may ever hold) is required on the first call, as in scikit-learn; it is third,
        as in scikit-learn 1.2 (partial_fit(X, y, classes)), and sample_weight is
        keyword-only (scikit-learn 1.7 puts it third: passed by position it would be taken for
        classes, so it must be named). A call that fails leaves the estimator as it was."""
        p = self._check_params()
        first = self._fitted_net() is None
        X, y, kind, attrs = self._validate_xy(X, y, reset=first)
        multilabel = kind == "multilabel-indicator"
        if first and classes is None and not multilabel:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if not first and classes is not None and not np.array_equal(
                np.unique(np.asarray(classes)), self.classes_):
            raise ValueError("`classes=%r` is not the same as on last call to partial_fit, "
                             "was: %r" % (classes, self.classes_))
        if not first:
            fitted = self._fitted_classes()
        else:
            fitted = None if multilabel else (np.unique(np.asarray(classes)), False)
        labels, Y, k, enc = self._encode(y, kind, fitted)
        sw = self._sample_weights(labels, k, enc["classes_"], sample_weight, X.shape[0],
                                  incremental=True)
        attrs.update(enc)
        return self._fit(p, X, labels, Y, k, enc["_task"], True, sw, attrs)

    def predict_proba(self, X):
        """Class probabilities, (n_samples, n_classes), float32 for a float32 X, else float64;
        for multi-label, the probability of each label."""
        m = self._model()  # one model for the whole call (thread safety: _base._model)
        X, dtype = m._validate_predict(X)
        p = m._forward(X).astype(dtype, copy=False)
        if m.n_outputs_ == 1 and not m._multilabel:
            return np.hstack([1.0 - p, p])
        return p

    def predict_log_proba(self, X):
        """np.log of predict_proba."""
        return np.log(self.predict_proba(X))

    def predict(self, X):
        """Labels: classes_ of the argmax (binary: probability > 0.5); for multi-label, the 0/1
        indicator matrix."""
        m = self._model()  # one model for the whole call (thread safety: _base._model)
        X, _ = m._validate_predict(X)
        p = m._forward(X)
        if m._multilabel:
            return (p > 0.5).astype(int)
        if len(m.classes_) == 1:  # fitted on one class: always that class (scikit-learn's)
            return np.full(X.shape[0], m.classes_[0])
        if m.n_outputs_ == 1:
            return m.classes_[(p[:, 0] > 0.5).astype(np.intp)]
        return m.classes_[np.argmax(p, axis=1)]

    def _more_tags(self):
        return {"multilabel": True, "_xfail_checks": dict(XFAIL_CHECKS)}
