#!/usr/bin/python3
"""Python side of bench/compare: scikit-learn, PyTorch and numpy workers.

Same protocol as mlp_driver.c: one command per line on stdin, one JSON line per command on
stdout. compare.py starts one worker per tool with the thread count pinned in the environment
(OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS) and passes the same count here, where it
is pinned again (threadpoolctl, torch.set_num_threads).

    py_worker.py TOOL THREADS DATA_DIR      TOOL: sklearn32 | sklearn64 | torch | numpy
    commands: info | epoch MIN_S | fit | predict BATCH MIN_S | big_step MIN_S | big_gemm MIN_S
              | f100_fit EPOCHS IMAGES.idx LABELS.idx | quit

Every timed block repeats a fixed unit of work (a chunk of epochs, a pass of predictions, one
step) until at least MIN_S seconds have passed, after a warm-up; imports, data loading and model
construction outside the timed block are never timed (the whole-fit command times everything a
user's fit call does, model construction included; so does f100_fit, whose data is read from
compare.py's IDX files and scaled to [0, 1] once per process, untimed).
"""
import gzip
import json
import math
import os
import re
import struct
import sys
import time
import warnings

import numpy as np

TOOL, THREADS, DATA_DIR = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ALPHA, BATCH, HIDDEN, SEED = 1e-4, 200, 50, 42

import threadpoolctl  # noqa: E402  (Debian python3-threadpoolctl)

if TOOL == "torch":
    import torch
    from torch import nn

    torch.set_num_threads(THREADS)
elif TOOL.startswith("sklearn"):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    warnings.simplefilter("ignore", ConvergenceWarning)
threadpoolctl.threadpool_limits(limits=THREADS)

with gzip.open(os.path.join(DATA_DIR, "digits.csv.gz"), "rt") as f:
    _data = np.loadtxt(f, delimiter=",")
_train = np.loadtxt(os.path.join(DATA_DIR, "digits_split_rs42_train.txt"), dtype=np.int64)
_test = np.loadtxt(os.path.join(DATA_DIR, "digits_split_rs42_test.txt"), dtype=np.int64)
DTYPE = np.float64 if TOOL == "sklearn64" else np.float32
X_ALL = np.ascontiguousarray(_data[:, :-1], dtype=DTYPE)
Y_ALL = _data[:, -1].astype(np.int64)
X_TR, Y_TR = np.ascontiguousarray(X_ALL[_train]), Y_ALL[_train]
X_TE, Y_TE = np.ascontiguousarray(X_ALL[_test]), Y_ALL[_test]
N_TR = len(Y_TR)


def timed(unit, min_s):
    """Runs unit() (returns the samples it processed) until min_s seconds have passed."""
    samples, t0 = 0, time.perf_counter()
    while True:
        samples += unit()
        dt = time.perf_counter() - t0
        if dt >= min_s:
            return {"samples_per_s": samples / dt, "seconds": dt}


def info():
    pools = threadpoolctl.threadpool_info()
    blas = [p for p in pools if p.get("internal_api") == "openblas"]
    out = {
        "tool": TOOL,
        "threads": THREADS,
        "core": ",".join(sorted({p.get("architecture") or "?" for p in blas})) or "unknown",
        "blas": [{k: p.get(k) for k in ("filepath", "version", "num_threads", "threading_layer")}
                 for p in pools if p.get("user_api") == "blas"],
        "numpy": np.__version__,
    }
    if TOOL == "torch":
        out["version"] = torch.__version__
        m = re.search(r"CPU capability usage: (\S+)", torch.__config__.show())
        out["aten_cpu_capability"] = m.group(1) if m else "unknown"
        out["torch_threads"] = torch.get_num_threads()
        if not blas:
            out["core"] = "unknown (threadpoolctl sees no OpenBLAS)"
    elif TOOL.startswith("sklearn"):
        import sklearn

        out["version"] = sklearn.__version__
    else:
        out["version"] = np.__version__
    return out


