"""solver='lbfgs' (mlp_fit's MLP_OPT_LBFGS: full-batch L-BFGS): accuracy against scikit-learn's
lbfgs on the same splits, and scikit-learn 1.2's fitted attributes for lbfgs (n_iter_, loss_,
t_; no loss_curve_, best_loss_ or validation attributes)."""
import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from mlp import MLPClassifier, MLPRegressor

STOCHASTIC_ONLY = ("loss_curve_", "best_loss_", "validation_scores_", "best_validation_score_",
                   "validation_losses_", "best_validation_loss_")


def _iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def test_digits_within_two_points_of_sklearn(digits_rs42):
    """digits, rs42 split, hidden 50, default lbfgs settings (max_iter 200, tol 1e-4), mean test
    accuracy over seeds 0..4 (measured: mlp 0.970, scikit-learn 1.2.1 0.969; both stop on
    their own after ~50 iterations)."""
    X, X_test, y, y_test = digits_rs42
    ours, theirs = [], []
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for seed in range(5):
            for Est, acc in ((MLPClassifier, ours), (SkMLPClassifier, theirs)):
                m = Est(hidden_layer_sizes=(50,), solver="lbfgs", random_state=seed).fit(X, y)
                acc.append(m.score(X_test, y_test))
    assert np.mean(ours) >= np.mean(theirs) - 0.02, (ours, theirs)
    assert min(ours) >= 0.95, ours


def test_iris_within_three_points_of_sklearn():
    """iris, StandardScaler, stratified 75/25 split per seed, default hidden (100,), max_iter
    500, mean over seeds 0..9 (38 test rows: one row is 2.6 points; measured: mlp 0.937,
    scikit-learn 0.939)."""
    X, y = load_iris(return_X_y=True)
    scores = {MLPClassifier: [], SkMLPClassifier: []}
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for seed in range(10):
            X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=seed,
                                                      stratify=y)
            for Est, acc in scores.items():
                model = make_pipeline(StandardScaler(), Est(solver="lbfgs", max_iter=500,
                                                            random_state=seed))
                acc.append(model.fit(X_tr, y_tr).score(X_te, y_te))
    ours, theirs = np.mean(scores[MLPClassifier]), np.mean(scores[SkMLPClassifier])
    assert ours >= theirs - 0.03, (ours, theirs)


