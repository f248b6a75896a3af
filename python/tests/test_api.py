"""Parameters, labels, threads, and scikit-learn's tools (Pipeline, GridSearchCV)."""
import threading
import time

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mlp
from mlp import MLPClassifier, MLPRegressor


def test_version():
    assert mlp.__version__ == mlp._lib.lib.mlp_version().decode()
    assert mlp.__version__.count(".") == 2


@pytest.mark.parametrize("Ours, Theirs", [(MLPClassifier, SkMLPClassifier),
                                          (MLPRegressor, SkMLPRegressor)])
def test_same_parameters_as_sklearn(Ours, Theirs):
    ours, theirs = Ours().get_params(), Theirs().get_params()
    assert ours.pop("threads") is None
    assert ours.pop("dropout") == 0.0
    assert ours.pop("early_stopping_metric") == "score"
    assert ours.pop("precision") == "f32"
    assert ours.pop("predict_precision") == "f32"
    # the issue-23 extensions: MLPClassifier's class_weight (scikit-learn's other classifiers'),
    # MLPRegressor's loss (scikit-learn 1.7's) and huber_delta
    if Ours is MLPClassifier:
        assert ours.pop("class_weight") is None
    else:
        assert ours.pop("loss") == "squared_error"
        assert ours.pop("huber_delta") == 1.0
    assert ours == theirs


@pytest.mark.parametrize("params, error", [
    ({"solver": "newton"}, ValueError),
    ({"early_stopping_metric": "auc"}, ValueError),
    ({"solver": "lbfgs", "dropout": 0.1}, ValueError),
    ({"solver": "lbfgs", "max_fun": 0}, ValueError),
    ({"activation": "softplus"}, ValueError),
    ({"learning_rate": "cyclic"}, ValueError),
    ({"hidden_layer_sizes": (10, 0)}, ValueError),
    ({"batch_size": 0}, ValueError),
    ({"momentum": 1.0}, ValueError),
    ({"alpha": -1.0}, ValueError),
    ({"max_iter": 0}, ValueError),
    ({"threads": 0}, ValueError),
    ({"dropout": 1.0}, ValueError),
    ({"dropout": [0.1, 0.1]}, ValueError),  # one hidden layer
])
def test_unsupported_values_raise_at_fit(params, error):
    X, y = np.random.RandomState(0).randn(20, 3), np.arange(20) % 2
    est = MLPClassifier(**params)  # construction never validates (scikit-learn's rule)
    with pytest.raises(error):
        est.fit(X, y)


def test_mlp_activations_and_threads():
    X = np.random.RandomState(0).randn(60, 4)
    y = (X[:, 0] > 0).astype(int)
    for act in ("identity", "logistic", "tanh", "relu", "leaky_relu", "gelu"):
        clf = MLPClassifier(hidden_layer_sizes=(8,), activation=act, max_iter=300, threads=1,
                            random_state=0).fit(X, y)
        assert clf.score(X, y) > 0.8, act


def test_sgd_schedules():
    X = np.random.RandomState(0).randn(100, 4)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    for lr in ("constant", "invscaling", "adaptive"):
        clf = MLPClassifier(solver="sgd", learning_rate=lr, learning_rate_init=0.1,
                            max_iter=300, random_state=0).fit(X, y)
        assert clf.score(X, y) > 0.8, lr


def test_binary_multilabel_and_regression_shapes():
    rng = np.random.RandomState(0)
    X = rng.randn(80, 5)
    yb = np.where(X[:, 0] > 0, "yes", "no")
    clf = MLPClassifier(max_iter=300, random_state=0).fit(X, yb)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 1
    assert list(clf.classes_) == ["no", "yes"]
    assert clf.predict_proba(X).shape == (80, 2)
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(clf.predict_proba(X)))
    Y = np.stack([X[:, 0] > 0, X[:, 1] > 0, X[:, 2] > 0], axis=1).astype(int)
    ml = MLPClassifier(max_iter=300, random_state=0).fit(X, Y)
    assert ml.predict(X).shape == (80, 3) and list(ml.classes_) == [0, 1, 2]
    assert ml.out_activation_ == "logistic" and ml.n_outputs_ == 3
    reg = MLPRegressor(max_iter=300, random_state=0).fit(X, X[:, :2])
    assert reg.predict(X).shape == (80, 2) and reg.out_activation_ == "identity"
    reg1 = MLPRegressor(max_iter=300, random_state=0).fit(X, X[:, 0])
    assert reg1.predict(X).shape == (80,)
    assert reg1.predict(X.astype(np.float32)).dtype == np.float32


