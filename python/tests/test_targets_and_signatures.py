"""Targets MLPClassifier refuses as scikit-learn does (a 2-D y of class labels), and
partial_fit's signature: partial_fit(X, y, classes=None, *, sample_weight=None), so that
scikit-learn 1.2's partial_fit(X, y, classes) keeps working and weights are always named."""
import inspect

import numpy as np
import pytest
from sklearn.neural_network import MLPClassifier as SkMLPClassifier

from mlp import MLPClassifier, MLPRegressor

RNG = np.random.RandomState(0)
X = RNG.randn(60, 4)
Y2 = np.stack([(X[:, 0] > 0).astype(int), (X[:, 1] > 0).astype(int) + 3], axis=1)  # 0/1, 3/4


@pytest.mark.parametrize("y", [Y2, Y2 + 1, np.stack([Y2[:, 0], Y2[:, 1], Y2[:, 0] + 7], 1)])
def test_multiclass_multioutput_is_refused(y):
    """np.unique over both columns used to train one softmax over their union."""
    with pytest.raises(ValueError, match="multiclass-multioutput"):
        MLPClassifier(max_iter=5).fit(X, y)
    with pytest.raises(ValueError, match="multiclass-multioutput"):
        MLPClassifier().partial_fit(X, y, classes=np.unique(y))
    with pytest.raises(ValueError):  # scikit-learn refuses it too
        SkMLPClassifier(max_iter=5).fit(X, y)


def test_multilabel_other_than_0_1_is_refused():
    """Two values make an indicator matrix for type_of_target; mlp trains on 0/1 only (it was
    an MLPError from mlp_fit)."""
    with pytest.raises(ValueError, match="0/1"):
        MLPClassifier(max_iter=5).fit(X, (Y2 > np.array([0, 3])).astype(int) * 2)


def test_multilabel_still_trains():
    Y = (Y2 > np.array([0, 3])).astype(int)  # a 0/1 indicator matrix
    clf = MLPClassifier(max_iter=50, random_state=0).fit(X, Y)
    assert clf.predict(X).shape == (60, 2) and list(clf.classes_) == [0, 1]


def test_partial_fit_signature():
    sig = inspect.signature(MLPClassifier.partial_fit).parameters
    assert list(sig) == ["self", "X", "y", "classes", "sample_weight"]
    assert sig["classes"].kind == inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert sig["sample_weight"].kind == inspect.Parameter.KEYWORD_ONLY
    sig = inspect.signature(MLPRegressor.partial_fit).parameters
    assert sig["sample_weight"].kind == inspect.Parameter.KEYWORD_ONLY
    # scikit-learn 1.2's order: classes third
    assert list(inspect.signature(SkMLPClassifier.partial_fit).parameters)[:4] == [
        "self", "X", "y", "classes"]


def test_partial_fit_classes_by_position():
    """partial_fit(X, y, classes) as scikit-learn 1.2 users write it: classes, never weights
    (with 3 rows and 3 classes, the classes [0, 1, 2] were taken as the weights 0, 1, 2)."""
    y = np.arange(60) % 3
    kw = dict(hidden_layer_sizes=(5,), random_state=0)
    a, b = MLPClassifier(**kw), MLPClassifier(**kw)
    a.partial_fit(X, y, [0, 1, 2])
    b.partial_fit(X, y, classes=[0, 1, 2])
    a.partial_fit(X[:3], y[:3], [0, 1, 2])
    b.partial_fit(X[:3], y[:3])
    assert list(a.classes_) == [0, 1, 2]
    for wa, wb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert wa.tobytes() == wb.tobytes()
    with pytest.raises(TypeError):
        a.partial_fit(X, y, None, np.ones(60))  # weights by position: refused
    with pytest.raises(TypeError):
        MLPRegressor().partial_fit(X, X[:, 0], np.ones(60))
    w = np.linspace(0.5, 1.5, 60)
    a.partial_fit(X, y, [0, 1, 2], sample_weight=w)
    MLPRegressor(max_iter=5).partial_fit(X, X[:, 0], sample_weight=w)
