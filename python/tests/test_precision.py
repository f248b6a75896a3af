"""precision ('f32', 'bf16', 'auto'): mlp_fit_options.precision, the fitted precision_, the
refusal where bf16 is missing (mlp.MLPUnsupportedError, a ValueError), pickling.

Where this machine or build has no bf16, the numerical tests skip; the refusal is tested in
any case, in a child process whose oneDNN is capped below AVX512_BF16 (DNNL_MAX_CPU_ISA)."""
import os
import pickle
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import mlp
from mlp import MLPClassifier, MLPRegressor, _lib

BF16, ISA = mlp.bf16_available()
needs_bf16 = pytest.mark.skipif(not BF16, reason="no bf16 training here: %s" % ISA)

RNG = np.random.RandomState(0)
X3 = RNG.randn(60, 3)
Y3 = (X3[:, 0] > 0).astype(int)


def test_bf16_available():
    ok, isa = mlp.bf16_available()
    assert isinstance(ok, bool) and isinstance(isa, str) and isa
    assert ok == bool(_lib.lib.mlp_precision_supported(_lib.PRECISION["bf16"]))
    assert _lib.lib.mlp_precision_supported(_lib.PRECISION["f32"]) == 1
    assert _lib.lib.mlp_precision_supported(_lib.PRECISION["auto"]) == 1
    if ok:
        assert isa.startswith("avx512_core")  # "avx512_core_amx" or "avx512_core_bf16"


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("value", ["fp16", "BF16", "", None, 1, ("bf16",)])
def test_unknown_precision_is_a_value_error(Est, value):
    est = Est(max_iter=2, precision=value)
    with pytest.raises(ValueError, match="precision"):
        est.fit(X3, Y3)
    assert set(vars(est)) == set(Est().get_params())  # unfitted


def test_f32_is_the_default():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = MLPClassifier(hidden_layer_sizes=(8,), max_iter=20, random_state=0).fit(X3, Y3)
        b = MLPClassifier(hidden_layer_sizes=(8,), max_iter=20, random_state=0,
                          precision="f32").fit(X3, Y3)
    assert a.precision == "f32" and a.precision_ == b.precision_ == "f32"
    assert a.predict_proba(X3).tobytes() == b.predict_proba(X3).tobytes()


def test_lbfgs_trains_in_f32():
    """lbfgs's line search needs float32 losses and gradients: 'bf16' is refused (a ValueError
    naming precision, as dropout with lbfgs), 'auto' trains in f32."""
    with pytest.raises(ValueError, match="precision"):
        MLPClassifier(solver="lbfgs", precision="bf16").fit(X3, Y3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=20,
                            random_state=0, precision="auto").fit(X3, Y3)
    assert clf.precision_ == "f32"


@pytest.fixture(scope="module")
def digits_fits(digits_rs42):
    """digits rs42, hidden 50, max_iter 500, seeds 0..2, in f32 and bf16: {precision: [(test
    accuracy, estimator)]}."""
    if not BF16:
        pytest.skip("no bf16 training here: %s" % ISA)
    X, X_test, y, y_test = digits_rs42
    out = {}
    for precision in ("f32", "bf16"):
        out[precision] = []
        for seed in range(3):
            clf = MLPClassifier(hidden_layer_sizes=(50,), max_iter=500, random_state=seed,
                                precision=precision).fit(X, y)
            out[precision].append((clf.score(X_test, y_test), clf))
    return out


@needs_bf16
def test_bf16_digits_within_a_point_of_f32(digits_fits, digits_rs42):
    f32 = [a for a, _ in digits_fits["f32"]]
    bf16 = [a for a, _ in digits_fits["bf16"]]
    assert all(c.precision_ == "bf16" for _, c in digits_fits["bf16"])
    assert all(c.precision_ == "f32" for _, c in digits_fits["f32"])
    assert abs(np.mean(bf16) - np.mean(f32)) <= 0.01, (f32, bf16)
    assert min(bf16) > 0.95
    # bf16 really ran: the weights are not f32's
    a, b = digits_fits["f32"][0][1], digits_fits["bf16"][0][1]
    assert a.coefs_[0].tobytes() != b.coefs_[0].tobytes()


@needs_bf16
def test_bf16_pickle_keeps_precision_and_predicts_the_same_bits(digits_fits, digits_rs42):
    X, X_test, y, _ = digits_rs42
    clf = digits_fits["bf16"][0][1]
    clone = pickle.loads(pickle.dumps(clf))
    assert clone.precision == "bf16" and clone.precision_ == "bf16"
    assert clone.get_params() == clf.get_params()
    # inference is always f32, from the f32 weights that the model file holds
    assert clone.predict_proba(X_test).tobytes() == clf.predict_proba(X_test).tobytes()
    assert np.array_equal(clone.predict(X_test), clf.predict(X_test))
    # and both continue training alike (the precision is set on the net by each fit)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = pickle.loads(pickle.dumps(clf)).set_params(warm_start=True, max_iter=3).fit(X, y)
        clone.set_params(warm_start=True, max_iter=3).fit(X, y)
    assert a.precision_ == clone.precision_ == "bf16"
    assert a.predict_proba(X_test).tobytes() == clone.predict_proba(X_test).tobytes()


