"""ctypes binding of libmlp.so: the few calls and structs the estimators use.

The library is found, in this order: the file named by the MLP_LIBRARY environment variable;
libmlp.so* next to this file (where scripts/python.sh and pyproject.toml put it); the system's
libmlp (ctypes.util.find_library("mlp"), for example after `cmake --install`).

ctypes.CDLL releases the GIL for the duration of every foreign call, so a long mlp_fit in one
Python thread does not block other Python threads (tests/test_api.py checks it).
"""
import ctypes
import ctypes.util
import glob
import os
import warnings

__all__ = ["lib", "MLPError", "MLPDivergedError", "MLPUnsupportedError", "check", "error", "Net",
           "FitOptions", "FitResult", "Optimizer", "NetConfig", "EPOCH_CALLBACK", "EpochInfo",
           "library_path", "bf16_available"]

# Enums of mlp.h / fit.h (the values are part of the C API).
OPT_SGD, OPT_ADAM, OPT_LBFGS = 0, 1, 2  # mlp_optimizer_kind (MLP_OPT_COUNT is 3)
STOP_METRIC = {"score": 0, "loss": 1}  # mlp_stop_metric: MLP_STOP_SCORE, MLP_STOP_LOSS
LR = {"constant": 0, "invscaling": 1, "adaptive": 2}
TASK_CLASSIFY, TASK_MULTILABEL, TASK_REGRESS = 0, 1, 2
# mlp_status values the package maps to exception classes (error())
ERR_NOMEM, ERR_DIVERGED, ERR_LIMIT, ERR_UNSUPPORTED = 5, 9, 10, 12
PRECISION = {"f32": 0, "bf16": 1, "auto": 2}  # mlp_precision (MLP_PRECISION_COUNT is 3)
PRECISION_NAME = {v: k for k, v in PRECISION.items()}
# mlp_loss: scikit-learn's MLPRegressor loss names (1.7) -> the C values
LOSS_SOFTMAX_CE, LOSS_LOGISTIC, LOSS_SQUARED, LOSS_POISSON, LOSS_HUBER = 0, 1, 2, 3, 4
REGRESSION_LOSS = {"squared_error": LOSS_SQUARED, "poisson": LOSS_POISSON, "huber": LOSS_HUBER}


def _find_library():
    env = os.environ.get("MLP_LIBRARY")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    local = sorted(glob.glob(os.path.join(here, "libmlp.so*")), key=len)
    if local:
        return local[0]
    found = ctypes.util.find_library("mlp")
    if found:
        return found
    raise ImportError(
        "mlp: libmlp.so not found: not next to the package (%s), MLP_LIBRARY is not set and "
        "ctypes.util.find_library('mlp') finds nothing; run `bash scripts/python.sh` in the mlp "
        "repository or see docs/PYTHON.md" % here)


library_path = _find_library()
lib = ctypes.CDLL(library_path)
lib.mlp_blas_corename.restype = ctypes.c_char_p
lib.mlp_blas_corename.argtypes = []


def _cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def _check_blas_kernels():
    """OpenBLAS before 0.3.25 (Debian 12: 0.3.21) falls back to its SSE3 Prescott kernels on Intel
    CPUs whose model it does not know (Sapphire / Emerald Rapids; OpenBLAS issue #4267): about 3x
    slower training. OpenBLAS chose when libmlp loaded it, so all the package can do is say how
    to get the right kernels (the mlp tool re-executes itself instead)."""
    core = lib.mlp_blas_corename().decode()
    if core != "Prescott" or "OPENBLAS_CORETYPE" in os.environ:
        return
    flags = _cpu_flags()
    kernels = "SkylakeX" if "avx512f" in flags else "Haswell" if "avx2" in flags else None
    if kernels:
        warnings.warn(
            "mlp: OpenBLAS chose its Prescott (SSE3) kernels on this %s CPU (an OpenBLAS < 0.3.25 "
            "that does not know its model): training runs about 3x slower. Set "
            "OPENBLAS_CORETYPE=%s in the environment before starting Python (docs/PYTHON.md)."
            % ("AVX-512" if kernels == "SkylakeX" else "AVX2", kernels), RuntimeWarning,
            stacklevel=3)


_check_blas_kernels()


