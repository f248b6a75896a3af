"""est.to_onnx: the ONNX model of a fitted estimator, checked by onnx's checker (Debian's
python3-onnx) and run by ONNX Runtime (npm's onnxruntime-node, installed into build-python/):
probabilities within 1e-5 of predict_proba, labels equal to predict, regression outputs within
1e-5, for every hidden activation and every task (multi-class, binary, multi-label, multi-output
regression; integer, float and string labels); dropout left out; bad paths refused
with nothing written. The ONNX Runtime part is skipped only where Node.js or npm is missing."""
import os
import sys

import numpy as np
import pytest

import mlp

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tests", "onnx"))
import ort_node  # noqa: E402

onnx = pytest.importorskip("onnx", reason="Debian's python3-onnx (scripts/setup.sh installs it)")

NODE_DIR = os.path.join(ROOT, "build-python", "onnx-node")
ACTIVATIONS = ["identity", "relu", "logistic", "tanh", "leaky_relu", "gelu"]
TASKS = ["multiclass_str", "multiclass_float", "binary_int", "multilabel", "regress2"]
TOL = 1e-5


def data(task, rng):
    X = (rng.normal(size=(160, 6)) * [1, 10, 100, 0.1, 5, 1]).astype(np.float32)
    s = (X - X.mean(0)) / X.std(0) @ rng.normal(size=(6, 3))
    if task == "multiclass_str":
        y = np.array(["ant", "bee", "cat"])[s.argmax(1)]
    elif task == "multiclass_float":
        y = np.array([-2.0, 1.0, 30.0])[s.argmax(1)]  # float labels, whole numbers
    elif task == "binary_int":
        y = np.where(s[:, 0] > 0, 7, -3)
    elif task == "multilabel":
        y = (s > 0).astype(int)
    else:
        y = s[:, :2] * [2, 30]
    return X[:120], y[:120], X[120:]


def fitted(task, act, rng, **kw):
    X, y, Xt = data(task, rng)
    cls = mlp.MLPRegressor if task.startswith("regress") else mlp.MLPClassifier
    est = cls(hidden_layer_sizes=(7, 5), activation=act, max_iter=40, random_state=1, **kw)
    return est.fit(X, y), Xt


def expected(est, Xt):
    if isinstance(est, mlp.MLPRegressor):
        return {"variable": est.predict(Xt).reshape(len(Xt), -1)}
    return {"probabilities": est.predict_proba(Xt), "label": est.predict(Xt)}


def compare(name, want, answer):
    assert "error" not in answer, "%s: ONNX Runtime: %s" % (name, answer.get("error"))
    outs = answer["outputs"]
    for key in ("probabilities", "variable"):
        if key in want:
            got = np.array(outs[key]["data"], dtype=np.float64).reshape(outs[key]["dims"])
            err = np.abs(got - want[key]) / np.maximum(1.0, np.abs(want[key]))
            assert err.max() <= TOL, "%s: %s off by %.3g" % (name, key, err.max())
    if "label" in want:
        got = np.array(outs["label"]["data"]).reshape(want["label"].shape)
        assert np.array_equal(got, want["label"]), "%s: labels %s vs %s" % (
            name, got[:6], want["label"][:6])


@pytest.fixture(scope="module")
def ort_dir():
    try:
        ort_node.ensure(NODE_DIR)
    except ort_node.Unavailable as e:
        pytest.skip("ONNX Runtime comparison skipped: %s" % e)
    return NODE_DIR


def test_every_task_and_activation_runs_in_onnx_runtime(tmp_path, ort_dir):
    rng = np.random.default_rng(5)
    jobs, wants, names = [], [], []
    for task in TASKS:
        for act in ACTIVATIONS:
            est, Xt = fitted(task, act, rng)
            path = str(tmp_path / ("%s_%s.onnx" % (task, act)))
            model = est.to_onnx(path)
            onnx.checker.check_model(onnx.load(path), full_check=True)
            assert onnx.load(path) == model  # the file holds the model returned
            jobs.append({"model": path, "input": "X", "rows": Xt.tolist()})
            wants.append(expected(est, Xt))
            names.append(path)
    for name, want, answer in zip(names, wants, ort_node.run(ort_dir, jobs)):
        compare(name, want, answer)


def test_outputs_and_label_types():
    rng = np.random.default_rng(1)
    types = {}
    for task in TASKS:
        est, _ = fitted(task, "relu", rng)
        outs = {o.name: o.type.tensor_type.elem_type for o in est.to_onnx().graph.output}
        types[task] = outs
    T = onnx.TensorProto
    assert types["multiclass_str"] == {"label": T.STRING, "probabilities": T.FLOAT}
    assert types["multiclass_float"]["label"] == T.INT64  # whole numbers
    assert types["binary_int"]["label"] == T.INT64
    assert types["multilabel"] == {"label": T.INT64, "probabilities": T.FLOAT}
    assert types["regress2"] == {"variable": T.FLOAT}


def test_dropout_exports_the_inference_graph(tmp_path, ort_dir):
    est, Xt = fitted("multiclass_str", "relu", np.random.default_rng(2), dropout=0.4)
    path = str(tmp_path / "dropout.onnx")
    model = est.to_onnx(path, input_name="features")
    assert [i.name for i in model.graph.input] == ["features"]
    assert not any(n.op_type == "Dropout" for n in model.graph.node)
    (answer,) = ort_node.run(ort_dir, [{"model": path, "input": "features", "rows": Xt.tolist()}])
    compare(path, expected(est, Xt), answer)


def test_refusals_write_nothing(tmp_path):
    with pytest.raises(AttributeError):
        mlp.MLPClassifier().to_onnx(str(tmp_path / "unfitted.onnx"))
    est, _ = fitted("binary_int", "tanh", np.random.default_rng(3))
    with pytest.raises(mlp.MLPError, match="no_such_dir"):
        est.to_onnx(str(tmp_path / "no_such_dir" / "m.onnx"))
    keep = tmp_path / "keep.onnx"
    keep.write_text("old")
    with pytest.raises(mlp.MLPError, match="input name"):
        est.to_onnx(str(keep), input_name="1x")
    assert keep.read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["keep.onnx"]
