"""ONNX export of a fitted estimator (BaseMLP.to_onnx): libmlp's mlp_model_export_onnx_mem writes
the model (docs/ONNX.md: the graph, its inputs and outputs), and mlp_file_save saves it by the
rules of model files (never a half-written file). The class list goes with a classifier:
numbers (int64 labels for whole numbers, else double) or strings."""
import ctypes
import os

import numpy as np

from . import _lib


class Classes(ctypes.Structure):
    """mlp_classes (data.h)."""
    _fields_ = [("kind", ctypes.c_int), ("n", ctypes.c_size_t),
                ("values", ctypes.POINTER(ctypes.c_double)),
                ("names", ctypes.POINTER(ctypes.c_char_p))]


class OnnxOptions(ctypes.Structure):
    """mlp_onnx_options (model.h)."""
    _fields_ = [("input_name", ctypes.c_char_p), ("graph_name", ctypes.c_char_p)]


CLASSES_NONE, CLASSES_NUMBERS, CLASSES_NAMES = 0, 1, 2

_lib._sig("mlp_model_export_onnx_mem", ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t,
          ctypes.POINTER(ctypes.c_size_t), ctypes.c_void_p, ctypes.c_void_p,
          ctypes.POINTER(Classes), ctypes.POINTER(OnnxOptions))
_lib._sig("mlp_file_save", ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t,
          ctypes.c_char_p)


def _classes(model):
    """(Classes, what keeps its arrays alive) for a single-label classifier; (None, None) for a
    regressor or a multi-label classifier (their outputs carry no class list)."""
    classes = getattr(model, "classes_", None)
    if classes is None or getattr(model, "_multilabel", False):
        return None, None
    classes = np.asarray(classes)
    if classes.dtype.kind in "biuf":
        values = np.ascontiguousarray(classes, dtype=np.float64)
        c = Classes(CLASSES_NUMBERS, len(values),
                    values.ctypes.data_as(ctypes.POINTER(ctypes.c_double)), None)
        return c, values
    if not all(isinstance(v, str) for v in classes.tolist()):
        raise TypeError("to_onnx: classes_ must be numbers or strings, got %s" % classes.dtype)
    encoded = [v.encode("utf-8") for v in classes.tolist()]
    if any(b"\0" in v for v in encoded):
        raise ValueError("to_onnx: a class name holds a NUL character: %r" % (classes,))
    names = (ctypes.c_char_p * len(encoded))(*encoded)
    return Classes(CLASSES_NAMES, len(encoded), None, names), (names, encoded)


def model_bytes(model, input_name="X"):
    """The ONNX model of a fitted estimator view (BaseMLP._model()) as bytes."""
    net = model._require_net("to_onnx")
    classes, keep = _classes(model)
    opts = OnnxOptions(str(input_name).encode("utf-8"), b"mlp")
    cp = ctypes.byref(classes) if classes is not None else None
    size = ctypes.c_size_t()
    _lib.check(_lib.lib.mlp_model_export_onnx_mem(None, 0, ctypes.byref(size), net.ptr, None, cp,
                                                  ctypes.byref(opts)),
               "mlp_model_export_onnx_mem")
    buf = ctypes.create_string_buffer(size.value)
    _lib.check(_lib.lib.mlp_model_export_onnx_mem(buf, size.value, ctypes.byref(size), net.ptr,
                                                  None, cp, ctypes.byref(opts)),
               "mlp_model_export_onnx_mem")
    del keep
    return buf.raw[:size.value]


def to_onnx(estimator, path=None, input_name="X"):
    """Writes the ONNX model to path (if not None; atomically, as model files) and returns it: an
    onnx.ModelProto where the onnx package imports (Debian: python3-onnx), else its bytes."""
    data = model_bytes(estimator._model(), input_name)
    if path is not None:
        _lib.check(_lib.lib.mlp_file_save(os.fsencode(os.fspath(path)), data, len(data),
                                          b"to_onnx"), "to_onnx")
    try:
        import onnx
    except ImportError:
        return data
    return onnx.load_from_string(data)
