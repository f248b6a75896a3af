"""Ctrl-C during fit, and exceptions in the progress callback.

Ctrl-C (SIGINT) stops training within a minibatch, warns "Training interrupted by user." and
keeps the weights reached as the fitted model, as scikit-learn does for its stochastic solvers.
Before, a long fit only saw the KeyboardInterrupt once mlp_fit had returned (and then dropped
the result), or, with verbose=True, ctypes printed "Exception ignored on calling ctypes
callback" and the fit went on. The fit runs in a worker thread; the main thread waits and sets
mlp_fit's interrupt flag."""
import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings

import numpy as np
import pytest

from mlp import MLPClassifier, MLPRegressor, _lib

# A child that fits for minutes unless interrupted: it prints "fitting" just before fit, and
# after fit one JSON line (what the fitted estimator holds, the warnings, when fit returned).
CHILD = textwrap.dedent("""
    import json, sys, time, warnings
    import numpy as np
    from mlp import MLPClassifier
    solver, verbose, early = sys.argv[1], sys.argv[2] == "1", sys.argv[3] == "1"
    rng = np.random.RandomState(0)
    X = rng.randn(6000, 100)
    y = rng.randint(0, 10, 6000)  # random labels: no convergence for a long time
    clf = MLPClassifier(hidden_layer_sizes=(128,), solver=solver, max_iter=10 ** 6, tol=0.0,
                        n_iter_no_change=10 ** 9, max_fun=10 ** 9, verbose=verbose,
                        early_stopping=early, random_state=0, threads=1)
    print("fitting", flush=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.fit(X, y)
    returned = time.monotonic()
    p = clf.predict_proba(X[:50])
    print(json.dumps(dict(returned=returned, n_iter=clf.n_iter_,
                          warnings=[str(w.message) for w in caught],
                          finite=bool(np.all(np.isfinite(p))), rows=len(p),
                          curve=len(getattr(clf, "loss_curve_", []) or []),
                          score=clf.score(X[:500], y[:500]))), flush=True)
""")