# ------------------------------------------------------------------------------------------------
# scikit-learn: MLPClassifier(hidden_layer_sizes=(50,)), everything else default (relu, adam,
# batch min(200, n), alpha 1e-4, lr 1e-3), float32 (sklearn32) or float64 (sklearn64) input.


def sk_model(**kw):
    return MLPClassifier(hidden_layer_sizes=(HIDDEN,), random_state=SEED, **kw)


def sk_epoch(min_s):
    # warm_start: every fit() call continues from the current weights; tol=0 with a huge
    # n_iter_no_change runs exactly max_iter epochs.
    clf = sk_model(max_iter=20, tol=0.0, n_iter_no_change=10**9, warm_start=True)
    clf.fit(X_TR, Y_TR)
    clf.max_iter = 25

    def unit():
        clf.fit(X_TR, Y_TR)
        return 25 * N_TR

    return timed(unit, min_s)


def sk_fit():
    clf = sk_model(max_iter=500)
    t0 = time.perf_counter()
    clf.fit(X_TR, Y_TR)
    dt = time.perf_counter() - t0
    return {"seconds": dt, "epochs": clf.n_iter_, "accuracy": clf.score(X_TE, Y_TE),
            "samples_per_s": clf.n_iter_ * N_TR / dt, "converged": clf.n_iter_ < 500}


def sk_predict(batch, min_s):
    clf = sk_model(max_iter=10)
    clf.fit(X_TR, Y_TR)
    chunks = [X_ALL[i:i + batch] for i in range(0, len(X_ALL), batch)]

    def unit():
        for c in chunks:
            clf.predict_proba(c)
        return len(X_ALL)

    unit()
    return timed(unit, min_s)


# ------------------------------------------------------------------------------------------------
# PyTorch: nn.Linear layers, ReLU, CrossEntropyLoss, torch.optim.Adam (lr 1e-3, defaults), with
# scikit-learn's initialisation (Glorot uniform for W and b) and scikit-learn's L2 penalty as
# Adam's weight_decay = alpha / batch on the weights (not the biases): the same gradient as
# scikit-learn's alpha/(2 n_batch) * sum(W^2) loss term, the way a PyTorch user adds it (writing
# the term into the loss instead costs ~30% of the digits step). The loop a user writes: randperm,
# gather the batch, zero_grad, forward, loss, backward, step, accumulate the epoch loss.


def torch_net(sizes):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        lin = nn.Linear(a, b)
        bound = math.sqrt(6.0 / (a + b))
        with torch.no_grad():
            lin.weight.uniform_(-bound, bound)
            lin.bias.uniform_(-bound, bound)
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class TorchTrainer:
    def __init__(self, sizes, batch=BATCH):
        torch.manual_seed(SEED)
        self.model = torch_net(sizes)
        lins = [m for m in self.model if isinstance(m, nn.Linear)]
        self.weights = [m.weight for m in lins]
        self.opt = torch.optim.Adam([{"params": self.weights, "weight_decay": ALPHA / batch},
                                     {"params": [m.bias for m in lins]}], lr=1e-3)
        self.ce = nn.CrossEntropyLoss()
        self.gen = torch.Generator().manual_seed(SEED)

    def step(self, xb, yb):
        self.opt.zero_grad()
        loss = self.ce(self.model(xb), yb)
        loss.backward()
        self.opt.step()
        return loss

    def epoch(self, X, y):
        """One epoch; returns scikit-learn's epoch loss (batch losses weighted by batch size,
        plus the L2 term, here taken once with the end-of-epoch weights)."""
        n = len(y)
        perm = torch.randperm(n, generator=self.gen)
        total = 0.0
        for s in range(0, n, BATCH):
            idx = perm[s:s + BATCH]
            total += self.step(X[idx], y[idx]).item() * len(idx)
        with torch.no_grad():
            l2 = sum(float((w * w).sum()) for w in self.weights)
        return total / n + 0.5 * ALPHA * l2 * math.ceil(n / BATCH) / n


