"""Thread safety of a fitted estimator: predict, predict_proba, predict_log_proba, score, coefs_
and intercepts_ from many threads at once on one estimator give the bits of a serial call (every
result compared); a refit (fit, warm start, partial_fit) in one thread while others predict
never crashes, and every prediction is that of the model before or after a refit, never a mix;
an unpickled estimator predicts alike from many threads (the issue: 103,022 of 740,000 labels
wrong).

Each scenario runs for SECONDS; every thread is joined with a timeout (a hang fails)."""
import copy
import hashlib
import pickle
import threading
import time
import warnings

import numpy as np
import pytest

from mlp import MLPClassifier, MLPRegressor

SECONDS = 1.5
JOIN_TIMEOUT = 60.0


def _run(workers, seconds=SECONDS, main=None):
    """Runs each worker(stop) in its own thread until stop is set, after `seconds` (or, with
    main, when main(stop) returns, in this thread); returns the exceptions they raised."""
    stop, errors = threading.Event(), []

    def guard(fn):
        try:
            fn(stop)
        except BaseException as e:  # reported, never lost in a thread
            errors.append(e)
            stop.set()

    threads = [threading.Thread(target=guard, args=(w,), daemon=True) for w in workers]
    for t in threads:
        t.start()
    try:
        if main is not None:
            guard(main)
        else:
            stop.wait(seconds)
    finally:
        stop.set()
        for t in threads:
            t.join(JOIN_TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a thread hangs"
    return errors


@pytest.fixture(scope="module")
def digits(digits_rs42):
    X, X_test, y, y_test = digits_rs42
    # 3240 test rows: more than one chunk of mlp_predict (1024 rows), and forward passes big
    # enough (>= 8 MFLOP) to open their own OpenMP team inside each call
    Xt = np.tile(X_test, (9, 1))
    yt = np.tile(y_test, 9)
    return X, y, Xt, yt


def _refs(est, X, y):
    """Serial results: {method: value to compare exactly}."""
    out = {"predict": est.predict(X), "score": est.score(X, y),
           "coefs_": est.coefs_ + est.intercepts_}
    if hasattr(est, "predict_proba"):
        out["predict_proba"] = est.predict_proba(X)
        out["predict_log_proba"] = est.predict_log_proba(X)
        out["predict_proba32"] = est.predict_proba(X.astype(np.float32))
    return out


def _digest(a):
    return hashlib.blake2b(a.tobytes(), digest_size=16).digest()


def _same(a, b):
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(u, v) for u, v in zip(a, b))
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    return a == b


def _call(est, method, X, y):
    if method == "score":
        return est.score(X, y)
    if method == "predict_proba32":
        return est.predict_proba(X.astype(np.float32))
    if method == "coefs_":
        return est.coefs_ + est.intercepts_
    return getattr(est, method)(X)


def _hammer(est, X, y, n_threads):
    """n_threads threads call every inference method in turn on est; each result is compared
    with the serial one. Returns (calls made, mismatches as (method, thread))."""
    refs = _refs(est, X, y)
    methods = sorted(refs)
    calls, bad = [0] * n_threads, []

    def worker(i):
        def run(stop):
            k = i
            while not stop.is_set():
                m = methods[k % len(methods)]
                if not _same(_call(est, m, X, y), refs[m]):
                    bad.append((m, i))
                calls[i] += 1
                k += 1
        return run

    errors = _run([worker(i) for i in range(n_threads)])
    assert not errors, errors
    return calls, bad


@pytest.mark.parametrize("n_threads", [2, 8])
def test_classifier_inference_from_many_threads_is_bit_identical(digits, n_threads):
    X, y, Xt, yt = digits
    clf = MLPClassifier(hidden_layer_sizes=(100,), max_iter=30, random_state=0).fit(X, y)
    calls, bad = _hammer(clf, Xt, yt, n_threads)
    assert not bad, bad[:10]
    assert min(calls) >= 2, calls  # every thread got its turns


def test_regressor_inference_from_many_threads_is_bit_identical(digits):
    X, y, Xt, yt = digits
    Y = np.stack([y, X[:, 10]], axis=1).astype(float)
    reg = MLPRegressor(hidden_layer_sizes=(100,), max_iter=30, random_state=0).fit(X, Y)
    Yt = np.stack([yt, Xt[:, 10]], axis=1).astype(float)
    calls, bad = _hammer(reg, Xt, Yt, 4)
    assert not bad, bad[:10]
    assert min(calls) >= 2, calls


