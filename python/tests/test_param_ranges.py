"""Parameters against the C types mlp_fit gets them as. ctypes wraps integers silently
(hidden_layer_sizes=(2**64 + 7,) trained a width-7 layer, threads=2**32 + 1 became 1) and float32
rounds, overflows and underflows (beta_2=0.99999999999 is 1.0, alpha=1e300 inf, epsilon=1e-50 0):
each is a ValueError naming the parameter at fit, before anything is trained or changed."""
import warnings

import numpy as np
import pytest

from mlp import MLPClassifier, MLPRegressor

RNG = np.random.RandomState(0)
X = RNG.randn(40, 3)
y = (X[:, 0] > 0).astype(int)

BAD = [
    # integers: size_t (counts, widths), C int (threads), uint64 (the seed); no floats
    ("hidden_layer_sizes", (2 ** 64 + 7,)),
    ("hidden_layer_sizes", (7.9,)),
    ("hidden_layer_sizes", (8, -1)),
    ("hidden_layer_sizes", (True,)),
    ("hidden_layer_sizes", 2 ** 64),
    ("threads", 2 ** 32 + 1),
    ("threads", 2 ** 31),
    ("threads", 2.0),
    ("max_iter", 2 ** 64),
    ("max_iter", 2 ** 70),
    ("max_iter", 5.5),
    ("n_iter_no_change", 2 ** 64),
    ("max_fun", 2 ** 64),
    ("batch_size", 2 ** 64),
    ("batch_size", 10.0),
    ("random_state", 2 ** 64),
    ("random_state", -1),
    # float32: overflow to inf, underflow to 0 (or a subnormal, flushed to 0) where 0 is not
    # allowed, a value that rounds onto an excluded bound
    ("learning_rate_init", 1e-50),
    ("learning_rate_init", 1e-40),
    ("learning_rate_init", 1e300),
    ("alpha", 1e300),
    ("alpha", 10 ** 400),
    ("beta_1", 0.99999999999),
    ("beta_2", 0.99999999999),
    ("momentum", 0.99999999999),
    ("epsilon", 1e-50),
    ("power_t", 1e300),
    ("tol", 1e300),
    ("validation_fraction", 0.9999999999),
    ("validation_fraction", 1e-50),
    ("dropout", 0.99999999999),
]


@pytest.mark.parametrize("name, value", BAD)
def test_out_of_range_is_a_value_error_naming_the_parameter(name, value):
    kw = dict(hidden_layer_sizes=(4,), max_iter=3)
    kw[name] = value
    for est in (MLPClassifier(**kw), MLPRegressor(**kw)):
        if name == "momentum":
            est.set_params(solver="sgd")
        if name == "validation_fraction":
            est.set_params(early_stopping=True)
        with pytest.raises(ValueError, match=name):
            est.fit(X, y)
        assert not hasattr(est, "n_features_in_")


def test_range_message_names_the_range():
    with pytest.raises(ValueError, match=r"\[1, 18446744073709551615\] \(size_t\)"):
        MLPClassifier(max_iter=2 ** 64).fit(X, y)
    with pytest.raises(ValueError, match=r"\[1, 2147483647\]"):
        MLPClassifier(threads=2 ** 32 + 1).fit(X, y)
    with pytest.raises(ValueError, match="float32"):
        MLPClassifier(beta_2=0.99999999999).fit(X, y)


def test_validation_fraction_split_in_float32():
    """ceil(float32 fraction x n) rows are held out: no validation row, or no training row
    left, is a ValueError naming validation_fraction (it was an MLPError from mlp_fit)."""
    with pytest.raises(ValueError, match="validation_fraction"):
        MLPClassifier(early_stopping=True, validation_fraction=0.99).fit(X, y)  # 40 of 40
    # without early stopping it is not used
    MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, validation_fraction=0.99).fit(X, y)


def test_edges_are_accepted():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        MLPClassifier(hidden_layer_sizes=(4.0,), max_iter=2 ** 64 - 1, n_iter_no_change=1,
                      tol=0.1, batch_size=2 ** 64 - 1, max_fun=2 ** 64 - 1,
                      random_state=2 ** 64 - 1, threads=1).fit(X, y)
        clf = MLPClassifier(hidden_layer_sizes=(np.int64(4),), max_iter=3,
                            n_iter_no_change=np.inf, random_state=np.uint64(7)).fit(X, y)
        assert clf.n_iter_ == 3 and clf.coefs_[0].shape == (3, 4)
    from mlp import _params
    p = _params.check(MLPClassifier(alpha=3e38, beta_2=0.9999999, learning_rate_init=2e-38,
                                    epsilon=2e-38, tol=0.0, validation_fraction=2e-38,
                                    power_t=3e38, threads=2 ** 31 - 1))
    assert p.alpha == 3e38 and p.threads == 2 ** 31 - 1


def test_targets_and_inputs_beyond_float32():
    with pytest.raises(ValueError, match="y"):
        MLPRegressor(max_iter=3).fit(X, np.where(y, 1e300, 0.0))
    with pytest.raises(ValueError, match="column 1"):
        MLPRegressor(max_iter=3).fit(X, np.stack([X[:, 0], np.full(40, -1e39)], 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's cast overflow
        with pytest.raises(ValueError, match="X"):
            MLPRegressor(max_iter=3).fit(np.where(X > 0, 1e300, X), X[:, 0])
        reg = MLPRegressor(max_iter=3).fit(X, X[:, 0])
        with pytest.raises(ValueError, match="X"):
            reg.predict(np.full((2, 3), 1e39))
