"""mlp.MLPClassifier: scikit-learn's MLPClassifier (1.2) on libmlp."""
import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import column_or_1d

from . import _lib
from ._base import BaseMLP


class MLPClassifier(ClassifierMixin, BaseMLP):
    """Multi-layer perceptron classifier with scikit-learn 1.2's parameters, trained by libmlp.

    Parameters are scikit-learn's MLPClassifier's (same names, same defaults; solver 'adam',
    'sgd' or 'lbfgs'), plus mlp's own ``threads`` (None: OpenMP's default thread count; n:
    mlp_set_num_threads(n) for the fit), ``dropout`` and ``early_stopping_metric`` ('score',
    scikit-learn's rule, or 'loss': stop on the validation loss). fit and partial_fit take
    sample_weight (scikit-learn >= 1.7). Computation is float32. See docs/PYTHON.md for every
    difference.

    Labels of any type (numbers, strings) are encoded as np.unique does (classes_ sorted); two
    classes train one logistic output, more a softmax output; a 2-D 0/1 indicator matrix trains
    a multi-label net (logistic outputs).
    """

    _task = _lib.TASK_CLASSIFY

    def _validate_xy(self, X, y, reset):
        X, y = self._validate_data(X, y, accept_sparse=["csr", "csc", "coo"], dtype=np.float32,
                                   order="C", multi_output=True, reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        return self._dense(X), y

    def _encode(self, y, classes):
        """labels (int32 indices into classes_) or Y (0/1 float32 indicator matrix)."""
        if type_of_target(y) == "multilabel-indicator":
            if classes is None:
                self.classes_ = np.arange(y.shape[1])
                self._multilabel = True
            elif not getattr(self, "_multilabel", False) or y.shape[1] != len(self.classes_):
                raise ValueError("y has %d label columns; the model was fitted with %s"
                                 % (y.shape[1], self.classes_))
            self._task = _lib.TASK_MULTILABEL
            return None, np.ascontiguousarray(y, dtype=np.float32), y.shape[1]
        if getattr(self, "_multilabel", False) and classes is not None:
            raise ValueError("the model was fitted on a multi-label indicator matrix; y is %s"
                             % type_of_target(y))
        if classes is None:
            self._multilabel = False
            self._task = _lib.TASK_CLASSIFY
            self.classes_, idx = np.unique(y, return_inverse=True)
        else:
            idx = np.searchsorted(classes, y)
            idx[idx >= len(classes)] = 0
            bad = classes[idx] != y
            if np.any(bad):
                raise ValueError("y contains labels not in classes %s: %s"
                                 % (classes, np.unique(np.asarray(y)[bad])))
        if len(self.classes_) < 2:
            raise ValueError("Classifier can't train when only one class is present: mlp "
                             "needs at least 2 classes, y has %s" % (self.classes_,))
        return np.ascontiguousarray(idx, dtype=np.int32), None, len(self.classes_)

    def fit(self, X, y, sample_weight=None):
        """Fit the model to X (n_samples, n_features) and y (labels or an indicator matrix).
        sample_weight (n_samples,) or None: each row's loss counts that many times (the loss is
        the weighted mean, scikit-learn >= 1.7's definition); finite, >= 0, not all 0."""
        continuing = self.warm_start and getattr(self, "_net", None) is not None
        X, y = self._validate_xy(X, y, reset=not continuing)
        sw = self._check_sample_weight(sample_weight, X.shape[0])
        labels, Y, k = self._encode(y, self.classes_ if continuing else None)
        return self._run_fit(X, labels, Y, k, incremental=False, sample_weight=sw)

    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over X, y, continuing the net and its optimizer state. classes (all labels
        that y may ever hold) is required on the first call, as in scikit-learn. The argument
        order is scikit-learn 1.7's (sample_weight before classes): pass classes by name."""
        if self.solver not in ("adam", "sgd"):
            raise AttributeError("partial_fit is only available for stochastic optimizers. "
                                 "%s is not stochastic." % self.solver)
        first = getattr(self, "_net", None) is None
        X, y = self._validate_xy(X, y, reset=first)
        sw = self._check_sample_weight(sample_weight, X.shape[0])
        multilabel = type_of_target(y) == "multilabel-indicator"
        if first and classes is None and not multilabel:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if not first and classes is not None and not np.array_equal(
                np.unique(np.asarray(classes)), self.classes_):
            raise ValueError("`classes=%r` is not the same as on last call to partial_fit, "
                             "was: %r" % (classes, self.classes_))
        if first:
            if multilabel:
                labels, Y, k = self._encode(y, None)
            else:
                self.classes_ = np.unique(np.asarray(classes))
                self._multilabel = False
                self._task = _lib.TASK_CLASSIFY
                labels, Y, k = self._encode(y, self.classes_)
        else:
            labels, Y, k = self._encode(y, self.classes_)
        return self._run_fit(X, labels, Y, k, incremental=True, sample_weight=sw)

    def predict_proba(self, X):
        """Class probabilities, (n_samples, n_classes), float32 for a float32 X, else float64;
        for multi-label, the probability of each label."""
        X, dtype = self._validate_predict(X)
        p = self._forward(X).astype(dtype, copy=False)
        if self.n_outputs_ == 1 and not self._multilabel:
            return np.hstack([1.0 - p, p])
        return p

    def predict_log_proba(self, X):
        """np.log of predict_proba."""
        return np.log(self.predict_proba(X))

    def predict(self, X):
        """Labels: classes_ of the argmax (binary: probability > 0.5); for multi-label, the 0/1
        indicator matrix."""
        X, _ = self._validate_predict(X)
        p = self._forward(X)
        if self._multilabel:
            return (p > 0.5).astype(int)
        if self.n_outputs_ == 1:
            return self.classes_[(p[:, 0] > 0.5).astype(np.intp)]
        return self.classes_[np.argmax(p, axis=1)]

    def _more_tags(self):
        return {"multilabel": True}
