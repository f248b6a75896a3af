"""class_weight='balanced' on an imbalanced digits set (issue 23; the figures are in
docs/SKLEARN.md). Run from the repository root after `bash scripts/python.sh`:

    .venv/bin/python python/examples/imbalanced_digits.py [--digits 0-9] [--keep 0.1] [--seeds 3]

For each digit in turn: the digits set (scaled to [0, 1]) with that digit cut to --keep of its
rows (every tenth row of it by default), split 70/30 with stratify=y (random_state=0);
MLPClassifier(hidden_layer_sizes=(50,), max_iter=500) fitted without and with
class_weight='balanced' for random_state 0..seeds-1. Reported per digit (means over the seeds)
and over all digits: the test balanced accuracy (scikit-learn's balanced_accuracy_score, the mean
recall over classes) and the test recall of the cut digit. scikit-learn's own MLPClassifier
(which has no class_weight) is fitted beside for reference.
"""
import argparse
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import balanced_accuracy_score, recall_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier

from mlp import MLPClassifier


def imbalanced_digits(digit, keep):
    """The digits set (scaled to [0, 1]) with `digit` cut to every round(1/keep)-th of its rows."""
    X, y = load_digits(return_X_y=True)
    step = int(round(1.0 / keep))
    rows = np.flatnonzero(y == digit)
    drop = np.setdiff1d(rows, rows[::step])
    mask = np.ones(len(y), dtype=bool)
    mask[drop] = False
    return X[mask] / 16.0, y[mask]


def scores(est, X_test, y_test, digit):
    p = est.predict(X_test)
    return (balanced_accuracy_score(y_test, p),
            recall_score(y_test, p, labels=[digit], average="macro"))


def one_digit(digit, keep, seeds, kw, verbose):
    """Mean (balanced accuracy, recall of digit) over the seeds, per estimator."""
    X, y = imbalanced_digits(digit, keep)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    if verbose:
        print("digit %d cut to %d of %d rows: %d training rows (%d of digit %d), %d test rows "
              "(%d of digit %d)" % (digit, np.sum(y == digit),
                                    np.sum(load_digits().target == digit), len(y_tr),
                                    np.sum(y_tr == digit), digit, len(y_te),
                                    np.sum(y_te == digit), digit))
    rows = {"mlp": [], "mlp balanced": [], "scikit-learn": []}
    for seed in range(seeds):
        rows["mlp"].append(scores(MLPClassifier(random_state=seed, **kw).fit(X_tr, y_tr),
                                  X_te, y_te, digit))
        rows["mlp balanced"].append(scores(MLPClassifier(class_weight="balanced",
                                                         random_state=seed, **kw)
                                           .fit(X_tr, y_tr), X_te, y_te, digit))
        rows["scikit-learn"].append(scores(SkMLPClassifier(random_state=seed, **kw)
                                           .fit(X_tr, y_tr), X_te, y_te, digit))
    return {k: np.mean(v, axis=0) for k, v in rows.items()}, np.sum(y_te == digit)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--digits", default="0-9", help="the digits cut in turn: 0-9, or 3,8")
    ap.add_argument("--keep", type=float, default=0.1)
    ap.add_argument("--seeds", type=int, default=3)
    a = ap.parse_args()
    digits = (range(10) if a.digits == "0-9" else [int(d) for d in a.digits.split(",")])
    kw = dict(hidden_layer_sizes=(50,), max_iter=500)
    print("MLPClassifier(hidden_layer_sizes=(50,), max_iter=500), random_state 0..%d; one digit "
          "cut to %g of its rows; 70/30 split with stratify=y; test balanced accuracy / recall "
          "of the cut digit, means over the seeds" % (a.seeds - 1, a.keep))
    print("%-5s %-5s %-20s %-20s %-20s" % ("digit", "test", "mlp", "mlp balanced",
                                           "scikit-learn (ref.)"))
    total = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for digit in digits:
            got, n_test = one_digit(digit, a.keep, a.seeds, kw, False)
            for k, v in got.items():
                total.setdefault(k, []).append(v)
            print("%-5d %-5d %s" % (digit, n_test, " ".join("%.4f / %.3f      " % tuple(v)
                                                            for v in got.values())))
    print("%-11s %s" % ("mean", " ".join("%.4f / %.3f      " % tuple(np.mean(v, axis=0))
                                         for v in total.values())))


if __name__ == "__main__":
    main()