# The struct mirrors below must match mlp.h / fit.h field by field (names, types, order):
# tests/test_structs.py compares every offset and size with the headers'.
class Optimizer(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_int), ("lr", ctypes.c_float), ("alpha", ctypes.c_float),
                ("momentum", ctypes.c_float), ("nesterov", ctypes.c_int),
                ("beta1", ctypes.c_float), ("beta2", ctypes.c_float), ("eps", ctypes.c_float)]


class EpochInfo(ctypes.Structure):
    _fields_ = [("epoch", ctypes.c_size_t), ("loss", ctypes.c_float),
                ("val_score", ctypes.c_float), ("seconds", ctypes.c_double),
                ("samples_per_s", ctypes.c_double), ("val_loss", ctypes.c_float),
                ("lr", ctypes.c_float)]


EPOCH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(EpochInfo), ctypes.c_void_p)


class FitOptions(ctypes.Structure):
    _fields_ = [("n_hidden", ctypes.c_size_t), ("hidden", ctypes.POINTER(ctypes.c_size_t)),
                ("activation", ctypes.c_int), ("opt", Optimizer),
                ("batch_size", ctypes.c_size_t), ("schedule", ctypes.c_int),
                ("power_t", ctypes.c_float), ("max_iter", ctypes.c_size_t),
                ("shuffle", ctypes.c_int), ("seed", ctypes.c_uint64), ("tol", ctypes.c_float),
                ("n_iter_no_change", ctypes.c_size_t), ("early_stopping", ctypes.c_int),
                ("validation_fraction", ctypes.c_float), ("init", ctypes.c_int),
                ("callback", EPOCH_CALLBACK), ("user", ctypes.c_void_p),
                ("dropout", ctypes.c_float), ("max_fun", ctypes.c_size_t),
                ("early_stopping_metric", ctypes.c_int),
                ("sample_weight", ctypes.POINTER(ctypes.c_float)),
                ("interrupt", ctypes.POINTER(ctypes.c_int)),  # const volatile int *
                ("precision", ctypes.c_int), ("loss", ctypes.c_int),
                ("huber_delta", ctypes.c_float), ("activations", ctypes.POINTER(ctypes.c_int)),
                ("val_X", ctypes.POINTER(ctypes.c_float)),
                ("val_labels", ctypes.POINTER(ctypes.c_int32)),
                ("val_Y", ctypes.POINTER(ctypes.c_float)),
                ("val_sample_weight", ctypes.POINTER(ctypes.c_float)),
                ("val_n", ctypes.c_size_t)]


class FitResult(ctypes.Structure):
    _fields_ = [("epochs", ctypes.c_size_t), ("converged", ctypes.c_int),
                ("stopped_by_callback", ctypes.c_int), ("loss", ctypes.c_float),
                ("best_loss", ctypes.c_float), ("best_val_score", ctypes.c_float),
                ("best_val_loss", ctypes.c_float),
                ("loss_curve", ctypes.POINTER(ctypes.c_float)),
                ("val_scores", ctypes.POINTER(ctypes.c_float)),
                ("val_losses", ctypes.POINTER(ctypes.c_float)), ("steps", ctypes.c_size_t),
                ("seconds", ctypes.c_double), ("samples_per_s", ctypes.c_double),
                ("batch_size", ctypes.c_size_t), ("n_train", ctypes.c_size_t),
                ("n_val", ctypes.c_size_t), ("interrupted", ctypes.c_int)]


class NetConfig(ctypes.Structure):
    _fields_ = [("n_layers", ctypes.c_size_t), ("sizes", ctypes.POINTER(ctypes.c_size_t)),
                ("activations", ctypes.POINTER(ctypes.c_int)), ("loss", ctypes.c_int),
                ("init", ctypes.c_int), ("seed", ctypes.c_uint64)]


_p = ctypes.c_void_p
_fp = ctypes.POINTER(ctypes.c_float)
_sz = ctypes.c_size_t
_st = ctypes.c_int


