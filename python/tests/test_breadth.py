"""What scikit-learn's MLP users keep asking for (issue 23), checked against scikit-learn where it
has the feature: class_weight (compute_sample_weight's numbers, bit for bit), a validation set of
one's own (eval_set), the stratified early-stopping split (StratifiedShuffleSplit's per-class
counts and refusals), the Poisson and Huber losses (mean_poisson_deviance / 2, PyTorch's
HuberLoss), an activation per hidden layer (kept by model bytes and pickles), and scikit-learn's
edge behaviours (np.inf, one class, warm_start's classes, partial_fit with lbfgs, verbose)."""
import ctypes
import pickle
import re
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import mean_poisson_deviance
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.utils.class_weight import compute_sample_weight

from mlp import MLPClassifier, MLPRegressor, _lib


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _blobs(n=300, k=3, seed=0, weights=None):
    rng = np.random.RandomState(seed)
    y = rng.choice(k, size=n, p=weights)
    X = rng.randn(n, 4) + 3.0 * np.eye(k, 4)[y]
    return X, y


# ------------------------------------------------------------------------------------------
# 1. class_weight
def _mlp_weights(clf, y, sample_weight=None):
    """The float32 weights a fit of clf on y hands mlp_fit (class_weight times sample_weight)."""
    classes, idx = np.unique(y, return_inverse=True)
    labels = np.ascontiguousarray(idx, dtype=np.int32)
    return clf._sample_weights(labels, max(2, len(classes)), classes, sample_weight, len(y))


@pytest.mark.parametrize("seed", range(5))
def test_balanced_is_compute_sample_weight_bit_for_bit(seed):
    rng = np.random.RandomState(seed)
    y = rng.choice(["a", "b", "c", "d"], size=rng.randint(20, 500), p=[0.6, 0.25, 0.1, 0.05])
    got = _mlp_weights(MLPClassifier(class_weight="balanced"), y)
    want = compute_sample_weight("balanced", y)
    assert got.dtype == np.float32
    assert np.array_equal(got, want.astype(np.float32))  # bit for bit
    # in double (before the one rounding to float32) too
    classes, idx = np.unique(y, return_inverse=True)
    out = np.empty(len(y))
    dp = ctypes.POINTER(ctypes.c_double)
    _lib.check(_lib.lib.mlp_class_weights(
        np.ascontiguousarray(idx, dtype=np.int32).ctypes.data_as(ctypes.POINTER(ctypes.c_int32)),
        len(y), len(classes), None, None, out.ctypes.data_as(dp)), "mlp_class_weights")
    assert np.array_equal(out, want)


def test_class_weight_dict_and_sample_weight_multiply():
    X, y = _blobs(200)
    sw = np.random.RandomState(1).uniform(0, 3, size=len(y))
    cw = {0: 0.5, 2: 4.0}  # class 1 unnamed: 1
    got = _mlp_weights(MLPClassifier(class_weight=cw), y, sw)
    want = (sw * compute_sample_weight(cw, y)).astype(np.float32)
    assert np.array_equal(got, want)
    got = _mlp_weights(MLPClassifier(class_weight="balanced"), y, sw)
    assert np.array_equal(got, (sw * compute_sample_weight("balanced", y)).astype(np.float32))


def test_class_weight_fit_is_the_sample_weight_fit():
    X, y = _blobs(200, weights=[0.7, 0.2, 0.1])
    kw = dict(hidden_layer_sizes=(8,), max_iter=20, random_state=0)
    a = MLPClassifier(class_weight="balanced", **kw).fit(X, y)
    b = MLPClassifier(**kw).fit(X, y, sample_weight=compute_sample_weight("balanced", y))
    for ca, cb in zip(a.coefs_, b.coefs_):
        assert np.array_equal(ca, cb)


@pytest.mark.parametrize("cw, match", [
    ({7: 1.0}, "label 7 is not a class"),
    ({0: -1.0}, r"class_weight\[0\] must be a finite number >= 0"),
    ({1: np.inf}, r"class_weight\[1\]"),
    ("heavy", "must be None, 'balanced' or a dict"),
])
def test_class_weight_errors(cw, match):
    X, y = _blobs(60)
    with pytest.raises(ValueError, match=match):
        MLPClassifier(class_weight=cw, max_iter=2).fit(X, y)


def test_class_weight_partial_fit():
    X, y = _blobs(90)
    with pytest.raises(ValueError, match="'balanced' is not supported for partial_fit"):
        MLPClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1, 2])
    MLPClassifier(class_weight={1: 2.0}).partial_fit(X, y, classes=[0, 1, 2])


