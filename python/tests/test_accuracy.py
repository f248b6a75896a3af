"""Accuracy within one point of scikit-learn's own MLPClassifier, mean over seeds 0..9, on the
small classification sets scikit-learn ships (StandardScaler, a stratified 75/25 split per seed,
max_iter 500, default parameters otherwise). Both are fitted here, in the same run, with BLAS on
one thread (these are small GEMMs: on a loaded 2-core machine scikit-learn's threaded OpenBLAS
calls were 5x slower than single-threaded ones)."""
import numpy as np
import pytest
from threadpoolctl import threadpool_limits
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlp import MLPClassifier

SETS = {"iris": load_iris, "wine": load_wine, "breast_cancer": load_breast_cancer,
        "digits": load_digits}


def _mean_accuracy(Est, X, y):
    scores = []
    for seed in range(10):
        X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=seed,
                                                  stratify=y)
        model = make_pipeline(StandardScaler(), Est(max_iter=500, random_state=seed))
        scores.append(model.fit(X_tr, y_tr).score(X_te, y_te))
    return float(np.mean(scores))


@pytest.mark.parametrize("name", list(SETS))
def test_within_one_point_of_sklearn(name):
    X, y = SETS[name](return_X_y=True)
    with threadpool_limits(1):
        ours = _mean_accuracy(MLPClassifier, X, y)
        theirs = _mean_accuracy(SkMLPClassifier, X, y)
    assert ours >= theirs - 0.01, (name, ours, theirs)
