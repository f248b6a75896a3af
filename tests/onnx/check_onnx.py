"""ctest "onnx_export": `mlp export` checked by real consumers (run by /usr/bin/python3).

For every hidden activation and every task (multi-class, binary, multi-label, multi-output and
single-output regression; whole-number and string labels (fractional ones: python/tests/test_onnx.py); no scaling, standard and
min-max scaling; with dropout) the mlp tool trains a small model on synthetic data, exports it,
and then:
  - onnx.checker.check_model(full_check=True) accepts the file (Debian's python3-onnx);
  - ONNX Runtime (npm's onnxruntime-node, installed into the build tree) runs it: probabilities
    within 1e-5 of `mlp predict --proba`, labels equal to `mlp predict`'s, regression outputs
    within 1e-5 (relative beyond 1).
Bad input: a model file failing its checksum, an unwritable path, a bad input name: a clear
error, and nothing written. Only the ONNX Runtime part is skipped (exit 77) where Node.js or npm
is missing.

usage: check_onnx.py MLP_BINARY WORK_DIR NODE_DIR
"""
import csv
import io
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ort_node  # noqa: E402

try:
    import onnx
except ImportError:
    sys.exit("check_onnx: cannot import onnx: install Debian's python3-onnx (scripts/setup.sh "
             "installs it)")

ACTIVATIONS = ["identity", "relu", "logistic", "tanh", "leaky_relu", "gelu"]
SCALES = ["none", "standard", "minmax"]
D, N_TRAIN, N_TEST = 5, 150, 40
TOL = 1e-5


def run(cmd, ok=True):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if ok and r.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (" ".join(cmd), r.returncode, r.stderr))
    return r


def make_data(task, rng):
    """(X_train, train label columns as text, X_test, label kind for the CLI)."""
    X = rng.normal(size=(N_TRAIN + N_TEST, D)) * [1, 10, 100, 0.1, 5] + [0, 5, -50, 1, 2]
    z = (X - X.mean(0)) / X.std(0)
    s = z @ rng.normal(size=(D, 3))
    if task == "multiclass_int":
        y = [[str([3, 7, 10][i])] for i in s.argmax(1)]
    elif task == "multiclass_str":
        y = [[["cat", "dog", "sea lion"][i]] for i in s.argmax(1)]
    elif task == "binary_int":
        y = [["1" if v > 0 else "-1"] for v in s[:, 0]]
    elif task == "binary_str":
        y = [["yes" if v > 0 else "no"] for v in s[:, 0]]
    elif task == "multilabel":
        y = [["1" if v > 0 else "0" for v in row] for row in s]
    elif task == "regress_poisson":  # counts-like targets >= 0 (Poisson's exp output)
        y = [["%.6g" % np.exp(0.5 * v)] for v in s[:, 0]]
    elif task == "regress2":
        y = [["%.6g" % v for v in row[:2] * [3, 40]] for row in s]
    else:  # regress1
        y = [["%.6g" % (v * 7 + 1)] for v in s[:, 0]]
    return X[:N_TRAIN].astype(np.float32), y[:N_TRAIN], X[N_TRAIN:].astype(np.float32)


def write_csv(path, X, y=None):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        if y is not None:
            w.writerow(["f%d" % j for j in range(X.shape[1])] +
                       ["y%d" % j for j in range(len(y[0]))])
        for i, row in enumerate(X):
            w.writerow(["%.9g" % v for v in row] + (list(y[i]) if y is not None else []))


def train_args(task, k):
    if task == "multilabel" or task.startswith("regress"):
        cols = "%d-%d" % (D, D + k - 1) if k > 1 else str(D)
        return ["--multilabel" if task == "multilabel" else "--regression", "--label-column",
                cols]
    return []


def build_case(mlp, work, name, task, act, scale, rng, dropout=None, extra=()):
    """Trains, exports, checks the ONNX file; returns what ONNX Runtime must reproduce."""
    X, y, Xt = make_data(task, rng)
    train, test = os.path.join(work, name + ".csv"), os.path.join(work, name + "_test.csv")
    model, out = os.path.join(work, name + ".mlp"), os.path.join(work, name + ".onnx")
    write_csv(train, X, y)
    write_csv(test, Xt)
    cmd = [mlp, "train", "--data", train, "--header", "yes", "--test-fraction", "0", "--hidden",
           "7,5", "--activation", act, "--scale", scale, "--max-iter", "60", "--seed", "3",
           "--quiet", "--out", model] + train_args(task, len(y[0]))
    if dropout:
        cmd += ["--dropout", str(dropout)]
    run(cmd + list(extra))
    r = run([mlp, "export", model, "--onnx", out])
    if dropout and "inference one" not in r.stderr:
        raise AssertionError("%s: no note that dropout is left out: %r" % (name, r.stderr))
    onnx.checker.check_model(onnx.load(out), full_check=True)
    expect = {"task": task}
    pred = [mlp, "predict", model, test, "--header", "no"]
    rows = list(csv.reader(io.StringIO(run(pred).stdout)))
    if task.startswith("regress"):
        expect["variable"] = np.array(rows, dtype=np.float64)
    else:
        expect["label"] = rows
        proba = list(csv.reader(io.StringIO(run(pred + ["--proba"]).stdout)))
        if task != "multilabel":
            proba = proba[1:]  # the header line: the class names
        expect["probabilities"] = np.array(proba, dtype=np.float64)
    return {"model": out, "input": "X", "rows": Xt.tolist()}, expect