def test_regressor_close_to_sklearn():
    rng = np.random.RandomState(0)
    X = rng.randn(300, 5)
    y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2] + 0.05 * rng.randn(300)
    X_tr, X_te, y_tr, y_te = X[:200], X[200:], y[:200], y[200:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = MLPRegressor(hidden_layer_sizes=(30,), solver="lbfgs", max_iter=500,
                            random_state=0).fit(X_tr, y_tr)
        theirs = SkMLPRegressor(hidden_layer_sizes=(30,), solver="lbfgs", max_iter=500,
                                random_state=0).fit(X_tr, y_tr)
    assert ours.score(X_te, y_te) > 0.9
    assert ours.score(X_te, y_te) >= theirs.score(X_te, y_te) - 0.05
    assert ours.out_activation_ == "identity"


@pytest.mark.parametrize("Ours, Theirs", [(MLPClassifier, SkMLPClassifier),
                                          (MLPRegressor, SkMLPRegressor)])
def test_fitted_attributes_as_sklearn(Ours, Theirs):
    X, y = _iris()
    if Ours is MLPRegressor:
        y = X[:, 0] * 2.0 - X[:, 1]
    kw = dict(hidden_layer_sizes=(10,), solver="lbfgs", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours, theirs = Ours(**kw).fit(X, y), Theirs(**kw).fit(X, y)
    for name in STOCHASTIC_ONLY:
        assert hasattr(ours, name) == hasattr(theirs, name) == False, name  # noqa: E712
    for name in ("n_iter_", "loss_", "t_", "n_layers_", "n_outputs_", "out_activation_",
                 "coefs_", "intercepts_", "n_features_in_"):
        assert hasattr(ours, name) and hasattr(theirs, name), name
    assert ours.t_ == theirs.t_ == 0
    assert isinstance(ours.n_iter_, int) and 1 <= ours.n_iter_ <= 200
    assert isinstance(ours.loss_, float) and np.isfinite(ours.loss_) and ours.loss_ > 0
    assert (ours.n_layers_, ours.n_outputs_, ours.out_activation_) == \
        (theirs.n_layers_, theirs.n_outputs_, theirs.out_activation_)


def test_max_iter_counts_iterations_and_warns():
    X, y = _iris()
    clf = MLPClassifier(hidden_layer_sizes=(20,), solver="lbfgs", max_iter=7, random_state=0)
    with pytest.warns(ConvergenceWarning, match="(?s)lbfgs failed to converge.*ITERATIONS"):
        clf.fit(X, y)
    assert clf.n_iter_ == 7
    # the loss falls with the iterations: the full fit ends lower than 7 iterations
    full = MLPClassifier(hidden_layer_sizes=(20,), solver="lbfgs", max_iter=500, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        full.fit(X, y)
    # it stops well before 500 (converged, or the float32 line search found no lower loss)
    assert not [w for w in caught if "ITERATIONS" in str(w.message)]
    assert 7 < full.n_iter_ < 500 and full.loss_ < clf.loss_


def test_max_fun_stops_it():
    X, y = _iris()
    clf = MLPClassifier(hidden_layer_sizes=(20,), solver="lbfgs", max_iter=500, max_fun=10,
                        random_state=0)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        clf.fit(X, y)
    assert 1 <= clf.n_iter_ <= 10  # every iteration takes one evaluation at least


def test_tol_is_the_gradient_tolerance():
    X, y = _iris()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        loose = MLPClassifier(hidden_layer_sizes=(20,), solver="lbfgs", tol=1e-1, max_iter=500,
                              random_state=0).fit(X, y)
        tight = MLPClassifier(hidden_layer_sizes=(20,), solver="lbfgs", tol=1e-6,
                              max_iter=500, random_state=0).fit(X, y)
    assert loose.n_iter_ < tight.n_iter_ and tight.loss_ < loose.loss_


def test_deterministic_on_any_thread_count():
    X, y = _iris()
    kw = dict(hidden_layer_sizes=(30,), solver="lbfgs", max_iter=50, random_state=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = MLPClassifier(threads=1, **kw).fit(X, y)
        b = MLPClassifier(threads=2, **kw).fit(X, y)
        c = MLPClassifier(threads=1, **kw).fit(X, y)
    for m in (b, c):
        assert m.n_iter_ == a.n_iter_ and m.loss_ == a.loss_
        assert m.predict_proba(X).tobytes() == a.predict_proba(X).tobytes()


def test_warm_start_continues_and_partial_fit_is_refused():
    X, y = _iris()
    clf = MLPClassifier(hidden_layer_sizes=(20,), solver="lbfgs", max_iter=5, random_state=0)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    first = clf.loss_
    clf.set_params(warm_start=True)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    # continued from the fitted weights: lower than after the first 5; n_iter_ is this fit's
    assert clf.n_iter_ == 5 and clf.loss_ < first
    cold = MLPClassifier(hidden_layer_sizes=(20,), solver="lbfgs", max_iter=10, random_state=0)
    with pytest.warns(ConvergenceWarning):
        cold.fit(X, y)
    assert clf.loss_ == pytest.approx(cold.loss_, rel=0.5)  # same ballpark, not the same path
    with pytest.raises(AttributeError, match="stochastic"):
        clf.partial_fit(X, y)
    with pytest.raises(AttributeError, match="stochastic"):
        MLPRegressor(solver="lbfgs").partial_fit(X, y.astype(float))


def test_switching_solvers():
    """An adam fit, then a new lbfgs fit: the stochastic attributes go (as a fresh lbfgs fit has
    none); an adam warm start after lbfgs starts its loss curve from empty."""
    X, y = _iris()
    clf = MLPClassifier(hidden_layer_sizes=(20,), max_iter=20, random_state=0)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    assert len(clf.loss_curve_) == 20
    clf.set_params(solver="lbfgs", max_iter=50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert not any(hasattr(clf, name) for name in STOCHASTIC_ONLY)
    clf.set_params(solver="adam", warm_start=True, max_iter=3)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    assert len(clf.loss_curve_) == 3 and clf.best_loss_ == min(clf.loss_curve_)


def test_early_stopping_is_ignored():
    """As in scikit-learn: lbfgs trains on every row and sets no validation attributes."""
    X, y = _iris()
    kw = dict(hidden_layer_sizes=(20,), solver="lbfgs", max_iter=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = MLPClassifier(early_stopping=True, early_stopping_metric="loss", **kw).fit(X, y)
        b = MLPClassifier(**kw).fit(X, y)
    assert a.loss_ == b.loss_ and not hasattr(a, "validation_scores_")


def test_verbose_prints_each_iteration(capsys):
    X, y = _iris()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier(hidden_layer_sizes=(10,), solver="lbfgs", max_iter=8, verbose=True,
                            random_state=0).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == clf.n_iter_ == 8
    assert lines[0].startswith("Iteration 1, loss = ") and lines[-1].startswith("Iteration 8,")
    assert float(lines[-1].split("= ")[1]) == pytest.approx(clf.loss_, rel=1e-6)


def test_pickle_and_binary_and_multilabel():
    X, y = _iris()
    yb = (y == 2).astype(int)
    Y = np.stack([y == 0, y == 1, X[:, 0] > 0], axis=1).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        b = MLPClassifier(hidden_layer_sizes=(10,), solver="lbfgs", random_state=0).fit(X, yb)
        m = MLPClassifier(hidden_layer_sizes=(10,), solver="lbfgs", random_state=0).fit(X, Y)
    assert b.n_outputs_ == 1 and b.score(X, yb) > 0.95
    assert m.n_outputs_ == 3 and m.predict(X).shape == (150, 3) and m.score(X, Y) > 0.8
    clone = pickle.loads(pickle.dumps(b))
    assert clone.predict_proba(X).tobytes() == b.predict_proba(X).tobytes()
    assert clone.n_iter_ == b.n_iter_ and not hasattr(clone, "loss_curve_")
