"""fit(X, y, sample_weight) and partial_fit(X, y, sample_weight=...) (scikit-learn >= 1.7's
signature), passed to mlp_fit_options.sample_weight: the loss is the weighted mean
sum_i w_i loss_i / sum_i w_i, L2 term alpha / (2 sum_i w_i) ||W||^2."""
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from mlp import MLPClassifier, MLPRegressor


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _regression(n=120):
    rng = np.random.RandomState(0)
    X = rng.randn(n, 5)
    return X, X @ rng.randn(5) + 0.1 * rng.randn(n)


def _params(m):
    return [a.tobytes() for a in m.coefs_ + m.intercepts_]


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_all_ones_is_no_weights_bit_for_bit(Est, solver):
    X, y = _iris() if Est is MLPClassifier else _regression()
    kw = dict(hidden_layer_sizes=(15,), solver=solver, max_iter=40, random_state=0)
    if solver == "sgd":
        kw["learning_rate_init"] = 0.01
    a = Est(**kw).fit(X, y)
    b = Est(**kw).fit(X, y, sample_weight=np.ones(len(y)))
    c = Est(**kw).fit(X, y, sample_weight=[1] * len(y))  # a list, ints
    assert _params(a) == _params(b) == _params(c)
    assert a.loss_ == b.loss_ == c.loss_ and a.n_iter_ == b.n_iter_


@pytest.mark.parametrize("max_iter", [1, 5, 10])
def test_integer_weights_are_repeated_rows_lbfgs(max_iter):
    """Full batch: weight k is the row k times, for the loss and its gradient, so L-BFGS takes
    the same steps (up to float32 summation order; measured rel. differences <= 1e-6 for these
    iteration counts; longer runs drift apart as any float32 optimisation path does)."""
    X, y = _iris()
    w = np.random.RandomState(1).randint(0, 4, len(y))
    w[:3] = [1, 2, 3]
    kw = dict(hidden_layer_sizes=(20,), solver="lbfgs", max_iter=max_iter, random_state=0)
    a = MLPClassifier(**kw).fit(X, y, sample_weight=w)
    b = MLPClassifier(**kw).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    assert a.n_iter_ == b.n_iter_ == max_iter
    assert a.loss_ == pytest.approx(b.loss_, rel=1e-5)
    for u, v in zip(a.coefs_, b.coefs_):
        np.testing.assert_allclose(u, v, rtol=0, atol=1e-3)


def test_integer_weights_are_repeated_rows_regressor_lbfgs():
    X, y = _regression()
    w = np.random.RandomState(2).randint(0, 4, len(y)).astype(float)
    kw = dict(hidden_layer_sizes=(20,), solver="lbfgs", max_iter=5, random_state=0)
    a = MLPRegressor(**kw).fit(X, y, sample_weight=w)
    b = MLPRegressor(**kw).fit(np.repeat(X, w.astype(int), axis=0), np.repeat(y, w.astype(int)))
    assert a.loss_ == pytest.approx(b.loss_, rel=1e-5)


def test_weights_scale_free_and_change_the_fit():
    """Without L2 (alpha 0), weights c * w give the same loss as w (a weighted mean); uneven
    weights change it. (With alpha > 0 they do not: the L2 term is alpha / (2 sum w) ||W||^2,
    scikit-learn 1.7's definition, so scaling the weights up weakens the penalty.)"""
    X, y = _iris()
    w = np.random.RandomState(3).rand(len(y)) + 0.5
    kw = dict(hidden_layer_sizes=(10,), solver="lbfgs", max_iter=5, alpha=0.0, random_state=0)
    a = MLPClassifier(**kw).fit(X, y, sample_weight=w)
    b = MLPClassifier(**kw).fit(X, y, sample_weight=4.0 * w)  # exact in float32
    c = MLPClassifier(**kw).fit(X, y)
    assert a.loss_ == pytest.approx(b.loss_, rel=1e-5)
    assert abs(a.loss_ - c.loss_) > 1e-4
    s = MLPClassifier(**kw).fit(X, y, sample_weight=2.5)  # a number: every row
    assert s.loss_ == pytest.approx(c.loss_, rel=1e-5)
    # with alpha the L2 term scales with 1 / sum(w): 2 * w gives a lower loss than w
    kw["alpha"] = 1.0
    assert MLPClassifier(**kw).fit(X, y, sample_weight=2 * w).loss_ < \
        MLPClassifier(**kw).fit(X, y, sample_weight=w).loss_


