"""The estimators' parameters, checked at fit as scikit-learn's parameter validation does, and
against what the C library receives: counts are size_t (the seed uint64, threads a C int), which
ctypes would silently wrap (2**64 + 7 becomes 7), and real settings are float32, which rounds
(beta_2=0.99999999999 becomes 1.0), overflows (1e300 becomes inf) or underflows (1e-50 becomes
0). Every check raises a ValueError naming the parameter and its allowed range, before the fit
touches anything."""
import ctypes
import math
import numbers
import struct
from types import SimpleNamespace

import numpy as np

from . import _lib

SIZE_MAX = 2 ** (8 * ctypes.sizeof(ctypes.c_size_t)) - 1
INT_MAX = 2 ** (8 * ctypes.sizeof(ctypes.c_int) - 1) - 1
UINT64_MAX = 2 ** 64 - 1
FLT_MAX = float(np.finfo(np.float32).max)
FLT_MIN = float(np.finfo(np.float32).tiny)  # the smallest normal float32
_F32 = struct.Struct("f")

SKLEARN_ACTIVATIONS = ("identity", "logistic", "tanh", "relu")
MLP_ACTIVATIONS = ("leaky_relu", "gelu")  # mlp's own, beyond scikit-learn's four
SOLVERS = ("adam", "sgd", "lbfgs")
STOCHASTIC_SOLVERS = ("adam", "sgd")


def is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))


def is_real(v):
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


def integer(name, v, lo, hi, ctype="size_t"):
    """v as an int in [lo, hi], the range of the C type it is passed as. Floats are refused,
    as scikit-learn's Interval(Integral, ...) refuses them."""
    if not is_int(v) or not lo <= int(v) <= hi:
        raise ValueError("%s must be an integer in [%d, %d] (%s), got %r"
                         % (name, lo, hi, ctype, v))
    return int(v)


def to_float32(v):
    """v rounded to float32 (to nearest, as the C conversion), as a Python float; inf when it
    overflows. (struct rather than np.float32: no np.errstate, which costs ~10 us a call.)"""
    try:
        return _F32.unpack(_F32.pack(v))[0]
    except OverflowError:
        return math.copysign(math.inf, v)


def real(name, v, lo, hi=None, lo_open=False, hi_open=False):
    """v as a float in the interval, finite, and still inside it as the float32 the library
    computes with: not overflowing to inf, not rounded onto an open bound; above an open 0, a
    normal float32 (mlp's threads flush subnormals to 0)."""
    try:
        x = float(v) if is_real(v) else math.nan
    except OverflowError:  # an int beyond float64
        x = math.nan
    if not (math.isfinite(x) and (x > lo if lo_open else x >= lo) and
            (hi is None or (x < hi if hi_open else x <= hi))):
        raise ValueError("%s must be a finite number in %s, got %r"
                         % (name, _interval(lo, hi, lo_open, hi_open), v))
    f = to_float32(x)
    if math.isinf(f):
        raise ValueError("%s=%r overflows float32 (largest %.8g), the type mlp computes in"
                         % (name, v, FLT_MAX))
    if (lo_open and abs(f - lo) < FLT_MIN) or (hi_open and f >= hi):
        raise ValueError("%s=%r is %r in float32, the type mlp computes in; it must be in %s%s"
                         % (name, v, f, _interval(lo, hi, lo_open, hi_open),
                            " with a float32 of at least %.8g" % FLT_MIN if lo_open else ""))
    return x


def _interval(lo, hi, lo_open, hi_open):
    return "%s%s, %s%s" % ("(" if lo_open else "[", lo, "inf" if hi is None else hi,
                           ")" if hi_open or hi is None else "]")


