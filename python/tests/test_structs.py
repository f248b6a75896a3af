"""The ctypes mirrors of mlp/_lib.py against the C headers, field by field.

The C API has no call that reports sizeof / offsetof, so a small C program including
include/mlp/fit.h prints them, and the enum values the package hard-codes; it is compiled with
the system's C compiler (skipped when there is none, or when the headers are not next to the
tests, as for an installed package). A second test checks the tail of the structs at run time
through the library itself (mlp_fit_options_default, and the epoch callback's new fields)."""
import ctypes
import os
import shutil
import subprocess

import numpy as np
import pytest

from mlp import _lib

INCLUDE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "include")

# ctypes mirror -> the C type it mirrors (field names are the C names)
STRUCTS = {
    _lib.FitOptions: "mlp_fit_options",
    _lib.FitResult: "mlp_fit_result",
    _lib.EpochInfo: "mlp_epoch_info",
    _lib.Optimizer: "mlp_optimizer",
    _lib.NetConfig: "mlp_net_config",
}
# the package's enum values -> the C names
ENUMS = dict(
    [("OPT_SGD", "MLP_OPT_SGD"), ("OPT_ADAM", "MLP_OPT_ADAM"), ("OPT_LBFGS", "MLP_OPT_LBFGS"),
     ("TASK_CLASSIFY", "MLP_TASK_CLASSIFY"), ("TASK_MULTILABEL", "MLP_TASK_MULTILABEL"),
     ("TASK_REGRESS", "MLP_TASK_REGRESS"), ("ERR_DIVERGED", "MLP_ERR_DIVERGED"),
     ("ERR_NOMEM", "MLP_ERR_NOMEM"), ("ERR_LIMIT", "MLP_ERR_LIMIT"),
     ("ERR_UNSUPPORTED", "MLP_ERR_UNSUPPORTED"), ("LOSS_SOFTMAX_CE", "MLP_LOSS_SOFTMAX_CE"),
     ("LOSS_LOGISTIC", "MLP_LOSS_LOGISTIC"), ("LOSS_SQUARED", "MLP_LOSS_SQUARED"),
     ("LOSS_POISSON", "MLP_LOSS_POISSON"), ("LOSS_HUBER", "MLP_LOSS_HUBER")])


