"""A fit that fails, for any reason, leaves the estimator exactly as it was: every fitted
attribute, and the C net (its model bytes, and the same object), or the estimator unfitted if it
was. Before, n_features_in_ and classes_ were set before mlp_fit ran: after a failed refit on 3
columns, predict(X3) ran the 64-input net over a 3-column buffer."""
import contextlib
import pickle
import warnings

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

import mlp
from mlp import MLPClassifier, MLPRegressor

RNG = np.random.RandomState(0)
X64 = RNG.randn(120, 64)
Y64 = (X64[:, 0] > 0).astype(int) + (X64[:, 1] > 0)  # 3 classes
X3 = RNG.randn(90, 3) * 1e3
Y3 = (X3[:, 0] > 0).astype(int)


class _BrokenPipe:
    """A stdout whose writes fail, as under `| head` once head has exited."""

    def __init__(self):
        self.writes = 0

    def write(self, s):
        self.writes += 1
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        pass


def _state(est):
    """What a fit may set: every attribute but the parameters (pickled, so arrays and NaNs
    compare exactly) and the net (the object, and its model file's bytes)."""
    params = est.get_params()
    d = {k: pickle.dumps(v) for k, v in vars(est).items() if k != "_net" and k not in params}
    net = getattr(est, "_net", None)
    return d, net, None if net is None else net.to_bytes()


def _assert_unchanged(est, before):
    d, net, data = _state(est)
    assert sorted(d) == sorted(before[0])
    for k in d:
        assert d[k] == before[0][k], k
    assert net is before[1]
    assert data == before[2]


def _y3(Est):
    return Y3 if Est is MLPClassifier else X3[:, 0] / 1e3


def _fail(est, how, X, y, partial=False):
    """Makes est's next fit (or partial_fit) on X, y fail in the way named by how."""
    fit = est.partial_fit if partial else est.fit
    kw = {"classes": [0, 1, 2]} if partial and isinstance(est, MLPClassifier) else {}
    if how == "alpha":
        est.set_params(alpha=-1.0)
    elif how == "solver":
        est.set_params(solver="newton")
    elif how == "diverge":
        est.set_params(solver="sgd", learning_rate_init=1e10, batch_size=10)
        X = X * 1e3
    elif how == "multiclass-multioutput":
        y = np.stack([y, y + 1], axis=1)
    elif how == "sample_weight":
        kw["sample_weight"] = -np.ones(len(X))
    elif how == "callback":
        est.set_params(verbose=True)
    elif how == "memory":  # ~1.2 TiB: beyond the memory limit (3/4 of physical memory)
        est.set_params(hidden_layer_sizes=(10 ** 9,))
    elif how == "precision":
        est.set_params(precision="fp16")
    out = _BrokenPipe()
    with contextlib.redirect_stdout(out), pytest.raises(Exception) as info:
        fit(X, y, **kw)
    if how == "callback":
        assert isinstance(info.value, BrokenPipeError)
        assert out.writes == 1  # the first epoch's line stopped the fit
    if how == "diverge":
        assert isinstance(info.value, mlp.MLPDivergedError)
    if how == "memory":
        assert type(info.value) is MemoryError
    return info.value


# (a y of one class trains, as scikit-learn's: test_breadth.py)
CASES = [(MLPClassifier, h) for h in ("alpha", "solver", "diverge", "multiclass-multioutput",
                                      "sample_weight", "callback", "memory", "precision")]
CASES += [(MLPRegressor, h) for h in ("alpha", "solver", "diverge", "sample_weight", "callback",
                                      "memory", "precision")]


@pytest.mark.parametrize("Est, how", CASES)
def test_failed_refit_keeps_the_fitted_model(Est, how):
    est = Est(hidden_layer_sizes=(8,), max_iter=5, random_state=0).fit(X64, _y64(Est))
    before, out = _state(est), est.predict(X64)
    _fail(est, how, X3, _y3(Est))
    _assert_unchanged(est, before)
    with pytest.raises(ValueError, match="features"):
        est.predict(X3)  # the 64-input net refuses 3 columns
    assert est.predict(X64).tobytes() == out.tobytes()
    assert est.n_features_in_ == 64


