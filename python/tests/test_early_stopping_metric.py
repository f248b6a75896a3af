"""early_stopping_metric (mlp's own parameter, not scikit-learn's): 'score' (default,
scikit-learn's rule on the validation accuracy / R^2) or 'loss' (the validation loss), and the
validation_losses_ / best_validation_loss_ attributes set with early stopping."""
import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from mlp import MLPClassifier, MLPRegressor


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.mark.parametrize("metric", ["score", "loss"])
def test_validation_losses_and_the_stopping_rule(digits_rs42, metric):
    X, X_test, y, y_test = digits_rs42
    # tol 1e-3: on the stratified split (scikit-learn's) the validation loss of the default
    # tol keeps finding new lows by more than 1e-4 until max_iter
    clf = MLPClassifier(hidden_layer_sizes=(50,), early_stopping=True, tol=1e-3,
                        early_stopping_metric=metric, random_state=0).fit(X, y)
    vl, vs = np.array(clf.validation_losses_), np.array(clf.validation_scores_)
    assert len(vl) == len(vs) == clf.n_iter_ < 200  # stopped by the rule
    assert np.all(np.isfinite(vl)) and np.all(vl > 0)
    assert clf.best_validation_loss_ == pytest.approx(vl.min())
    assert clf.best_loss_ is None and clf.score(X_test, y_test) > 0.9
    # scikit-learn's rule: stop after n_iter_no_change + 1 epochs without an improvement by
    # tol of the watched value
    watched = vl if metric == "loss" else -vs
    last_best = int(np.argmin(watched))
    best, count, stop = np.inf, 0, None
    for e, v in enumerate(watched):  # the rule replayed on the curve (float32 tol, as in C)
        count = 0 if v <= best - np.float32(clf.tol) else count + 1
        best = min(best, v)
        if count > clf.n_iter_no_change:
            stop = e + 1
            break
    assert stop == clf.n_iter_
    if metric == "loss":
        # the restored weights are those of the lowest validation loss: their score is
        # best_validation_score_
        assert clf.best_validation_score_ == pytest.approx(vs[last_best])
    else:
        assert clf.best_validation_score_ == pytest.approx(vs.max())


def test_loss_metric_stops_elsewhere(digits_rs42):
    X, _, y, _ = digits_rs42
    kw = dict(hidden_layer_sizes=(50,), early_stopping=True, random_state=0)
    a = MLPClassifier(early_stopping_metric="score", **kw).fit(X, y)
    b = MLPClassifier(early_stopping_metric="loss", **kw).fit(X, y)
    # the same epochs until the first stops (the metric decides the stopping epoch only)
    k = min(a.n_iter_, b.n_iter_)
    assert a.validation_losses_[:k] == b.validation_losses_[:k]
    assert a.n_iter_ != b.n_iter_


def test_regressor_loss_metric():
    rng = np.random.RandomState(0)
    X = rng.randn(500, 5)
    y = X @ rng.randn(5) + rng.randn(500)
    reg = MLPRegressor(hidden_layer_sizes=(20,), early_stopping=True,
                       early_stopping_metric="loss", max_iter=500, random_state=0).fit(X, y)
    assert len(reg.validation_losses_) == reg.n_iter_
    # squared-error data loss on the held-out rows (half the mean squared error): noise var 1
    assert 0.2 < reg.best_validation_loss_ < 1.0
    assert reg.best_validation_loss_ == pytest.approx(min(reg.validation_losses_))


def test_without_early_stopping_none(digits_rs42):
    X, _, y, _ = digits_rs42
    clf = MLPClassifier(hidden_layer_sizes=(20,), max_iter=10, early_stopping_metric="loss",
                        random_state=0).fit(X, y)
    assert clf.validation_losses_ is None and clf.best_validation_loss_ is None
    assert clf.validation_scores_ is None and clf.best_validation_score_ is None
    p = MLPClassifier(hidden_layer_sizes=(20,), early_stopping=True, random_state=0)
    p.partial_fit(X, y, classes=np.unique(y))  # partial_fit: no early stopping
    assert p.validation_losses_ is None


def test_warm_start_accumulates(digits_rs42):
    X, _, y, _ = digits_rs42
    clf = MLPClassifier(hidden_layer_sizes=(20,), early_stopping=True, max_iter=5,
                        early_stopping_metric="loss", random_state=0).fit(X, y)
    first = list(clf.validation_losses_)
    clf.set_params(warm_start=True)
    clf.fit(X, y)
    assert clf.validation_losses_[:5] == first and len(clf.validation_losses_) == 10
    assert clf.best_validation_loss_ == pytest.approx(min(clf.validation_losses_))


def test_parameter_plumbing():
    est = MLPClassifier(early_stopping_metric="loss")
    assert est.get_params()["early_stopping_metric"] == "loss"
    assert clone(est).early_stopping_metric == "loss"
    assert MLPRegressor().early_stopping_metric == "score"
    assert pickle.loads(pickle.dumps(est)).early_stopping_metric == "loss"
    X, y = np.random.RandomState(0).randn(20, 3), np.arange(20) % 2
    for bad in ("auc", None, 1):
        with pytest.raises(ValueError, match="early_stopping_metric"):
            MLPClassifier(early_stopping_metric=bad).fit(X, y)
