#!/usr/bin/env python3
"""solver='lbfgs' side by side: mlp's MLPClassifier (python/, over libmlp) against scikit-learn's,
on digits (the repo's rs42 split), iris, wine and breast-cancer, seeds 0..9, same split, same
scaling, same settings (hidden (100,), alpha 1e-4, max_iter 200, max_fun 15000, tol 1e-4).

    MLP_LIBRARY=build/src/libmlp.so PYTHONPATH=python /usr/bin/python3 bench/compare/lbfgs.py
        [--seeds 10] [--threads 1]
(or with the package installed: .venv/bin/python bench/compare/lbfgs.py). On a CPU where OpenBLAS
0.3.21 falls back to Prescott kernels, set OPENBLAS_CORETYPE for both tools (docs/API.md).

Prints one table row per data set: mean (and min..max) test accuracy and mean fit time of each,
the accuracy difference and the time ratio. Digits is used as the repo ships it (pixels 0..16,
no scaling, the split of data/digits_split_rs42_*.txt); the other three come with scikit-learn
and are split by train_test_split(test_size=0.2, random_state=42, stratify=y) and standardised
on the training rows (unscaled, both solvers stall on wine and breast-cancer). scikit-learn gets
float64 (its default); mlp float32 (its only type).
"""
import argparse
import gzip
import os
import statistics
import sys
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLP
from sklearn.preprocessing import StandardScaler

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def digits():
    with gzip.open(os.path.join(ROOT, "data", "digits.csv.gz"), "rt") as f:
        a = np.loadtxt(f, delimiter=",")
    X, y = a[:, :-1], a[:, -1].astype(np.int64)
    tr = np.loadtxt(os.path.join(ROOT, "data", "digits_split_rs42_train.txt"), dtype=np.int64)
    te = np.loadtxt(os.path.join(ROOT, "data", "digits_split_rs42_test.txt"), dtype=np.int64)
    return X[tr], X[te], y[tr], y[te]


def bundled(loader):
    X, y = loader(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=42, stratify=y)
    sc = StandardScaler().fit(Xtr)
    return sc.transform(Xtr), sc.transform(Xte), ytr, yte


def run(make, Xtr, Xte, ytr, yte, seeds):
    accs, times, iters = [], [], []
    for seed in range(seeds):
        m = make(seed)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            m.fit(Xtr, ytr)
        times.append(time.perf_counter() - t0)
        accs.append(100.0 * m.score(Xte, yte))
        iters.append(m.n_iter_)
    return accs, times, iters


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1, help="threads for both (default 1)")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
    import mlp  # after the thread settings: libmlp and OpenBLAS read them when loaded

    core = mlp._lib.lib.mlp_blas_corename().decode()
    sets = [("digits (rs42)", digits()), ("iris", bundled(load_iris)), ("wine", bundled(load_wine)),
            ("breast-cancer", bundled(load_breast_cancer))]
    common = dict(hidden_layer_sizes=(100,), solver="lbfgs", alpha=1e-4, max_iter=200,
                  max_fun=15000, tol=1e-4)
    print(f"solver=lbfgs, hidden (100,), seeds 0..{args.seeds - 1}, {args.threads} thread(s), "
          f"OpenBLAS core {core} (mlp's)")
    print("| data set | rows train/test | mlp accuracy % | scikit-learn accuracy % | diff (pt) "
          "| mlp fit s | scikit-learn fit s | speed-up | iterations mlp / sklearn |")
    print("|---|---|---|---|---|---|---|---|---|")
    worst = 0.0
    for name, (Xtr, Xte, ytr, yte) in sets:
        a_m, t_m, i_m = run(lambda s: mlp.MLPClassifier(random_state=s, threads=args.threads,
                                                         **common),
                            Xtr.astype(np.float32), Xte.astype(np.float32), ytr, yte, args.seeds)
        a_s, t_s, i_s = run(lambda s: SkMLP(random_state=s, **common), Xtr, Xte, ytr, yte,
                            args.seeds)
        mm, ms = statistics.mean(a_m), statistics.mean(a_s)
        tm, ts = statistics.median(t_m), statistics.median(t_s)
        worst = max(worst, abs(mm - ms))
        print(f"| {name} | {len(ytr)}/{len(yte)} | {mm:.2f} ({min(a_m):.1f}..{max(a_m):.1f}) "
              f"| {ms:.2f} ({min(a_s):.1f}..{max(a_s):.1f}) | {mm - ms:+.2f} | {tm:.4f} "
              f"| {ts:.4f} | {ts / tm:.1f}x | {statistics.mean(i_m):.0f} / "
              f"{statistics.mean(i_s):.0f} |")
    print(f"largest mean-accuracy difference: {worst:.2f} points (target: within 1)")
    print("fit times: medians over the seeds, each fit timed alone, in this one process")
    return 0 if worst <= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