def _sig(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


_sig("mlp_version", ctypes.c_char_p)
_sig("mlp_strerror", ctypes.c_char_p, ctypes.c_int)
_sig("mlp_last_error", ctypes.c_char_p)
_sig("mlp_net_free", None, _p)
_sig("mlp_net_clone", _st, ctypes.POINTER(_p), _p)
_sig("mlp_net_n_layers", _sz, _p)
_sig("mlp_net_input_size", _sz, _p)
_sig("mlp_net_output_size", _sz, _p)
_sig("mlp_net_layer_shape", _st, _p, _sz, ctypes.POINTER(_sz), ctypes.POINTER(_sz),
     ctypes.POINTER(ctypes.c_int))
_sig("mlp_net_layer_params", _st, _p, _sz, ctypes.POINTER(_fp), ctypes.POINTER(_fp))
_sig("mlp_net_step_count", ctypes.c_uint64, _p)
_sig("mlp_predict", _st, _p, _fp, _sz, _fp)
_sig("mlp_fit_options_default", FitOptions)
_sig("mlp_fit_result_free", None, ctypes.POINTER(FitResult))
_sig("mlp_fit", _st, ctypes.POINTER(_p), ctypes.c_int, _fp, ctypes.POINTER(ctypes.c_int32), _fp,
     _sz, _sz, _sz, ctypes.POINTER(FitOptions), ctypes.POINTER(FitResult))
_sig("mlp_activation_name", ctypes.c_char_p, ctypes.c_int)
# The activation names are the library's (mlp_activation_name): one table for C, the CLI and
# Python, in mlp_activation's order.
ACT = {}
for _v in range(256):
    _name = lib.mlp_activation_name(_v)
    if _name is None:
        break
    ACT[_name.decode()] = _v
ACT_NAME = {v: k for k, v in ACT.items()}
_sig("mlp_model_save_mem", _st, _p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t), _p, _p, _p)
_sig("mlp_model_load_mem", _st, ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(_p), _p, _p)
_sig("mlp_set_num_threads", _st, ctypes.c_int)
_sig("mlp_net_create", _st, ctypes.POINTER(_p), ctypes.POINTER(NetConfig))
_sig("mlp_task_output", _st, ctypes.c_int, _sz, ctypes.POINTER(ctypes.c_int),
     ctypes.POINTER(ctypes.c_int), ctypes.POINTER(_sz))
_sig("mlp_net_set_dropout", _st, _p, _sz, ctypes.c_float)
_sig("mlp_net_dropout", ctypes.c_float, _p, _sz)
_sig("mlp_get_num_threads", ctypes.c_int)
_sig("mlp_blas_is_openmp", ctypes.c_int)
_sig("mlp_net_step_threads", ctypes.c_int, _p, _sz)
_sig("mlp_net_precision", ctypes.c_int, _p)
_sig("mlp_net_set_predict_precision", _st, _p, ctypes.c_int)
_sig("mlp_net_predict_precision", ctypes.c_int, _p)
_sig("mlp_precision_supported", ctypes.c_int, ctypes.c_int)
_sig("mlp_precision_isa", ctypes.c_char_p)
_sig("mlp_precision_name", ctypes.c_char_p, ctypes.c_int)
_sig("mlp_net_loss", ctypes.c_int, _p)
_sig("mlp_net_huber_delta", ctypes.c_float, _p)
_sig("mlp_net_set_huber_delta", _st, _p, ctypes.c_float)
_sig("mlp_fit_validation_rows", _st, ctypes.c_int, ctypes.POINTER(ctypes.c_int32), _sz, _sz,
     ctypes.POINTER(FitOptions), ctypes.POINTER(_sz), ctypes.POINTER(_sz))
_sig("mlp_loss_value", _st, _p, _fp, _fp, _sz, _fp)
_sig("mlp_class_weights", _st, ctypes.POINTER(ctypes.c_int32), _sz, _sz,
     ctypes.POINTER(ctypes.c_double), _fp, ctypes.POINTER(ctypes.c_double))

try:
    # libgomp's, found through libmlp (a dependency of it): sets the calling thread's OpenMP
    # thread count only, which OpenBLAS's OpenMP build follows too
    _omp_set_num_threads = _sig("omp_set_num_threads", None, ctypes.c_int)
except AttributeError:
    _omp_set_num_threads = None


def set_openmp_threads(n):
    """The calling thread's OpenMP thread count becomes n (an OpenMP setting is per thread: a
    new thread starts from OMP_NUM_THREADS, not from its creator's count). Without a reachable
    omp_set_num_threads, mlp_set_num_threads(n), which also sets OpenBLAS's process-wide count."""
    if _omp_set_num_threads is not None:
        _omp_set_num_threads(n)
    else:
        check(lib.mlp_set_num_threads(n), "mlp_set_num_threads")


