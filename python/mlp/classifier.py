"""mlp.MLPClassifier: scikit-learn's MLPClassifier (1.2) on libmlp."""
import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import column_or_1d

from . import _lib, _params
from ._base import BaseMLP


class MLPClassifier(ClassifierMixin, BaseMLP):
    """Multi-layer perceptron classifier with scikit-learn 1.2's parameters, trained by libmlp.

    Parameters are scikit-learn's MLPClassifier's (same names, same defaults; solver 'adam',
    'sgd' or 'lbfgs'), plus mlp's own ``threads`` (None: OpenMP's default thread count; n:
    n threads for the fit), ``dropout``, ``early_stopping_metric`` ('score', scikit-learn's
    rule, or 'loss': stop on the validation loss) and ``precision`` ('f32', the default, 'bf16'
    or 'auto': the arithmetic of the training GEMMs; the fitted ``precision_`` says which ran).
    fit and partial_fit take sample_weight (scikit-learn >= 1.7; keyword-only in partial_fit).
    Computation is float32 (bf16 GEMM operands with precision='bf16'); inference is float32.
    predict, predict_proba and score may run from many threads at once, also during a refit.
    See docs/PYTHON.md for every difference.

    Labels of any type (numbers, strings) are encoded as np.unique does (classes_ sorted); two
    classes train one logistic output, more a softmax output; a 2-D 0/1 indicator matrix trains
    a multi-label net (logistic outputs).
    """

    _task = _lib.TASK_CLASSIFY

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
        if len(classes) < 2:
            raise ValueError("Classifier can't train when only one class is present: mlp "
                             "needs at least 2 classes, y has %s" % (classes,))
        attrs = dict(classes_=classes, _multilabel=False, _task=_lib.TASK_CLASSIFY)
        return np.ascontiguousarray(idx, dtype=np.int32), None, len(classes), attrs

    def _fitted_classes(self):
        return self.classes_, getattr(self, "_multilabel", False)

    def fit(self, X, y, sample_weight=None):
        """Fit the model to X (n_samples, n_features) and y (labels or an indicator matrix).
        sample_weight (n_samples,) or None: each row's loss counts that many times (the loss is
        the weighted mean, scikit-learn >= 1.7's definition); finite, >= 0, not all 0.
        A fit that fails leaves the estimator as it was."""
        p = self._check_params()
        continuing = self.warm_start and self._fitted_net() is not None
        X, y, kind, attrs = self._validate_xy(X, y, reset=not continuing)
        sw = self._check_sample_weight(sample_weight, X.shape[0])
        labels, Y, k, enc = self._encode(y, kind, self._fitted_classes() if continuing else None)
        attrs.update(enc)
        return self._fit(p, X, labels, Y, k, enc["_task"], False, sw, attrs)

    def partial_fit(self, X, y, classes=None, *, sample_weight=None):
        """One epoch over X, y, continuing the net and its optimizer state. classes (all labels
        that y may ever hold) is required on the first call, as in scikit-learn; it is third,
        as in scikit-learn 1.2 (partial_fit(X, y, classes)), and sample_weight is
        keyword-only (scikit-learn 1.7 puts it third: passed by position it would be taken for
        classes, so it must be named). A call that fails leaves the estimator as it was."""
        if self.solver not in _params.STOCHASTIC_SOLVERS:
            raise AttributeError("partial_fit is only available for stochastic optimizers. "
                                 "%s is not stochastic." % self.solver)
        p = self._check_params()
        first = self._fitted_net() is None
        X, y, kind, attrs = self._validate_xy(X, y, reset=first)
        sw = self._check_sample_weight(sample_weight, X.shape[0])
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
        if m.n_outputs_ == 1:
            return m.classes_[(p[:, 0] > 0.5).astype(np.intp)]
        return m.classes_[np.argmax(p, axis=1)]

    def _more_tags(self):
        return {"multilabel": True}