def t_data():
    return torch.from_numpy(X_TR), torch.from_numpy(Y_TR)


def torch_epoch(min_s):
    X, y = t_data()
    tr = TorchTrainer([64, HIDDEN, 10])
    for _ in range(20):
        tr.epoch(X, y)

    def unit():
        for _ in range(25):
            tr.epoch(X, y)
        return 25 * N_TR

    return timed(unit, min_s)


def torch_fit():
    """The same loop to convergence with scikit-learn's stopping rule (max_iter 500, tol 1e-4,
    n_iter_no_change 10 on the epoch loss)."""
    X, y = t_data()
    t0 = time.perf_counter()
    tr = TorchTrainer([64, HIDDEN, 10])
    best, no_improve, epochs = math.inf, 0, 0
    while epochs < 500:
        loss = tr.epoch(X, y)
        epochs += 1
        no_improve = no_improve + 1 if loss > best - 1e-4 else 0
        best = min(best, loss)
        if no_improve > 10:
            break
    dt = time.perf_counter() - t0
    with torch.inference_mode():
        pred = tr.model(torch.from_numpy(X_TE)).argmax(1).numpy()
    return {"seconds": dt, "epochs": epochs, "accuracy": float(np.mean(pred == Y_TE)),
            "samples_per_s": epochs * N_TR / dt, "converged": epochs < 500}


def torch_predict(batch, min_s):
    X, y = t_data()
    tr = TorchTrainer([64, HIDDEN, 10])
    for _ in range(10):
        tr.epoch(X, y)
    model = tr.model
    Xa = torch.from_numpy(X_ALL)
    chunks = [Xa[i:i + batch] for i in range(0, len(Xa), batch)]

    def unit():
        with torch.inference_mode():
            for c in chunks:
                torch.softmax(model(c), dim=1)
        return len(Xa)

    unit()
    return timed(unit, min_s)


BIG = [784, 1024, 1024, 10]
BIG_N = 256


def big_batch():
    rng = np.random.default_rng(1)
    X = rng.random((BIG_N, BIG[0]), dtype=np.float32)
    y = rng.integers(0, BIG[-1], BIG_N)
    return X, y


def torch_big_step(min_s):
    X, y = big_batch()
    X, y = torch.from_numpy(X), torch.from_numpy(y)
    tr = TorchTrainer(BIG, BIG_N)
    for _ in range(2):
        tr.step(X, y)
    steps = [0]

    def unit():
        tr.step(X, y)
        steps[0] += 1
        return BIG_N

    r = timed(unit, min_s)
    r["steps"] = steps[0]
    return r


# ------------------------------------------------------------------------------------------------
# numpy: the GEMMs of one 784-1024-1024-10 training step at batch 256, float32, into preallocated
# outputs: forward A[l+1] = A[l] @ W[l]; backward dW[l] = A[l].T @ D[l] and, for every layer but
# the first, D[l] @ W[l].T. Only the GEMMs: no activations, loss or optimizer.


def numpy_big_gemm(min_s):
    X, _ = big_batch()
    L = len(BIG) - 1
    W = [np.full((BIG[i], BIG[i + 1]), 0.01, np.float32) for i in range(L)]
    dW = [np.empty_like(w) for w in W]
    A = [X] + [np.empty((BIG_N, BIG[i + 1]), np.float32) for i in range(L)]
    D = [np.full((BIG_N, BIG[i + 1]), 0.01, np.float32) for i in range(L)]
    DA = [np.empty((BIG_N, BIG[i]), np.float32) for i in range(L)]

    def unit():
        for i in range(L):
            np.matmul(A[i], W[i], out=A[i + 1])
        for i in reversed(range(L)):
            np.matmul(A[i].T, D[i], out=dW[i])
            if i > 0:
                np.matmul(D[i], W[i].T, out=DA[i])
        return BIG_N

    unit()
    unit()
    return timed(unit, min_s)