def per_thread_counts():
    """Whether a thread count can be set for the calling thread alone (omp_set_num_threads)
    and OpenBLAS follows it (its OpenMP build): then a fit's threads=n changes no process-wide
    setting (mlp_set_num_threads sets OpenBLAS's own count too)."""
    return _omp_set_num_threads is not None and bool(lib.mlp_blas_is_openmp())


class MLPError(RuntimeError):
    """A libmlp call failed: .status is the mlp_status, the message mlp_last_error()'s."""

    def __init__(self, status, where, message):
        self.status = status
        super().__init__("%s: %s: %s" % (where, lib.mlp_strerror(status).decode(), message))


class MLPDivergedError(MLPError, ValueError):
    """mlp_fit diverged (MLP_ERR_DIVERGED): a ValueError, as scikit-learn's "Solver produced
    non-finite parameter weights"."""


class MLPUnsupportedError(MLPError, ValueError):
    """This CPU or this build of libmlp cannot do what was asked (MLP_ERR_UNSUPPORTED), for
    example precision='bf16' without oneDNN or without AVX512_BF16 / AMX: a ValueError (the
    parameter's value is not possible here), with the library's reason."""


def error(status, where, message):
    """The exception for a failed call: MLP_ERR_LIMIT (the memory limit, mlp_set_memory_limit)
    and MLP_ERR_NOMEM are Python's MemoryError (scikit-learn's and numpy's type for this; .status
    set), MLP_ERR_DIVERGED an MLPDivergedError, MLP_ERR_UNSUPPORTED an MLPUnsupportedError, any
    other an MLPError. message: mlp_last_error() of the thread that made the call."""
    if status in (ERR_LIMIT, ERR_NOMEM):
        # the library's message names the call and the size (e.g. "mlp_fit: training needs
        # ... bytes (...), more than the memory limit of ... bytes")
        e = MemoryError(message or "%s: %s" % (where, lib.mlp_strerror(status).decode()))
        e.status = status
        return e
    cls = {ERR_DIVERGED: MLPDivergedError, ERR_UNSUPPORTED: MLPUnsupportedError}.get(status,
                                                                                    MLPError)
    return cls(status, where, message)


def check(status, where):
    if status != 0:
        raise error(status, where, lib.mlp_last_error().decode("utf-8", "replace"))


def bf16_available():
    """(whether precision='bf16' can train here, the reason): mlp_precision_supported(BF16) and
    mlp_precision_isa(), e.g. (True, 'avx512_core_amx') or (False, 'no oneDNN in this build
    (Debian: libdnnl-dev)')."""
    return (bool(lib.mlp_precision_supported(PRECISION["bf16"])),
            lib.mlp_precision_isa().decode("utf-8", "replace"))


def version():
    return lib.mlp_version().decode()


