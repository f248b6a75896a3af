import os

import numpy as np
import pytest

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data")


@pytest.fixture(scope="session")
def digits_rs42():
    """The digits set (data/digits.csv.gz) on scikit-learn's train_test_split(test_size=0.2,
    random_state=42) split (data/digits_split_rs42_*.txt): X_train, X_test, y_train, y_test."""
    a = np.loadtxt(os.path.join(DATA, "digits.csv.gz"), delimiter=",")
    X, y = a[:, :-1], a[:, -1].astype(np.int64)
    tr = np.loadtxt(os.path.join(DATA, "digits_split_rs42_train.txt"), dtype=np.int64)
    te = np.loadtxt(os.path.join(DATA, "digits_split_rs42_test.txt"), dtype=np.int64)
    return X[tr], X[te], y[tr], y[te]