def _run_child(tmp_path, *args):
    """Starts the child, SIGINTs it once its fit has run for a while; returns (its JSON, its
    stderr, seconds from the signal to the return of fit). Never hangs: the child is killed
    after 60 s."""
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    proc = subprocess.Popen([sys.executable, str(script)] + [str(a) for a in args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # "fitting" (or "" if the child died)
        assert line.strip() == "fitting", proc.stderr.read()
        time.sleep(1.5)  # in mlp_fit, past the first epochs
        sent = time.monotonic()
        os.kill(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail("the fit did not stop within 60 s of SIGINT:\n" + err)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    last = [ln for ln in out.splitlines() if ln.startswith("{")][-1]
    res = json.loads(last)
    return res, err, res["returned"] - sent


@pytest.mark.parametrize("solver, verbose, early", [("adam", 0, 0), ("sgd", 1, 1),
                                                     ("lbfgs", 0, 0)])
def test_sigint_stops_fit_and_keeps_the_model(tmp_path, solver, verbose, early):
    res, err, seconds = _run_child(tmp_path, solver, verbose, early)
    assert seconds < 2.0, seconds  # a minibatch (lbfgs: one evaluation) is a few ms here
    assert res["warnings"] == ["Training interrupted by user."]
    assert 1 <= res["n_iter"] < 10 ** 6
    assert res["finite"] and res["rows"] == 50
    if solver != "lbfgs":
        assert res["curve"] == res["n_iter"]
    assert "Exception ignored" not in err and "KeyboardInterrupt" not in err


def _interrupt_main_after(seconds):
    """A real SIGINT to this process's main thread after `seconds` (as Ctrl-C sends it)."""
    main = threading.main_thread().ident
    timer = threading.Timer(seconds, signal.pthread_kill, (main, signal.SIGINT))
    timer.start()
    return timer


@pytest.mark.parametrize("early", [False, True])
def test_interrupted_fit_is_a_consistent_model(early):
    rng = np.random.RandomState(1)
    X, y = rng.randn(3000, 40), rng.randint(0, 5, 3000)
    clf = MLPClassifier(hidden_layer_sizes=(64,), max_iter=3000, tol=0.0, n_iter_no_change=10 ** 9,
                        early_stopping=early, batch_size=50, random_state=0, threads=1)
    timer = _interrupt_main_after(0.5)
    t0 = time.monotonic()
    try:
        with pytest.warns(UserWarning, match="Training interrupted by user."):
            clf.fit(X, y)
    except KeyboardInterrupt:
        pytest.fail("KeyboardInterrupt escaped fit")
    finally:
        timer.cancel()
    assert time.monotonic() - t0 < 5.0
    n = clf.n_iter_
    assert 0 <= n < 3000 and len(clf.loss_curve_) == n
    # early stopping holds out ceil(float32(0.1) x 3000) = 301 rows
    n_train = 3000 - (math.ceil(float(np.float32(0.1)) * 3000) if early else 0)
    assert clf.t_ == n * n_train  # an unfinished epoch is not counted
    if early:
        assert len(clf.validation_scores_) == n
    assert clf.predict(X[:10]).shape == (10,)
    steps = clf._net.step_count()
    assert steps >= n * math.ceil(n_train / 50)  # with the unfinished epoch's batches
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.set_params(warm_start=True, max_iter=2).fit(X, y)  # and it continues from there
    assert clf.n_iter_ == n + 2 and clf._net.step_count() > steps


def test_callback_exception_reaches_the_caller(capfd):
    """verbose prints from mlp_fit's callback: an exception there (print into a closed pipe)
    stops the fit and is raised by fit, not printed and ignored by ctypes."""
    class Broken:
        def write(self, s):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            pass

    X = np.random.RandomState(0).randn(200, 5)
    reg = MLPRegressor(hidden_layer_sizes=(5,), max_iter=50, verbose=True)
    t0 = time.monotonic()
    with contextlib.redirect_stdout(Broken()), pytest.raises(BrokenPipeError):
        reg.fit(X, X[:, 0])
    assert time.monotonic() - t0 < 5.0
    assert "Exception ignored" not in capfd.readouterr().err
    assert not hasattr(reg, "n_iter_")


def test_fit_thread_uses_the_callers_thread_count(monkeypatch):
    """OpenMP's thread count is per thread: the worker that runs mlp_fit takes the count of the
    thread that called fit (here 1, set in this thread only), or threads=n; the caller's stays."""
    real, seen = _lib.lib.mlp_fit, []

    def recording(*args):
        seen.append((_lib.lib.mlp_get_num_threads(),
                     threading.current_thread() is threading.main_thread()))
        return real(*args)

    monkeypatch.setattr(_lib.lib, "mlp_fit", recording)
    X = np.random.RandomState(0).randn(50, 3)
    y = (X[:, 0] > 0).astype(int)
    old = _lib.lib.mlp_get_num_threads()
    try:
        _lib.check(_lib.lib.mlp_set_num_threads(1), "mlp_set_num_threads")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            MLPClassifier(max_iter=2).fit(X, y)
            MLPClassifier(max_iter=2, threads=2).fit(X, y)
        assert _lib.lib.mlp_get_num_threads() == 1
    finally:
        _lib.lib.mlp_set_num_threads(old)
    assert seen == [(1, False), (2, False)]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork")
def test_fit_thread_in_a_forked_child(tmp_path):
    """The fit thread does not survive fork: a forked child starts its own (else its fits
    would wait forever for a thread that is not there)."""
    script = tmp_path / "fork.py"
    script.write_text(textwrap.dedent("""
        import os, signal, time, warnings
        import numpy as np
        from mlp import MLPClassifier
        warnings.simplefilter("ignore")
        X = np.random.RandomState(0).randn(40, 3)
        y = (X[:, 0] > 0).astype(int)
        MLPClassifier(max_iter=3, threads=1).fit(X, y)
        pid = os.fork()
        if pid == 0:
            MLPClassifier(max_iter=3, threads=1).fit(X, y)
            os._exit(7)
        for _ in range(300):  # 30 s, then the child is killed (a hang fails, never blocks)
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                print(os.waitstatus_to_exitcode(status))
                break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            print("hung")
    """))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.strip() == "7", out.stderr
