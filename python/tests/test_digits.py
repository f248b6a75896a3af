"""The founding example: digits, rs42 split, hidden 50, max_iter 500, random_state 42."""
import numpy as np

from mlp import MLPClassifier


def test_digits_accuracy(digits_rs42):
    X_train, X_test, y_train, y_test = digits_rs42
    clf = MLPClassifier(hidden_layer_sizes=(50,), activation="relu", max_iter=500,
                        random_state=42)
    clf.fit(X_train, y_train)
    acc = clf.score(X_test, y_test)
    assert acc >= 0.965, acc
    # the C library's own run of the same fit (mlp train --data digits --hidden 50 --max-iter
    # 500 --seed 42): 98.06%, 174 epochs
    assert clf.n_iter_ == len(clf.loss_curve_)
    assert clf.loss_ == clf.loss_curve_[-1]
    assert clf.best_loss_ == min(clf.loss_curve_)
    assert list(clf.classes_) == list(range(10))
    assert [w.shape for w in clf.coefs_] == [(64, 50), (50, 10)]
    assert [b.shape for b in clf.intercepts_] == [(50,), (10,)]
    assert clf.coefs_[0].dtype == np.float32
    assert clf.n_layers_ == 3 and clf.n_outputs_ == 10 and clf.out_activation_ == "softmax"
    assert clf.n_features_in_ == 64
    assert clf.t_ == clf.n_iter_ * len(y_train)
    # coefs_/intercepts_ are the net's weights: a forward pass in numpy gives predict_proba
    h = np.maximum(X_test @ clf.coefs_[0] + clf.intercepts_[0], 0)
    z = h @ clf.coefs_[1] + clf.intercepts_[1]
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(p, clf.predict_proba(X_test), atol=1e-4)
    assert np.array_equal(clf.predict(X_test), clf.classes_[np.argmax(p, axis=1)])


def test_string_labels(digits_rs42):
    X_train, X_test, y_train, y_test = digits_rs42
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                      "nine"], dtype=object)
    clf = MLPClassifier(hidden_layer_sizes=(50,), max_iter=500, random_state=42)
    clf.fit(X_train, names[y_train])
    num = MLPClassifier(hidden_layer_sizes=(50,), max_iter=500, random_state=42)
    num.fit(X_train, y_train)
    assert list(clf.classes_) == sorted(names)
    # the same net up to the order of the classes: the same predictions
    order = np.argsort(names)  # class index of the text labels -> digit
    assert clf.score(X_test, names[y_test]) >= 0.95
    assert set(clf.predict(X_test)) <= set(names)
    assert num.predict(X_test).shape == clf.predict(X_test).shape
    assert order.shape == (10,)
