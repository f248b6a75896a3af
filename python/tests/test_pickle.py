"""Pickling through the library's model bytes; warm_start and partial_fit continue the net and
its optimizer state."""
import copy
import pickle

import numpy as np
import pytest

from mlp import MLPClassifier, MLPError, MLPRegressor


@pytest.fixture(scope="module")
def fitted(digits_rs42):
    X_train, X_test, y_train, _ = digits_rs42
    return MLPClassifier(hidden_layer_sizes=(50,), max_iter=500, random_state=42).fit(
        X_train, y_train), X_test


def test_pickle_bit_for_bit(fitted):
    clf, X_test = fitted
    clone = pickle.loads(pickle.dumps(clf))
    assert clone._net.ptr != clf._net.ptr
    a, b = clf.predict_proba(X_test), clone.predict_proba(X_test)
    assert a.tobytes() == b.tobytes()
    assert np.array_equal(clf.predict(X_test), clone.predict(X_test))
    for w, w2 in zip(clf.coefs_ + clf.intercepts_, clone.coefs_ + clone.intercepts_):
        assert w.tobytes() == w2.tobytes()
    assert clone.loss_curve_ == clf.loss_curve_ and clone.n_iter_ == clf.n_iter_
    assert clone.get_params() == clf.get_params()
    # the optimizer state travels too (Adam's step count)
    assert clone._net.step_count() == clf._net.step_count() > 0
    # copies go through the same bytes: each owns its own net
    deep = copy.deepcopy(clf)
    assert deep._net.ptr != clf._net.ptr
    assert deep.predict_proba(X_test).tobytes() == a.tobytes()


def test_unfitted_pickles():
    clf = pickle.loads(pickle.dumps(MLPClassifier(hidden_layer_sizes=(7, 3))))
    assert clf.hidden_layer_sizes == (7, 3)


def test_regressor_pickle():
    rng = np.random.RandomState(0)
    X = rng.randn(100, 5)
    y = X @ rng.randn(5, 2)
    reg = MLPRegressor(max_iter=50, random_state=0).fit(X, y)
    clone = pickle.loads(pickle.dumps(reg))
    assert reg.predict(X).tobytes() == clone.predict(X).tobytes()


def test_warm_start_continues(digits_rs42):
    X, _, y, _ = digits_rs42
    clf = MLPClassifier(hidden_layer_sizes=(20,), max_iter=5, random_state=0)
    with pytest.warns(Warning):
        clf.fit(X, y)
    steps = clf._net.step_count()
    assert steps == 5 * 8  # 1437 rows: 8 minibatches per epoch
    coefs = clf.coefs_
    clf.set_params(warm_start=True)
    with pytest.warns(Warning):
        clf.fit(X, y)
    assert clf._net.step_count() == 2 * steps  # Adam's state continued, not reset
    assert clf.n_iter_ == 10 and len(clf.loss_curve_) == 10
    assert not np.array_equal(coefs[0], clf.coefs_[0])
    # without warm_start a new net
    clf.set_params(warm_start=False)
    with pytest.warns(Warning):
        clf.fit(X, y)
    assert clf._net.step_count() == steps and clf.n_iter_ == 5


def test_partial_fit(digits_rs42):
    X, X_test, y, y_test = digits_rs42
    clf = MLPClassifier(hidden_layer_sizes=(50,), random_state=0)
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[:700], y[:700], classes=np.arange(10))
    assert clf.n_iter_ == 1 and clf._net.step_count() == 4
    for _ in range(30):
        clf.partial_fit(X, y)
    assert clf.n_iter_ == 31 and clf._net.step_count() == 4 + 30 * 8
    assert clf.score(X_test, y_test) > 0.9
    # a pickled model continues the same way as the original
    clone = pickle.loads(pickle.dumps(clf))
    clf.partial_fit(X, y)
    clone.partial_fit(X, y)
    assert clf.predict_proba(X_test).tobytes() == clone.predict_proba(X_test).tobytes()
    with pytest.raises(ValueError, match="not in classes"):
        clf.partial_fit(X[:5], np.array([0, 1, 2, 3, 11]))


def test_partial_fit_regressor():
    rng = np.random.RandomState(0)
    X = rng.randn(200, 4)
    y = X.sum(axis=1)
    reg = MLPRegressor(hidden_layer_sizes=(16,), learning_rate_init=0.01, random_state=0)
    for _ in range(50):
        reg.partial_fit(X, y)
    assert reg.n_iter_ == 50 and reg.score(X, y) > 0.9


def test_warm_start_refuses_other_layers(digits_rs42):
    X, _, y, _ = digits_rs42
    clf = MLPClassifier(hidden_layer_sizes=(20,), max_iter=3, warm_start=True, random_state=0)
    clf.fit(X, y)
    clf.set_params(hidden_layer_sizes=(30,))
    with pytest.raises(ValueError, match="warm_start"):
        clf.fit(X, y)
    clf.set_params(hidden_layer_sizes=(20,), activation="tanh")
    with pytest.raises(ValueError, match="warm_start"):
        clf.fit(X, y)


def test_failed_fit_keeps_the_fitted_model(digits_rs42):
    X, X_test, y, _ = digits_rs42
    clf = MLPClassifier(hidden_layer_sizes=(20,), max_iter=30, random_state=0).fit(X, y)
    before = (clf.n_iter_, list(clf.loss_curve_), clf.predict_proba(X_test).tobytes())
    clf.set_params(learning_rate_init=1e30, solver="sgd", momentum=0.0)
    with pytest.raises(MLPError, match="diverged") as e:
        clf.fit(X, y)
    assert isinstance(e.value, ValueError)  # as scikit-learn's non-finite weights error
    assert (clf.n_iter_, list(clf.loss_curve_), clf.predict_proba(X_test).tobytes()) == before


def test_unpickled_in_another_process(fitted, tmp_path):
    """The pickle carries the model bytes: a fresh interpreter predicts the same bits."""
    import subprocess
    import sys
    clf, X_test = fitted
    (tmp_path / "m.pkl").write_bytes(pickle.dumps(clf))
    np.save(tmp_path / "X.npy", X_test)
    code = ("import pickle, sys, numpy as np; d = sys.argv[1]; "
            "m = pickle.load(open(d + '/m.pkl', 'rb')); "
            "sys.stdout.buffer.write(m.predict_proba(np.load(d + '/X.npy')).tobytes())")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True,
                         capture_output=True).stdout
    assert out == clf.predict_proba(X_test).tobytes()


def test_pickle_makes_no_temporary_file(fitted, monkeypatch):
    """The model bytes go through memory (mlp_model_save_mem / mlp_model_load_mem): pickling
    works with every way of making a temporary file broken."""
    import tempfile

    def refuse(*args, **kwargs):
        raise AssertionError("a temporary file was created")

    for name in ("TemporaryDirectory", "NamedTemporaryFile", "mkstemp", "mkdtemp",
                 "TemporaryFile"):
        monkeypatch.setattr(tempfile, name, refuse)
    clf, X_test = fitted
    loaded = pickle.loads(pickle.dumps(clf))
    assert loaded.predict_proba(X_test).tobytes() == clf.predict_proba(X_test).tobytes()