def test_imbalanced_digits_balanced_accuracy_rises():
    """docs/SKLEARN.md's example, small: one digit cut to 10% of its rows."""
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import train_test_split
    X, y = load_digits(return_X_y=True)
    keep = (y != 3) | (np.arange(len(y)) % 10 == 0)
    X, y = X[keep] / 16.0, y[keep]
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    kw = dict(hidden_layer_sizes=(16,), max_iter=40, random_state=0)
    plain = MLPClassifier(**kw).fit(Xtr, ytr)
    bal = MLPClassifier(class_weight="balanced", **kw).fit(Xtr, ytr)
    assert (balanced_accuracy_score(yte, bal.predict(Xte)) >=
            balanced_accuracy_score(yte, plain.predict(Xte)))


# ------------------------------------------------------------------------------------------
# 2. a validation set of one's own; the stratified split
def test_eval_set_is_the_validation_set():
    X, y = _blobs(240, seed=2)
    Xv, yv = _blobs(90, seed=3)
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=30, random_state=0)
    clf.fit(X, y, eval_set=(Xv, yv))
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.t_ == len(X) * clf.n_iter_  # every row trained
    assert clf.best_validation_score_ == pytest.approx(clf.score(Xv, yv))
    assert clf.best_loss_ is None
    other = MLPClassifier(hidden_layer_sizes=(8,), max_iter=30, random_state=0)
    other.fit(X, y, eval_set=[(Xv, yv)])  # LightGBM's and XGBoost's list form
    assert other.validation_scores_ == clf.validation_scores_


def test_eval_set_regressor_and_errors():
    rng = np.random.RandomState(0)
    X = rng.randn(200, 3)
    y = X @ [1.0, -2.0, 0.5]
    reg = MLPRegressor(hidden_layer_sizes=(8,), max_iter=20, random_state=0)
    reg.fit(X[:150], y[:150], eval_set=(X[150:], y[150:]))
    assert reg.best_validation_score_ == pytest.approx(reg.score(X[150:], y[150:]), abs=1e-5)
    with pytest.raises(ValueError, match="X_val has 2 features"):
        reg.fit(X, y, eval_set=(X[:, :2], y))
    with pytest.raises(ValueError, match="eval_set must be"):
        reg.fit(X, y, eval_set=[(X, y), (X, y)])
    with pytest.raises(ValueError, match="has no early stopping"):
        MLPRegressor(solver="lbfgs").fit(X, y, eval_set=(X, y))
    Xc, yc = _blobs(60)
    with pytest.raises(ValueError, match="not in classes"):
        MLPClassifier(max_iter=2).fit(Xc, yc, eval_set=(Xc, yc + 5))


def _validation_rows(labels, fraction, seed, task=_lib.TASK_CLASSIFY):
    o = _lib.lib.mlp_fit_options_default()
    o.validation_fraction = fraction
    o.seed = seed
    n = len(labels)
    lab = np.ascontiguousarray(labels, dtype=np.int32)
    rows = (ctypes.c_size_t * n)()
    nv = ctypes.c_size_t()
    _lib.check(_lib.lib.mlp_fit_validation_rows(
        task, lab.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)), n, int(lab.max()) + 1,
        ctypes.byref(o), rows, ctypes.byref(nv)), "mlp_fit_validation_rows")
    return np.array(rows[:n - nv.value]), np.array(rows[n - nv.value:])


def test_binary_split_proportions_are_sklearns():
    """Two classes, 90% / 10%: scikit-learn's MLPClassifier split (train_test_split with
    stratify=y) holds out 10% of each class; mlp's the same counts."""
    y = np.r_[np.zeros(180, int), np.ones(20, int)]
    f = float(np.float32(0.1))  # the fraction mlp computes with: 21 of 200 rows, ceil(20.0000003)
    _, val = _validation_rows(y, f, 0)
    _, te = next(StratifiedShuffleSplit(1, test_size=f, random_state=0).split(y, y))
    assert list(np.bincount(y[val])) == list(np.bincount(y[te])) == [19, 2]


@pytest.mark.parametrize("seed", range(8))
def test_stratified_split_counts_are_sklearns(seed):
    rng = np.random.RandomState(seed)
    k = rng.randint(2, 8)
    y = rng.choice(k, size=rng.randint(40, 400), p=rng.dirichlet(np.ones(k)))
    while np.bincount(y, minlength=k).min() < 2:
        y = np.r_[y, np.arange(k)]
    fraction = float(np.float32(rng.choice([0.1, 0.2, 0.25, 0.33])))
    train, val = _validation_rows(y, fraction, seed)
    assert sorted(np.r_[train, val]) == list(range(len(y)))
    # scikit-learn's counts: the same whenever no two classes tie for a leftover row; the
    # counts over several of its random states are the possible ones
    sk = set()
    for rs in range(20):
        _, te = next(StratifiedShuffleSplit(1, test_size=fraction, random_state=rs).split(y, y))
        sk.add(tuple(np.bincount(y[te], minlength=k)))
    assert tuple(np.bincount(y[val], minlength=k)) in sk