def test_unpickled_estimator_from_many_threads(digits):
    """The issue: an unpickled classifier used from many threads gave wrong labels (103,022 of
    740,000). Every label of every call must be the serial one, which is also the original's."""
    X, y, Xt, yt = digits
    clf = MLPClassifier(hidden_layer_sizes=(100,), max_iter=30, random_state=0).fit(X, y)
    loaded = pickle.loads(pickle.dumps(clf))
    want = clf.predict(Xt)
    assert np.array_equal(loaded.predict(Xt), want)
    wrong, total = [0], [0]

    def worker(stop):
        while not stop.is_set():
            got = loaded.predict(Xt)
            wrong[0] += int(np.count_nonzero(got != want))
            total[0] += len(got)

    errors = _run([worker] * 8)
    assert not errors, errors
    assert wrong[0] == 0, "%d of %d labels wrong" % (wrong[0], total[0])
    assert total[0] >= 8 * len(Xt)


@pytest.mark.parametrize("refit_in", ["main", "thread"])
@pytest.mark.parametrize("warm_start", [False, True])
def test_predict_while_refitting(digits, warm_start, refit_in):
    """Four threads predict while one refits (new seeds, or a warm start continued by fit and
    partial_fit); every result must be that of a model that was current at some point of the
    call: the one before a refit committed, or after. The models are recorded (deep copies,
    through the model bytes) and predicted serially afterwards."""
    X, y, Xt, yt = digits
    Xt = Xt[:1200]
    est = MLPClassifier(hidden_layer_sizes=(30,), max_iter=2, random_state=0,
                        warm_start=warm_start).fit(X, y)
    models, gen = [copy.deepcopy(est)], [0]
    seen = []

    def refit(stop):
        seed = 1
        deadline = time.monotonic() + SECONDS
        while not stop.is_set() and time.monotonic() < deadline:
            if warm_start and seed % 2:
                est.partial_fit(X, y)
            else:
                est.set_params(random_state=seed)  # a new model each time without warm start
                est.fit(X, y)
            seed += 1
            models.append(copy.deepcopy(est))
            gen[0] += 1

    def predictor(stop):
        while not stop.is_set():
            g0 = gen[0]
            p = est.predict_proba(Xt)
            labels = est.predict(Xt)
            g1 = gen[0]
            seen.append((g0, g1, _digest(p), _digest(labels)))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if refit_in == "main":  # the main thread's fits run in the package's fit thread
            errors = _run([predictor] * 4, main=refit)
        else:
            errors = _run([predictor] * 4 + [refit], seconds=SECONDS + 0.2)
    assert not errors, errors
    assert len(models) >= 3, "too few refits: %d" % len(models)
    probs = [_digest(m.predict_proba(Xt)) for m in models]
    labels = [_digest(m.predict(Xt)) for m in models]
    assert len(set(probs)) == len(probs)  # every refit made another model
    for g0, g1, p, lab in seen:
        # a refit commits before gen is counted up: g0 .. g1 + 1 were current during the call
        current = range(g0, min(g1 + 1, len(models) - 1) + 1)
        assert any(probs[g] == p for g in current), \
            "predict_proba of no model current during the call (generations %d..%d)" % (g0, g1)
        assert any(labels[g] == lab for g in current), \
            "predict of no model current during the call (generations %d..%d)" % (g0, g1)
    assert len(seen) >= 4


def test_predict_while_refitting_on_other_features(digits):
    """Refits alternate between 64 and 32 features (and 10 and 2 classes): a prediction on 64
    columns gets the 64-feature model's result, or scikit-learn's ValueError about the feature
    count from the 32-feature model, never the checks of one model and the net of another
    (which would read past the rows)."""
    X, y, Xt, yt = digits
    Xt = Xt[:600]
    est = MLPClassifier(hidden_layer_sizes=(30,), max_iter=2, random_state=0).fit(X, y)
    want = est.predict_proba(Xt).tobytes()
    counts = {"ok": 0, "refused": 0}

    def refit(stop):
        i = 0
        deadline = time.monotonic() + SECONDS
        while not stop.is_set() and time.monotonic() < deadline:
            if i % 2:
                est.fit(X, y)  # the same model as at the start (same seed)
            else:
                est.fit(X[:, :32], y % 2)
            i += 1

    def predictor(stop):
        while not stop.is_set():
            try:
                p = est.predict_proba(Xt)
            except ValueError as e:
                assert "is expecting 32 features" in str(e), str(e)
                counts["refused"] += 1
                continue
            assert p.tobytes() == want
            counts["ok"] += 1

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        errors = _run([predictor] * 4 + [refit], seconds=SECONDS + 0.2)
    assert not errors, errors
    assert counts["ok"] > 0 and counts["refused"] > 0, counts
