#!/usr/bin/python3
"""scikit-learn's MLPClassifier on the shipped digits set and rs42 split, for seeds 0..N-1.

Prints one line per seed (epochs, fit seconds, test accuracy) and the mean accuracy, to compare
with bench/accuracy/mlp_digits_seeds.sh. Needs Debian's python3-sklearn (run with /usr/bin/python3).
Usage: sklearn_digits_seeds.py [N_SEEDS] [DATA_DIR]
"""
import gzip
import os
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

here = os.path.dirname(os.path.abspath(__file__))
n_seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
data_dir = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "..", "..", "data")

with gzip.open(os.path.join(data_dir, "digits.csv.gz"), "rt") as f:
    data = np.loadtxt(f, delimiter=",")
X, y = data[:, :-1], data[:, -1].astype(int)
train = np.loadtxt(os.path.join(data_dir, "digits_split_rs42_train.txt"), dtype=int)
test = np.loadtxt(os.path.join(data_dir, "digits_split_rs42_test.txt"), dtype=int)

accs = []
for seed in range(n_seeds):
    clf = MLPClassifier(hidden_layer_sizes=(50,), activation="relu", max_iter=500, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t0 = time.perf_counter()
        clf.fit(X[train], y[train])
        dt = time.perf_counter() - t0
    acc = clf.score(X[test], y[test])
    accs.append(acc)
    print(f"seed {seed}: epochs {clf.n_iter_} fit {dt:.3f} s accuracy {100 * acc:.2f}%")
print(f"mean accuracy over seeds 0..{n_seeds - 1}: {100 * np.mean(accs):.2f}%")