def test_stratified_split_refusals_are_sklearns():
    # scikit-learn stratifies a classifier with one output (n_outputs_ == 1: two classes); mlp
    # every single-label classifier (docs/SKLEARN.md): the binary case is compared here
    X, y = _blobs(100, k=2)
    y[0], y[1:] = 1, 0  # class 1 has one row
    for Est in (SkMLPClassifier, MLPClassifier):
        with pytest.raises(ValueError, match="The least populated class in y has only 1 member"):
            Est(early_stopping=True).fit(X, y)
    X, y = _blobs(100, k=2)
    for Est in (SkMLPClassifier, MLPClassifier):
        with pytest.raises(ValueError, match="The test_size = 1 should be greater or equal"):
            Est(early_stopping=True, validation_fraction=0.01).fit(X, y)
    X, y = _blobs(100)
    y[0] = 3  # multiclass: mlp's split is stratified too
    with pytest.raises(ValueError, match="The least populated class in y has only 1 member"):
        MLPClassifier(early_stopping=True).fit(X, y)
    # multi-label y is not stratified (scikit-learn's n_outputs_ == 1 rule): it fits
    Y = np.c_[y == 0, y == 1].astype(int)
    MLPClassifier(early_stopping=True, max_iter=3).fit(X, Y)


# ------------------------------------------------------------------------------------------
# 3. losses
def _data_loss(est, X, y):
    """The loss mlp computes for the fitted net's own predictions on X (mlp_loss_value, on a
    copy of the net; alpha is 0 in these fits, so no L2 term)."""
    net = est._net.clone()
    Xf = np.ascontiguousarray(X, dtype=np.float32)
    Yf = np.ascontiguousarray(np.reshape(y, (len(y), -1)), dtype=np.float32)
    out = ctypes.c_float()
    f32 = ctypes.POINTER(ctypes.c_float)
    _lib.check(_lib.lib.mlp_loss_value(net.ptr, Xf.ctypes.data_as(f32), Yf.ctypes.data_as(f32),
                                       len(Xf), ctypes.byref(out)), "mlp_loss_value")
    return out.value


def _counts(n=400, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, (n, 3))
    return X, rng.poisson(np.exp(0.8 * X[:, 0] - 0.5 * X[:, 1]))


def test_poisson_loss_is_half_the_mean_poisson_deviance():
    X, y = _counts()
    reg = MLPRegressor(loss="poisson", alpha=0.0, hidden_layer_sizes=(8,), max_iter=30,
                       random_state=0).fit(X, y)
    assert reg.out_activation_ == "exp"
    p = reg.predict(X)
    assert np.all(p > 0)
    want = mean_poisson_deviance(y, p.astype(np.float64)) / 2
    assert _data_loss(reg, X, y) == pytest.approx(want, rel=1e-5)
    assert reg.loss_curve_[-1] < reg.loss_curve_[0]


def test_poisson_refuses_negative_targets():
    X, y = _counts()
    y = y.astype(float)
    y[5] = -1.0
    with pytest.raises(ValueError, match="negative which is not allowed for Poisson"):
        MLPRegressor(loss="poisson").fit(X, y)


@pytest.mark.parametrize("delta", [1.0, 0.5, 2.5])
def test_huber_loss_is_pytorchs(delta):
    X, y = _counts(seed=1)
    y = y + np.random.RandomState(2).standard_cauchy(len(y))  # outliers: both pieces
    reg = MLPRegressor(loss="huber", huber_delta=delta, alpha=0.0, hidden_layer_sizes=(8,),
                       max_iter=10, random_state=0).fit(X, y)
    assert reg.out_activation_ == "identity"
    d = reg.predict(X).astype(np.float64) - np.float32(y)
    # torch.nn.HuberLoss(delta=delta) with reduction='mean'
    ref = np.where(np.abs(d) < delta, 0.5 * d * d, delta * (np.abs(d) - 0.5 * delta)).mean()
    assert np.any(np.abs(d) > delta) and np.any(np.abs(d) < delta)
    assert _data_loss(reg, X, y) == pytest.approx(ref, rel=1e-5)


@pytest.mark.parametrize("kw, match", [
    (dict(loss="absolute_error"), "loss must be one of"),
    (dict(loss="huber", huber_delta=0.0), "huber_delta must be a finite number"),
    (dict(loss="huber", huber_delta=np.nan), "huber_delta"),
])
def test_loss_parameter_errors(kw, match):
    X, y = _counts(50)
    with pytest.raises(ValueError, match=match):
        MLPRegressor(**kw).fit(X, y)