def test_heavy_class_is_predicted_more():
    rng = np.random.RandomState(0)
    X = rng.randn(400, 2)
    y = (X[:, 0] + 0.8 * rng.randn(400) > 0).astype(int)  # overlapping classes
    kw = dict(hidden_layer_sizes=(10,), max_iter=200, random_state=0)
    plain = MLPClassifier(**kw).fit(X, y)
    heavy = MLPClassifier(**kw).fit(X, y, sample_weight=np.where(y == 1, 10.0, 1.0))
    assert heavy.predict(X).mean() > plain.predict(X).mean() + 0.1


def test_zero_weights_drop_rows_lbfgs():
    X, y = _iris()
    keep = np.random.RandomState(4).rand(len(y)) > 0.3
    kw = dict(hidden_layer_sizes=(20,), solver="lbfgs", max_iter=5, random_state=0)
    a = MLPClassifier(**kw).fit(X, y, sample_weight=keep.astype(float))
    b = MLPClassifier(**kw).fit(X[keep], y[keep])
    assert a.loss_ == pytest.approx(b.loss_, rel=1e-5)


def test_weights_with_early_stopping_and_partial_fit():
    X, y = _iris()
    w = np.random.RandomState(5).rand(len(y)) + 0.1
    es = MLPClassifier(hidden_layer_sizes=(10,), early_stopping=True, max_iter=50,
                       random_state=0).fit(X, y, sample_weight=w)
    assert len(es.validation_scores_) == len(es.validation_losses_) == es.n_iter_
    a = MLPClassifier(hidden_layer_sizes=(10,), random_state=0)
    b = MLPClassifier(hidden_layer_sizes=(10,), random_state=0)
    r = MLPRegressor(hidden_layer_sizes=(10,), random_state=0)
    for _ in range(3):
        a.partial_fit(X, y, classes=np.unique(y))
        b.partial_fit(X, y, np.unique(y), sample_weight=np.ones(len(y)))  # keyword-only
        r.partial_fit(X, X[:, 0], sample_weight=w)
    assert _params(a) == _params(b) and a.n_iter_ == b.n_iter_ == 3
    assert r.n_iter_ == 3


def test_caller_weights_not_written():
    X, y = _iris()
    w = np.random.RandomState(6).rand(len(y))
    w32 = w.astype(np.float32)
    before, before32 = w.copy(), w32.copy()
    MLPClassifier(hidden_layer_sizes=(5,), max_iter=5, random_state=0).fit(X, y, sample_weight=w)
    MLPClassifier(hidden_layer_sizes=(5,), max_iter=5, random_state=0).fit(X, y,
                                                                          sample_weight=w32)
    assert np.array_equal(w, before) and np.array_equal(w32, before32)


BAD = [
    (np.ones(149), "shape"),                       # one short
    (np.ones(151), "shape"),
    (np.ones((150, 1)), "1D"),
    (np.r_[np.ones(149), np.nan], "finite"),
    (np.r_[np.ones(149), np.inf], "finite"),
    (np.r_[np.ones(149), -1.0], ">= 0"),
    (np.zeros(150), "sums to 0"),
    (np.r_[np.ones(149), 1e39], "float32"),        # finite in float64, inf in float32
    (["a"] * 150, "numbers"),
    (-1.0, ">= 0"),                                # a number for every row
]


@pytest.mark.parametrize("sw, match", BAD)
@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_bad_weights_raise_value_error(Est, sw, match):
    X, y = _iris()
    if Est is MLPRegressor:
        y = X[:, 0]
    est = Est(hidden_layer_sizes=(5,), max_iter=5)
    with pytest.raises(ValueError, match=match):
        est.fit(X, y, sample_weight=sw)
    assert not hasattr(est, "n_iter_")
    with pytest.raises(ValueError, match=match):
        if Est is MLPClassifier:
            est.partial_fit(X, y, sample_weight=sw, classes=np.unique(y))
        else:
            est.partial_fit(X, y, sample_weight=sw)