def hidden_sizes(h):
    """hidden_layer_sizes as a list of widths, each in [1, SIZE_MAX]. An integral float (7.0) is
    taken as its integer; 7.9 is refused rather than truncated."""
    want = ("hidden_layer_sizes must be an int or a sequence of ints, each in [1, %d] (size_t), "
            "got %r" % (SIZE_MAX, h))
    try:
        items = [h] if is_int(h) else list(h)
    except TypeError:
        raise ValueError(want) from None
    out = []
    for v in items:
        if is_real(v) and not is_int(v) and math.isfinite(float(v)) and float(v).is_integer():
            v = int(v)
        if not is_int(v) or not 1 <= int(v) <= SIZE_MAX:
            raise ValueError(want)
        out.append(int(v))
    return out


def dropout_rates(p, n_hidden):
    """dropout (mlp's own parameter): one probability for every hidden layer, or one per hidden
    layer; each in [0, 1), also as a float32."""
    rates = [p] * n_hidden if is_real(p) else list(p)
    if len(rates) != n_hidden:
        raise ValueError("dropout must be a number or one per hidden layer (%d), got %r"
                         % (n_hidden, p))
    return [real("dropout", r, 0.0, 1.0, hi_open=True) for r in rates]


def activations(a, n_hidden):
    """activation: one name for every hidden layer (scikit-learn's), or a tuple / list of one
    name per hidden layer (mlp's extension); returns the list of the hidden layers' names."""
    allowed = SKLEARN_ACTIVATIONS + MLP_ACTIVATIONS
    names = [a] * n_hidden if isinstance(a, str) else None
    if names is None:
        try:
            names = list(a)
        except TypeError:
            names = [a]
        if len(names) != n_hidden:
            raise ValueError("activation must be a name or one name per hidden layer (%d), got "
                             "%r" % (n_hidden, a))
    for name in names if names else [a]:
        if not isinstance(name, str) or name not in allowed:
            raise ValueError("The activation '%s' is not supported. Supported activations are "
                             "%s." % (name, list(allowed)))
    return names


def regression_loss(est):
    """MLPRegressor's loss (scikit-learn 1.7's names) and huber_delta; (None, None) for an
    estimator without them (the classifier)."""
    if not hasattr(est, "loss"):
        return None, None
    if not isinstance(est.loss, str) or est.loss not in _lib.REGRESSION_LOSS:
        raise ValueError("loss must be one of %s, got %r"
                         % (list(_lib.REGRESSION_LOSS), est.loss))
    delta = real("huber_delta", est.huber_delta, 0.0, lo_open=True)
    return est.loss, delta


def _choices(est):
    if est.solver not in SOLVERS:
        raise ValueError("The solver '%s' is not supported. Supported solvers are %s."
                         % (est.solver, list(SOLVERS)))
    if not isinstance(est.early_stopping_metric, str) or \
            est.early_stopping_metric not in _lib.STOP_METRIC:
        raise ValueError("early_stopping_metric must be 'score' or 'loss', got %r"
                         % (est.early_stopping_metric,))
    if est.learning_rate not in _lib.LR:
        raise ValueError("learning rate %s is not supported. " % (est.learning_rate,))
    if not isinstance(est.precision, str) or est.precision not in _lib.PRECISION:
        raise ValueError("precision must be 'f32', 'bf16' or 'auto', got %r" % (est.precision,))
    _check_predict_precision(est)


def _check_predict_precision(est):
    p = getattr(est, "predict_precision", "f32")
    if not isinstance(p, str) or p not in _lib.PRECISION:
        raise ValueError("predict_precision must be 'f32', 'bf16' or 'auto', got %r" % (p,))


def _counts(est):
    """The integer parameters, in their C types' ranges."""
    n_iter_no_change = est.n_iter_no_change
    if is_real(n_iter_no_change) and n_iter_no_change == np.inf:
        n_iter_no_change = SIZE_MAX  # scikit-learn's np.inf: the rule never stops training
    batch_size = est.batch_size
    if not (isinstance(batch_size, str) and batch_size == "auto"):
        batch_size = integer("batch_size", batch_size, 1, SIZE_MAX, "'auto' or size_t")
    threads = est.threads
    if threads is not None:
        threads = integer("threads", threads, 1, INT_MAX, "None or a C int")
    rs = est.random_state
    if is_int(rs):
        integer("random_state", rs, 0, UINT64_MAX, "the library's uint64 seed")
    return dict(max_iter=integer("max_iter", est.max_iter, 1, SIZE_MAX),
                n_iter_no_change=integer("n_iter_no_change", n_iter_no_change, 1, SIZE_MAX,
                                         "size_t, or np.inf"),
                max_fun=integer("max_fun", est.max_fun, 1, SIZE_MAX),
                batch_size=0 if batch_size == "auto" else batch_size, threads=threads)