class Net:
    """Owns one mlp_net* (freed with mlp_net_free when this object goes). The C memory lives
    exactly as long as this object: a call that passes .ptr to C keeps a reference to the
    object for the duration of the call (a local variable), so a net that an estimator drops in
    a refit is freed when the last call using it returns, never under it."""

    # requested_predict_precision: the value set_predict_precision was last given ('auto'
    # included), so that an estimator sets it once per value
    __slots__ = ("ptr", "requested_predict_precision")

    def __init__(self, ptr):
        self.ptr = ptr
        self.requested_predict_precision = "f32"

    def __del__(self):
        if self.ptr:
            lib.mlp_net_free(self.ptr)
            self.ptr = None

    @classmethod
    def create(cls, d, hidden, activations, task, k, init, seed, loss=LOSS_SQUARED,
               huber_delta=1.0):
        """The net mlp_fit would create (fit.c's create_net): d inputs, the hidden layers with
        their activations (names, one per hidden layer), the task's output layer and loss
        (mlp_task_output; a regressor's loss: POISSON with exp outputs, HUBER with its delta)."""
        out_act, task_loss, width = ctypes.c_int(), ctypes.c_int(), _sz()
        check(lib.mlp_task_output(task, k, ctypes.byref(out_act), ctypes.byref(task_loss),
                                  ctypes.byref(width)), "mlp_task_output")
        net_loss = task_loss.value
        if task == TASK_REGRESS and loss != LOSS_SQUARED:
            net_loss = loss
            if loss == LOSS_POISSON:
                out_act.value = ACT["exp"]
        L = len(hidden) + 1
        sizes = (_sz * (L + 1))(d, *hidden, width.value)
        acts = (ctypes.c_int * L)(*([ACT[a] for a in activations] + [out_act.value]))
        cfg = NetConfig(L, sizes, acts, net_loss, init, seed)
        ptr = _p()
        check(lib.mlp_net_create(ctypes.byref(ptr), ctypes.byref(cfg)), "mlp_net_create")
        net = cls(ptr.value)
        if net_loss == LOSS_HUBER:
            check(lib.mlp_net_set_huber_delta(net.ptr, huber_delta), "mlp_net_set_huber_delta")
        return net

    def loss(self):
        """The net's mlp_loss value."""
        return int(lib.mlp_net_loss(self.ptr))

    def huber_delta(self):
        return float(lib.mlp_net_huber_delta(self.ptr))

    def clone(self):
        """A deep copy (mlp_net_clone: weights, dropout, optimizer settings and state)."""
        ptr = _p()
        check(lib.mlp_net_clone(ctypes.byref(ptr), self.ptr), "mlp_net_clone")
        return Net(ptr.value)

    def set_dropout(self, rates):
        """Dropout probability of each hidden layer (mlp_net_set_dropout; kept in model files)."""
        for l, p in enumerate(rates):
            check(lib.mlp_net_set_dropout(self.ptr, l, float(p)), "mlp_net_set_dropout")

    def dropout(self):
        return [float(lib.mlp_net_dropout(self.ptr, l))
                for l in range(lib.mlp_net_n_layers(self.ptr) - 1)]

    def layers(self):
        """[(in, out, activation name)] per weight layer."""
        out = []
        for l in range(lib.mlp_net_n_layers(self.ptr)):
            i, o, a = _sz(), _sz(), ctypes.c_int()
            check(lib.mlp_net_layer_shape(self.ptr, l, ctypes.byref(i), ctypes.byref(o),
                                          ctypes.byref(a)), "mlp_net_layer_shape")
            out.append((i.value, o.value, ACT_NAME.get(a.value, str(a.value))))
        return out

    def layer_params(self, layer):
        """(W, b) of one layer, copied out as numpy float32 arrays of shapes (in, out), (out,)."""
        import numpy as np
        i, o, _ = self.layers()[layer]
        W, b = _fp(), _fp()
        check(lib.mlp_net_layer_params(self.ptr, layer, ctypes.byref(W), ctypes.byref(b)),
              "mlp_net_layer_params")
        return (np.ctypeslib.as_array(W, shape=(i, o)).copy(),
                np.ctypeslib.as_array(b, shape=(o,)).copy())

    def step_count(self):
        return int(lib.mlp_net_step_count(self.ptr))

    def precision(self):
        """'f32' or 'bf16': the arithmetic of the net's training GEMMs (mlp_net_precision)."""
        v = lib.mlp_net_precision(self.ptr)
        return PRECISION_NAME.get(v, str(v))

    def predict_precision(self):
        """'f32' or 'bf16': the arithmetic of mlp_predict on this net
        (mlp_net_predict_precision)."""
        v = lib.mlp_net_predict_precision(self.ptr)
        return PRECISION_NAME.get(v, str(v))

    def set_predict_precision(self, name):
        """mlp_net_set_predict_precision: 'f32', 'bf16' or 'auto' (a ValueError where bf16 is
        not available, naming why)."""
        check(lib.mlp_net_set_predict_precision(self.ptr, PRECISION[name]),
              "mlp_net_set_predict_precision")
        self.requested_predict_precision = name

    def to_bytes(self):
        """The model file's bytes (mlp_model_save_mem: the same format and checks as a file; no
        temporary file)."""
        size = ctypes.c_size_t()
        check(lib.mlp_model_save_mem(None, 0, ctypes.byref(size), self.ptr, None, None),
              "mlp_model_save_mem")
        buf = ctypes.create_string_buffer(size.value)
        check(lib.mlp_model_save_mem(buf, size.value, ctypes.byref(size), self.ptr, None, None),
              "mlp_model_save_mem")
        return buf.raw[:size.value]

    @classmethod
    def from_bytes(cls, data):
        data = bytes(data)
        ptr = _p()
        check(lib.mlp_model_load_mem(data, len(data), ctypes.byref(ptr), None, None),
              "mlp_model_load_mem")
        return cls(ptr.value)