def test_loss_kept_by_pickle_and_warm_start():
    X, y = _counts(200)
    reg = MLPRegressor(loss="huber", huber_delta=0.7, hidden_layer_sizes=(6,), max_iter=5,
                       random_state=0).fit(X, y)
    back = pickle.loads(pickle.dumps(reg))
    assert back._net.loss() == _lib.LOSS_HUBER
    assert back._net.huber_delta() == np.float32(0.7)
    assert np.array_equal(back.predict(X), reg.predict(X))
    reg.set_params(warm_start=True, huber_delta=0.3)
    with pytest.raises(ValueError, match="another loss"):
        reg.fit(X, y)


# ------------------------------------------------------------------------------------------
# 4. an activation per layer
def test_activation_per_layer_roundtrips():
    X, y = _blobs(150)
    clf = MLPClassifier(hidden_layer_sizes=(10, 8, 6), activation=("relu", "tanh", "gelu"),
                        max_iter=10, random_state=0).fit(X, y)
    assert [a for _, _, a in clf._net.layers()] == ["relu", "tanh", "gelu", "softmax"]
    back = pickle.loads(pickle.dumps(clf))
    assert [a for _, _, a in back._net.layers()] == ["relu", "tanh", "gelu", "softmax"]
    assert np.array_equal(back.predict_proba(X), clf.predict_proba(X))
    again = _lib.Net.from_bytes(clf._net.to_bytes())
    assert [a for _, _, a in again.layers()] == ["relu", "tanh", "gelu", "softmax"]
    # warm start with the same tuple continues; another one is refused
    clf.set_params(warm_start=True)
    clf.fit(X, y)
    clf.set_params(activation=("relu", "relu", "gelu"))
    with pytest.raises(ValueError, match="activation"):
        clf.fit(X, y)


@pytest.mark.parametrize("act, match", [
    (("relu",), r"one name per hidden layer \(2\)"),
    (("relu", "softmax"), "The activation 'softmax' is not supported"),
    ("exp", "The activation 'exp' is not supported"),
])
def test_activation_errors(act, match):
    X, y = _blobs(60)
    with pytest.raises(ValueError, match=match):
        MLPClassifier(hidden_layer_sizes=(4, 4), activation=act).fit(X, y)


def test_activation_per_layer_with_dropout():
    X, y = _counts(120)
    reg = MLPRegressor(hidden_layer_sizes=(6, 5), activation=["tanh", "relu"], dropout=0.1,
                       loss="poisson", max_iter=3, random_state=0).fit(X, y)
    assert [a for _, _, a in reg._net.layers()] == ["tanh", "relu", "exp"]


# ------------------------------------------------------------------------------------------
# 5. scikit-learn's edge behaviours
def test_n_iter_no_change_inf_never_stops():
    X, y = _blobs(90)
    clf = MLPClassifier(hidden_layer_sizes=(4,), n_iter_no_change=np.inf, tol=10.0,
                        max_iter=15, random_state=0).fit(X, y)
    assert clf.n_iter_ == 15
    sk = SkMLPClassifier(hidden_layer_sizes=(4,), n_iter_no_change=np.inf, tol=10.0,
                         max_iter=15, random_state=0).fit(X, y)
    assert sk.n_iter_ == 15


def test_one_class_trains_and_predicts_it():
    X, _ = _blobs(40)
    y = np.full(40, "only")
    clf = MLPClassifier(max_iter=5).fit(X, y)
    sk = SkMLPClassifier(max_iter=5).fit(X, y)
    assert list(clf.classes_) == list(sk.classes_) == ["only"]
    assert list(clf.predict(X)) == list(sk.predict(X)) == ["only"] * 40
    assert clf.predict_proba(X).shape == sk.predict_proba(X).shape == (40, 2)
    assert clf.score(X, y) == 1.0
    MLPClassifier(max_iter=3, early_stopping=True).fit(X, y)


def test_warm_start_with_other_classes_raises_sklearns_error():
    X, y = _blobs(90)
    y2 = np.where(y == 2, 5, y)
    msgs = []
    for Est in (MLPClassifier, SkMLPClassifier):
        est = Est(warm_start=True, max_iter=3).fit(X, y)
        with pytest.raises(ValueError) as info:
            est.fit(X, y2)
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1]
    assert msgs[0].startswith("warm_start can only be used where `y` has the same classes")


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_partial_fit_is_not_an_attribute_with_lbfgs(Est):
    assert not hasattr(Est(solver="lbfgs"), "partial_fit")
    assert hasattr(Est(solver="adam"), "partial_fit")
    with pytest.raises(AttributeError, match="lbfgs is not stochastic"):
        Est(solver="lbfgs").partial_fit


def test_verbose_prints_sklearns_lines(capsys):
    X, y = _blobs(60)
    MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, verbose=True).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    for i, line in enumerate(lines, 1):
        assert re.fullmatch(r"Iteration %d, loss = \d+\.\d{8}" % i, line), line