@needs_bf16
def test_auto_is_bf16_here_and_a_warm_start_switches(digits_rs42):
    X, _, y, _ = digits_rs42
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = MLPClassifier(hidden_layer_sizes=(20,), max_iter=3, random_state=0,
                            precision="auto").fit(X, y)
        assert clf.precision_ == "bf16"
        clf.set_params(warm_start=True, precision="f32").fit(X, y)
        assert clf.precision_ == "f32" and clf.n_iter_ == 6
        reg = MLPRegressor(hidden_layer_sizes=(20,), max_iter=3, random_state=0,
                           precision="bf16").fit(X, y.astype(float))
    assert reg.precision_ == "bf16"
    clf.partial_fit(X, y)  # warm_start's precision: f32
    assert clf.precision_ == "f32"


_UNAVAILABLE = textwrap.dedent("""
    import pickle, sys, warnings
    import numpy as np
    import mlp
    from mlp import MLPClassifier, MLPRegressor
    warnings.simplefilter("ignore")
    ok, isa = mlp.bf16_available()
    assert not ok, isa
    X = np.random.RandomState(0).randn(60, 3)
    y = (X[:, 0] > 0).astype(int)
    for Est in (MLPClassifier, MLPRegressor):
        est = Est(hidden_layer_sizes=(8,), max_iter=5, precision="bf16")
        try:
            est.fit(X, y)
            raise SystemExit("bf16 trained without bf16")
        except mlp.MLPUnsupportedError as e:
            assert isinstance(e, ValueError) and isinstance(e, mlp.MLPError), type(e).__mro__
            assert e.status == 12, e.status  # MLP_ERR_UNSUPPORTED
            assert "bf16" in str(e) and isa in str(e), str(e)
        assert set(vars(est)) == set(Est().get_params())  # unfitted
        # auto falls back to f32
        est.set_params(precision="auto").fit(X, y)
        assert est.precision_ == "f32"
        # a refit in bf16 that is refused keeps the fitted model
        before = pickle.dumps(est)
        try:
            est.set_params(precision="bf16", warm_start=True).fit(X, y)
            raise SystemExit("bf16 trained without bf16")
        except mlp.MLPUnsupportedError:
            pass
        assert pickle.dumps(est.set_params(precision="auto", warm_start=False)) == before
    print("ok", isa)
""")


def test_bf16_where_unavailable_raises_unsupported(tmp_path):
    """In a child whose oneDNN may use nothing above AVX512_CORE (no AVX512_BF16, no AMX), or
    where this build or CPU has no bf16 anyway: 'bf16' raises MLPUnsupportedError (a ValueError
    and an MLPError) with the library's reason, the estimator stays as it was; 'auto' is f32."""
    env = dict(os.environ, DNNL_MAX_CPU_ISA="AVX512_CORE", ONEDNN_MAX_CPU_ISA="AVX512_CORE")
    script = tmp_path / "unavailable.py"
    script.write_text(_UNAVAILABLE)
    r = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("ok ")


# ---- predict_precision: inference in bf16 (mlp_net_set_predict_precision) ----

def test_predict_precision_parameter():
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    est = MLPClassifier(hidden_layer_sizes=(30,), max_iter=30, random_state=0).fit(X, y)
    p32 = est.predict_proba(X)
    assert est.get_params()["predict_precision"] == "f32"
    est.set_params(predict_precision="fp8")
    with pytest.raises(ValueError, match="predict_precision"):
        est.predict(X)
    ok, _why = _lib.bf16_available()
    est.set_params(predict_precision="bf16")
    if not ok:
        with pytest.raises(ValueError, match="bf16"):
            est.predict(X)
        return
    p16 = est.predict_proba(X)
    diff = np.abs(p16 - p32).max()
    assert 1e-6 < diff < 0.05  # bf16 ran, and stays close to f32
    assert (est.predict(X) == y).mean() > 0.9
    # back to f32: the f32 bits again
    est.set_params(predict_precision="f32")
    np.testing.assert_array_equal(est.predict_proba(X), p32)
    # a pickle keeps the parameter, and the copy predicts in it
    import pickle
    est.set_params(predict_precision="auto")
    p_auto = est.predict_proba(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(est)).predict_proba(X), p_auto)