@pytest.mark.parametrize("Est, how", CASES)
def test_failed_first_fit_leaves_it_unfitted(Est, how):
    est = Est(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    _fail(est, how, X3, _y3(Est))
    assert set(vars(est)) == set(Est().get_params())
    with pytest.raises(NotFittedError):
        est.predict(X3)


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("partial", [False, True])
def test_failed_continued_fit_keeps_the_net(Est, partial):
    """warm_start / partial_fit train on a copy of the net: a failure (here divergence, after
    which mlp_fit leaves its net at the last finite epoch) leaves the fitted net as it was."""
    est = Est(hidden_layer_sizes=(8,), max_iter=5, random_state=0, warm_start=True)
    if partial:
        kw = {"classes": [0, 1, 2]} if Est is MLPClassifier else {}
        for _ in range(2):
            est.partial_fit(X64, _y64(Est), **kw)
    else:
        est.fit(X64, _y64(Est))
    before = _state(est)
    steps = est._net.step_count()
    for how in ("diverge", "callback", "sample_weight"):
        _fail(est, how, X64, _y64(Est), partial=partial)
        _assert_unchanged(est, before)
        assert est._net.step_count() == steps
        est.set_params(verbose=False, solver="adam", learning_rate_init=0.001, batch_size="auto")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X64, _y64(Est))  # and it goes on from there
    assert est._net.step_count() > steps


def _y64(Est):
    return Y64 if Est is MLPClassifier else X64[:, 0]


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("dropout", [0.0, 0.1])
def test_memory_limit_is_a_memory_error(Est, dropout):
    """mlp_fit adds up what a fit will allocate before allocating anything: hidden (10**9,) on
    3 features needs ~1.2 TiB (the parameters alone ~75 GiB), beyond the default limit (3/4 of
    physical memory), so MLP_ERR_LIMIT comes at once and is Python's MemoryError (scikit-learn's
    type), not an MLPError / RuntimeError, with the library's message naming the size. With
    dropout the package creates the net itself (mlp_net_create), which checks its buffers
    against the same limit."""
    import time
    est = Est(hidden_layer_sizes=(10 ** 9,), dropout=dropout)
    t0 = time.monotonic()
    with pytest.raises(MemoryError) as info:
        est.fit(X3, _y3(Est))
    assert time.monotonic() - t0 < 5.0
    e = info.value
    assert type(e) is MemoryError and not isinstance(e, (RuntimeError, mlp.MLPError))
    assert e.status == 10  # MLP_ERR_LIMIT
    assert "bytes" in str(e) and "memory limit" in str(e), str(e)
    assert set(vars(est)) == set(Est().get_params())  # unfitted
    with pytest.raises(NotFittedError):
        est.predict(X3)
    if Est is MLPClassifier:
        with pytest.raises(MemoryError):
            est.partial_fit(X3, Y3, classes=[0, 1])
        assert set(vars(est)) == set(Est().get_params())


def test_status_to_exception():
    """_lib.error: the memory statuses are MemoryError, the others the package's classes."""
    from mlp import _lib
    for status in (_lib.ERR_LIMIT, _lib.ERR_NOMEM):
        e = _lib.error(status, "mlp_fit", "mlp_fit: training needs 8 bytes")
        assert type(e) is MemoryError and e.status == status
        assert str(e) == "mlp_fit: training needs 8 bytes"
    assert type(_lib.error(_lib.ERR_DIVERGED, "mlp_fit", "")) is mlp.MLPDivergedError
    e = _lib.error(_lib.ERR_UNSUPPORTED, "mlp_fit", "no bf16")
    assert type(e) is mlp.MLPUnsupportedError and isinstance(e, ValueError)
    assert isinstance(e, mlp.MLPError) and e.status == 12 and "no bf16" in str(e)
    e = _lib.error(2, "mlp_fit", "bad")  # MLP_ERR_ARG
    assert type(e) is mlp.MLPError and isinstance(e, RuntimeError)