def compare(name, expect, answer):
    if "error" in answer:
        raise AssertionError("%s: ONNX Runtime failed: %s" % (name, answer["error"]))
    outs = answer["outputs"]
    for key in ("probabilities", "variable"):
        if key not in expect:
            continue
        got = np.array(outs[key]["data"], dtype=np.float64).reshape(outs[key]["dims"])
        want = expect[key]
        if got.shape != want.shape:
            raise AssertionError("%s: %s shape %s, mlp %s" % (name, key, got.shape, want.shape))
        err = np.abs(got - want) / np.maximum(1.0, np.abs(want))
        if err.max() > TOL:
            raise AssertionError("%s: %s differs from mlp predict by %.3g" % (name, key,
                                                                              err.max()))
    if "label" in expect:
        got = outs["label"]["data"]
        want = expect["label"]
        if expect["task"] == "multilabel":
            ok = np.array_equal(np.array(got).reshape(len(want), -1), np.array(want, dtype=int))
        elif outs["label"]["type"] == "string":
            ok = got == [r[0] for r in want]
        else:
            ok = np.array_equal(np.array(got, dtype=np.float64),
                                np.array([r[0] for r in want], dtype=np.float64))
        if not ok:
            raise AssertionError("%s: labels differ: onnx %s, mlp %s" % (name, got[:8], want[:8]))


def bad_input(mlp, work):
    """Clear errors, nothing written."""
    good = os.path.join(work, "multiclass_int_relu.mlp")
    with open(good, "rb") as f:
        data = bytearray(f.read())
    data[200] ^= 0x40
    bad = os.path.join(work, "corrupt.mlp")
    with open(bad, "wb") as f:
        f.write(data)
    out = os.path.join(work, "corrupt.onnx")
    r = run([mlp, "export", bad, "--onnx", out], ok=False)
    assert r.returncode == 1 and "checksum" in r.stderr, r.stderr
    assert not os.path.exists(out), "a corrupt model left %s" % out
    r = run([mlp, "export", good, "--onnx", os.path.join(work, "no_such_dir", "m.onnx")], ok=False)
    assert r.returncode == 1 and "no_such_dir" in r.stderr, r.stderr
    r = run([mlp, "export", good, "--onnx", work], ok=False)
    assert r.returncode == 1 and "is a directory" in r.stderr, r.stderr
    keep = os.path.join(work, "keep.onnx")
    with open(keep, "w") as f:
        f.write("old")
    r = run([mlp, "export", good, "--onnx", keep, "--input-name", "1x"], ok=False)
    assert r.returncode == 2 and "--input-name" in r.stderr, r.stderr
    assert open(keep).read() == "old", "a refused export changed the file"
    r = run([mlp, "export", good], ok=False)
    assert r.returncode == 2 and "--onnx" in r.stderr, r.stderr
    leftovers = [f for f in os.listdir(work) if ".tmp." in f]
    assert not leftovers, "temporary files left: %s" % leftovers


def cases():
    tasks = ["multiclass_int", "multiclass_str", "binary_int", "binary_str",
             "multilabel", "regress2", "regress1"]
    i = 0
    for task in tasks:
        for act in ACTIVATIONS:
            yield "%s_%s" % (task, act), task, act, SCALES[i % len(SCALES)], None, ()
            i += 1
    yield "dropout_relu", "multiclass_int", "relu", "standard", 0.3, ()
    # the regression losses beyond squared error: Poisson (exp output), Huber
    yield "poisson_tanh", "regress_poisson", "tanh", "standard", None, ("--loss", "poisson")
    yield "huber_relu", "regress2", "relu", "minmax", None, ("--loss", "huber", "--huber-delta",
                                                             "2")


def main():
    mlp, work, node_dir = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    rng = np.random.default_rng(7)
    jobs, expects, names = [], [], []
    for name, task, act, scale, dropout, extra in cases():
        job, expect = build_case(mlp, work, name, task, act, scale, rng, dropout, extra)
        jobs.append(job)
        expects.append(expect)
        names.append(name)
    bad_input(mlp, work)
    print("check_onnx: %d models pass onnx.checker (full_check); bad input refused" % len(jobs))
    try:
        ort_node.ensure(node_dir)
    except ort_node.Unavailable as e:
        print("check_onnx: SKIPPED the ONNX Runtime comparison: %s" % e)
        return 77
    answers = ort_node.run(node_dir, jobs)
    failed = 0
    for name, expect, answer in zip(names, expects, answers):
        try:
            compare(name, expect, answer)
        except AssertionError as e:
            print("FAIL: %s" % e)
            failed += 1
    print("check_onnx: ONNX Runtime (%s) against mlp predict" % ort_node.PACKAGE)
    print("%d passed, %d failed" % (len(jobs) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