def _reals(est):
    """The real parameters, in their intervals also as float32."""
    return dict(alpha=real("alpha", est.alpha, 0.0),
                learning_rate_init=real("learning_rate_init", est.learning_rate_init, 0.0,
                                        lo_open=True),
                power_t=real("power_t", est.power_t, 0.0),
                tol=real("tol", est.tol, 0.0),
                momentum=real("momentum", est.momentum, 0.0, 1.0, hi_open=True),
                validation_fraction=real("validation_fraction", est.validation_fraction, 0.0,
                                         1.0, lo_open=True, hi_open=True),
                beta_1=real("beta_1", est.beta_1, 0.0, 1.0, hi_open=True),
                beta_2=real("beta_2", est.beta_2, 0.0, 1.0, hi_open=True),
                epsilon=real("epsilon", est.epsilon, 0.0, lo_open=True))


def check(est):
    """Every parameter of est checked, as the values mlp_fit gets (a namespace: the choices as
    given, the numbers converted, hidden the widths, rates the dropout of each hidden layer)."""
    _choices(est)
    hidden = hidden_sizes(est.hidden_layer_sizes)
    acts = activations(est.activation, len(hidden))
    loss, huber_delta = regression_loss(est)
    rates = dropout_rates(est.dropout, len(hidden))
    if est.solver == "lbfgs" and any(rates):
        raise ValueError("dropout=%r needs a stochastic solver ('adam' or 'sgd'): lbfgs "
                         "minimises the deterministic full-batch loss" % (est.dropout,))
    precision = est.precision
    if est.solver == "lbfgs" and precision != "f32":
        # lbfgs's line search compares losses and gradients closer than bf16's 8-bit
        # significand resolves them: on digits it stopped after 1 to 4 iterations (status 2) at
        # 15-26% training accuracy. 'auto' means the fastest precision that trains: f32 here
        if precision == "bf16":
            raise ValueError("precision='bf16' needs a stochastic solver ('adam' or 'sgd'): "
                             "lbfgs's line search needs the loss and gradient in float32 (with "
                             "bf16 GEMMs it stops after a few iterations); use precision='f32' "
                             "or 'auto' (f32 for lbfgs)")
        precision = "f32"
    p = SimpleNamespace(hidden=hidden, rates=rates, solver=est.solver,
                        activation=acts[0] if acts else "relu", activations=acts,
                        loss=loss, huber_delta=huber_delta, learning_rate=est.learning_rate,
                        early_stopping_metric=est.early_stopping_metric,
                        precision=precision,
                        shuffle=bool(est.shuffle), nesterovs_momentum=bool(est.nesterovs_momentum),
                        early_stopping=bool(est.early_stopping), verbose=bool(est.verbose))
    p.__dict__.update(_counts(est))
    p.__dict__.update(_reals(est))
    return p


def check_split(validation_fraction, n):
    """Early stopping's held-out rows as mlp_fit counts them, ceil(float32 fraction x n): at
    least one, and at least one training row left; else a ValueError naming validation_fraction
    (the float32 fraction can round to a side with no rows: 0.9999999999 is 1.0)."""
    f = to_float32(validation_fraction)
    n_val = math.ceil(f * n)
    if not 0 < n_val < n:
        raise ValueError("validation_fraction=%r (%r in float32) holds out %d of the %d rows: "
                         "early stopping needs at least one row on each side"
                         % (validation_fraction, f, n_val, n))
    return n_val