def test_early_stopping_attributes(digits_rs42):
    X, X_test, y, y_test = digits_rs42
    clf = MLPClassifier(early_stopping=True, random_state=0).fit(X, y)
    assert clf.best_loss_ is None
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == pytest.approx(max(clf.validation_scores_))
    assert clf.score(X_test, y_test) > 0.9
    plain = MLPClassifier(max_iter=20, random_state=0)
    with pytest.warns(Warning):
        plain.fit(X, y)
    assert plain.validation_scores_ is None and plain.best_validation_score_ is None


def test_pipeline_gridsearch(digits_rs42):
    X, X_test, y, y_test = digits_rs42
    pipe = make_pipeline(StandardScaler(), MLPClassifier(max_iter=200, random_state=0))
    grid = GridSearchCV(pipe, {"mlpclassifier__hidden_layer_sizes": [(20,), (50,)],
                               "mlpclassifier__alpha": [1e-4, 1e-2]}, cv=3, n_jobs=2)
    grid.fit(X, y)
    assert len(grid.cv_results_["params"]) == 4
    assert grid.score(X_test, y_test) > 0.9
    assert isinstance(grid.best_estimator_[-1], MLPClassifier)
    scores = cross_val_score(MLPClassifier(hidden_layer_sizes=(50,), random_state=0), X, y, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.9


def test_gil_released_during_fit(digits_rs42):
    """ctypes releases the GIL during foreign calls: a Python thread keeps running while
    mlp_fit trains, and two estimators train concurrently from two threads."""
    X, _, y, _ = digits_rs42

    def make():
        return MLPClassifier(hidden_layer_sizes=(100,), max_iter=40, n_iter_no_change=1000,
                             random_state=0)

    ticks = []
    done = threading.Event()

    def count():
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    est = make()
    counter = threading.Thread(target=count)
    counter.start()
    t0 = time.perf_counter()
    with pytest.warns(Warning):
        est.fit(X, y)  # one foreign call: the counter only advances if the GIL is free
    t1 = time.perf_counter()
    done.set()
    counter.join()
    during = [t for t in ticks if t0 < t < t1]
    assert len(during) >= 5, (len(during), t1 - t0)

    a, b = make(), make()
    threads = [threading.Thread(target=e.fit, args=(X, y)) for e in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert a.predict_proba(X).tobytes() == est.predict_proba(X).tobytes()
    assert b.predict_proba(X).tobytes() == est.predict_proba(X).tobytes()


def test_dropout(digits_rs42):
    """mlp's dropout parameter: the net is created in Python (mlp_net_create, as mlp_fit's own
    create_net) to set mlp_net_set_dropout before mlp_fit; a negligible rate trains the same
    bits as no dropout, so that net is the one mlp_fit would have made."""
    import pickle
    X, X_test, y, y_test = digits_rs42
    base = MLPClassifier(hidden_layer_sizes=(50,), max_iter=500, random_state=42).fit(X, y)
    tiny = MLPClassifier(hidden_layer_sizes=(50,), max_iter=500, random_state=42,
                         dropout=1e-9).fit(X, y)
    assert tiny.predict_proba(X_test).tobytes() == base.predict_proba(X_test).tobytes()
    drop = MLPClassifier(hidden_layer_sizes=(100,), max_iter=500, random_state=42,
                         dropout=0.2).fit(X, y)
    assert drop._net.dropout() == [pytest.approx(0.2)]
    assert drop.score(X_test, y_test) >= 0.965
    assert drop.predict_proba(X_test).tobytes() != base.predict_proba(X_test).tobytes()
    clone = pickle.loads(pickle.dumps(drop))  # model files do not keep dropout: set again
    assert clone._net.dropout() == [pytest.approx(0.2)]