# ------------------------------------------------------------------------------------------------
# f100_fit: 784-100-10 with scikit-learn's defaults (ReLU, Adam lr 1e-3, alpha 1e-4, batch 200)
# for exactly EPOCHS epochs on the IDX pair compare.py prepared (Fashion-MNIST's first rows or a
# synthetic stand-in), pixels / 255 in the tool's dtype. Times the whole fit call.

_F100 = {}


def read_idx(path, ndims):
    with open(path, "rb") as f:
        head = f.read(4 + 4 * ndims)
        magic = head[:4]
        if magic[:3] != b"\x00\x00\x08" or magic[3] != ndims:
            raise ValueError(f"{path}: not a {ndims}-D ubyte IDX file")
        dims = struct.unpack(">" + "I" * ndims, head[4:])
        return np.fromfile(f, dtype=np.uint8).reshape(dims)


def f100_data(images, labels):
    if _F100.get("path") != images:  # once per process, untimed
        raw = read_idx(images, 3)
        X = raw.reshape(len(raw), -1).astype(DTYPE) / DTYPE(255)
        y = read_idx(labels, 1).astype(np.int64)
        _F100.update(path=images, X=np.ascontiguousarray(X), y=y)
    return _F100["X"], _F100["y"]


def sk_f100_fit(epochs, images, labels):
    X, y = f100_data(images, labels)
    clf = MLPClassifier(hidden_layer_sizes=(100,), max_iter=epochs, tol=0.0,
                        n_iter_no_change=10**9, random_state=SEED)
    t0 = time.perf_counter()
    clf.fit(X, y)
    dt = time.perf_counter() - t0
    return {"seconds": dt, "epochs": clf.n_iter_, "rows": len(y),
            "samples_per_s": clf.n_iter_ * len(y) / dt, "loss": float(clf.loss_),
            "dtype": str(clf.coefs_[0].dtype)}


def torch_f100_fit(epochs, images, labels):
    X, y = f100_data(images, labels)
    X, y = torch.from_numpy(X), torch.from_numpy(y)
    t0 = time.perf_counter()
    tr = TorchTrainer([X.shape[1], 100, 10])
    for _ in range(epochs):
        loss = tr.epoch(X, y)
    dt = time.perf_counter() - t0
    return {"seconds": dt, "epochs": epochs, "rows": len(y),
            "samples_per_s": epochs * len(y) / dt, "loss": loss}


def f100_command(handler, args):
    if len(args) != 3:
        raise ValueError("usage: f100_fit EPOCHS IMAGES LABELS")
    return handler(int(args[0]), args[1], args[2])


def main():
    handlers = {
        "sklearn": {"epoch": sk_epoch, "fit": sk_fit, "predict": sk_predict,
                    "f100_fit": sk_f100_fit},
        "torch": {"epoch": torch_epoch, "fit": torch_fit, "predict": torch_predict,
                  "big_step": torch_big_step, "f100_fit": torch_f100_fit},
        "numpy": {"big_gemm": numpy_big_gemm},
    }["sklearn" if TOOL.startswith("sklearn") else TOOL]
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        cmd, args = parts[0], parts[1:]
        if cmd == "quit":
            break
        try:
            if cmd == "info":
                res = info()
            elif cmd == "predict":
                res = handlers["predict"](int(float(args[0])), float(args[1]))
            elif cmd == "f100_fit" and cmd in handlers:
                res = f100_command(handlers[cmd], args)
            elif cmd in handlers:
                res = handlers[cmd](*map(float, args))
            else:
                res = {"error": f"{TOOL}: unknown command {cmd}"}
        except Exception as e:  # report, keep serving
            res = {"error": f"{TOOL}: {cmd}: {type(e).__name__}: {e}"}
        print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
