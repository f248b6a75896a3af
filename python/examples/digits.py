"""The founding digits example with mlp's estimator, beside scikit-learn's, and the Python
layer's overhead over the C library's mlp_fit. Run from the repository root after
`bash scripts/python.sh`:

    .venv/bin/python python/examples/digits.py [--rounds 7] [--threads 1] [--cli PATH]

--cli: the mlp tool (default build-python/cli/mlp, which scripts/python.sh builds).

--threads n (default 1) limits OpenMP and BLAS to n threads in this process (threadpoolctl: both
estimators) and passes --threads n to the C tool; --threads 0 leaves every thread setting alone.

1. The example (only the import differs from scikit-learn's):
       X, y = load_digits(return_X_y=True)
       X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
       clf = MLPClassifier(hidden_layer_sizes=(50,), activation="relu", max_iter=500,
                           random_state=42).fit(X_train, y_train)
       clf.score(X_test, y_test)
   fitted with mlp.MLPClassifier and sklearn.neural_network.MLPClassifier, interleaved over the
   rounds: accuracy and the median wall time of fit().
2. Overhead: the same fit by the C tool (`mlp train --data digits --hidden 50 --max-iter 500
   --seed 42 --json`: its "seconds" is mlp_fit's own training time), the median over the rounds,
   against the median wall time of mlp.MLPClassifier.fit (validation, the float32 conversion of
   X, the ctypes call, the fitted attributes), and against the training time mlp_fit reports
   inside that same call.
"""
import argparse
import json
import statistics
import subprocess
import sys
import time
import warnings

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier

import mlp
from mlp import MLPClassifier


def fit_time(Est, X_train, y_train, X_test, y_test):
    clf = Est(hidden_layer_sizes=(50,), activation="relu", max_iter=500, random_state=42)
    t = time.perf_counter()
    clf.fit(X_train, y_train)
    t = time.perf_counter() - t
    return t, clf.score(X_test, y_test), clf


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--cli", default="build-python/cli/mlp")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    if a.threads > 0:
        from threadpoolctl import threadpool_limits
        limits = threadpool_limits(a.threads)  # noqa: F841 (kept for the whole run)
    cli_threads = ["--threads", str(a.threads)] if a.threads > 0 else []
    warnings.simplefilter("ignore")
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)

    ours, theirs, inner, cli = [], [], [], []
    for _ in range(a.rounds):
        t, acc_ours, clf = fit_time(MLPClassifier, X_train, y_train, X_test, y_test)
        ours.append(t)
        inner.append(clf._fit_seconds)
        t, acc_sk, sk = fit_time(SkMLPClassifier, X_train, y_train, X_test, y_test)
        theirs.append(t)
        out = subprocess.run([a.cli, "train", "--data", "digits", "--hidden", "50", "--max-iter",
                              "500", "--seed", "42", "--json"] + cli_threads,
                             check=True, capture_output=True, text=True).stdout
        rep = json.loads(out.strip().splitlines()[-1])
        cli.append(rep["seconds"])

    med = statistics.median
    print("mlp %s (%s), scikit-learn %s, %d rounds, medians, threads %s"
          % (mlp.__version__, mlp._lib.library_path, __import__("sklearn").__version__, a.rounds,
             a.threads if a.threads > 0 else "unset"))
    print("founding example: mlp.MLPClassifier     accuracy %.2f%% (%d epochs)  fit %.4f s"
          % (100 * acc_ours, clf.n_iter_, med(ours)))
    print("                  sklearn MLPClassifier accuracy %.2f%% (%d epochs)  fit %.4f s"
          " (%.1fx mlp's)" % (100 * acc_sk, sk.n_iter_, med(theirs), med(theirs) / med(ours)))
    print("C tool (mlp train --json, mlp_fit's seconds): accuracy %.2f%% (%d epochs)  %.4f s"
          % (100 * rep["accuracy"], rep["epochs"], med(cli)))
    print("Python fit over the C tool's mlp_fit:        %+.1f%% (%.4f s vs %.4f s)"
          % (100 * (med(ours) / med(cli) - 1), med(ours), med(cli)))
    print("Python fit over mlp_fit inside the same call: %+.1f%% (%.4f s vs %.4f s)"
          % (100 * (med(ours) / med(inner) - 1), med(ours), med(inner)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