def _c_layout(tmp_path):
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    if not os.path.exists(os.path.join(INCLUDE, "mlp", "fit.h")):
        pytest.skip("the mlp headers are not next to the tests")
    lines = ["#include <stddef.h>", "#include <stdio.h>", '#include "mlp/fit.h"',
             "int main(void) {"]
    for T, c in STRUCTS.items():
        lines.append('printf("%s sizeof %%zu\\n", sizeof(%s));' % (c, c))
        for name, _ in T._fields_:
            lines.append('printf("%s %s %%zu\\n", offsetof(%s, %s));' % (c, name, c, name))
    values = list(ENUMS.values()) + ["MLP_OPT_COUNT", "MLP_STOP_SCORE", "MLP_STOP_LOSS",
                                     "MLP_STOP_COUNT", "MLP_LR_CONSTANT", "MLP_LR_INVSCALING",
                                     "MLP_LR_ADAPTIVE", "MLP_PRECISION_COUNT"]
    values += ["MLP_ACT_" + a.upper() for a in _lib.ACT]
    values += ["MLP_PRECISION_" + p.upper() for p in _lib.PRECISION]
    for v in values:
        lines.append('printf("enum %s %%d\\n", (int)%s);' % (v, v))
    lines.append("return 0; }")
    src = tmp_path / "layout.c"
    src.write_text("\n".join(lines) + "\n")
    exe = tmp_path / "layout"
    subprocess.run([cc, "-I", INCLUDE, str(src), "-o", str(exe)], check=True,
                   capture_output=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    layout = {}
    for line in out.splitlines():
        a, b, v = line.split()
        layout[(a, b)] = int(v)
    return layout


def test_struct_mirrors_match_the_headers(tmp_path):
    layout = _c_layout(tmp_path)
    for T, c in STRUCTS.items():
        assert ctypes.sizeof(T) == layout[(c, "sizeof")], c
        for name, _ in T._fields_:
            assert getattr(T, name).offset == layout[(c, name)], (c, name)
        # no C field beyond the mirror's last one: the last field ends where the struct does
        # (up to the struct's alignment padding)
        last, ftype = T._fields_[-1]
        end = getattr(T, last).offset + ctypes.sizeof(ftype)
        assert layout[(c, "sizeof")] - end < ctypes.alignment(T), c


def test_enum_values_match_the_headers(tmp_path):
    layout = _c_layout(tmp_path)
    for py, c in ENUMS.items():
        assert getattr(_lib, py) == layout[("enum", c)], c
    assert layout[("enum", "MLP_OPT_COUNT")] == 3
    assert _lib.STOP_METRIC == {"score": layout[("enum", "MLP_STOP_SCORE")],
                                "loss": layout[("enum", "MLP_STOP_LOSS")]}
    assert layout[("enum", "MLP_STOP_COUNT")] == len(_lib.STOP_METRIC)
    assert _lib.LR == {"constant": layout[("enum", "MLP_LR_CONSTANT")],
                       "invscaling": layout[("enum", "MLP_LR_INVSCALING")],
                       "adaptive": layout[("enum", "MLP_LR_ADAPTIVE")]}
    for name, v in _lib.ACT.items():
        assert v == layout[("enum", "MLP_ACT_" + name.upper())], name
    for name, v in _lib.PRECISION.items():
        assert v == layout[("enum", "MLP_PRECISION_" + name.upper())], name
        assert _lib.lib.mlp_precision_name(v).decode() == name
    assert layout[("enum", "MLP_PRECISION_COUNT")] == len(_lib.PRECISION)
    assert set(_lib.REGRESSION_LOSS.values()) == {layout[("enum", "MLP_LOSS_SQUARED")],
                                                  layout[("enum", "MLP_LOSS_POISSON")],
                                                  layout[("enum", "MLP_LOSS_HUBER")]}


def test_struct_tails_at_run_time():
    """Without a compiler: the defaults of the new last fields of mlp_fit_options (interrupt
    NULL), and the new last fields of mlp_epoch_info and mlp_fit_result as mlp_fit fills them."""
    o = _lib.lib.mlp_fit_options_default()
    assert o.max_fun == 15000 and o.early_stopping_metric == 0 and not o.sample_weight
    assert o.max_iter == 200 and o.n_iter_no_change == 10 and o.opt.kind == _lib.OPT_ADAM
    assert o.dropout == 0.0 and o.opt.lr == pytest.approx(1e-3)
    assert not o.interrupt  # NULL: never interrupted
    assert o.precision == _lib.PRECISION["f32"]
    # issue 23's fields: squared error, Huber's delta 1, no per-layer activations, no
    # validation set
    assert o.loss == _lib.LOSS_SQUARED and o.huber_delta == 1.0 and not o.activations
    assert not o.val_X and not o.val_labels and not o.val_Y and not o.val_sample_weight
    assert o.val_n == 0

    rng = np.random.RandomState(0)
    X = np.ascontiguousarray(rng.randn(100, 4), dtype=np.float32)
    labels = np.ascontiguousarray(X[:, 0] > 0, dtype=np.int32)
    seen = []

    def cb(info, user):
        i = info.contents
        seen.append((i.epoch, i.loss, i.val_score, i.val_loss, i.lr))
        return 0

    o.hidden = (ctypes.c_size_t * 1)(8)
    o.n_hidden = 1
    o.max_iter = 5
    o.early_stopping = 1
    o.opt.lr = 0.01
    o.callback = _lib.EPOCH_CALLBACK(cb)
    f32 = ctypes.POINTER(ctypes.c_float)
    net, res = ctypes.c_void_p(), _lib.FitResult()
    _lib.check(_lib.lib.mlp_fit(ctypes.byref(net), _lib.TASK_CLASSIFY, X.ctypes.data_as(f32),
                                labels.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)), None,
                                100, 4, 2, ctypes.byref(o), ctypes.byref(res)), "mlp_fit")
    try:
        # n_val: ceil(validation_fraction * n) with the float32 fraction (0.1f * 100 -> 11)
        assert res.epochs == 5 and res.n_val + res.n_train == 100 and res.n_val in (10, 11)
        assert [s[0] for s in seen] == [1, 2, 3, 4, 5]
        for epoch, loss, score, vloss, lr in seen:
            assert np.isfinite(loss) and 0.0 <= score <= 1.0
            assert np.isfinite(vloss) and vloss > 0.0
            assert lr == pytest.approx(0.01)
        vl = np.ctypeslib.as_array(res.val_losses, (5,))
        vs = np.ctypeslib.as_array(res.val_scores, (5,))
        assert list(vl) == [s[3] for s in seen] and list(vs) == [s[2] for s in seen]
        assert res.best_val_loss == pytest.approx(vl.min())
        assert np.isfinite(res.best_val_score) and res.steps == 5  # one batch per epoch
        assert res.interrupted == 0
    finally:
        _lib.lib.mlp_fit_result_free(ctypes.byref(res))
        _lib.lib.mlp_net_free(net)
