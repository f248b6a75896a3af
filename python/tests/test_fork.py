"""fork: a process that trained and predicted on 2 threads (its OpenMP teams exist) forks
workers (multiprocessing's 'fork' context) that fit and predict. GNU OpenMP's threads do not
survive fork, so a child that opened a team would wait forever; the C library runs a forked
child's passes on its calling thread, and results do not depend on the thread count: the
children's predictions are the parent's, bit for bit. Every wait has a timeout."""
import copy
import multiprocessing
import os
import warnings

import numpy as np
import pytest

from mlp import MLPClassifier, _lib

TIMEOUT = 60  # seconds for any child's result
_STATE = {}  # what the forked workers inherit (set before the pool forks them)

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork")


def _params():
    # 784 features, hidden 256, batch 200: each step's GEMMs are ~80 MFLOP, above the 8 MFLOP
    # at which a pass opens an OpenMP team (mlp_net_step_threads)
    return dict(hidden_layer_sizes=(256,), batch_size=200, max_iter=2, random_state=0,
                threads=2)


def _child(task):
    """In a forked worker: the inherited estimator's predictions, a new fit's, or a copy of the
    inherited one trained one more epoch (partial_fit), as bytes of predict_proba."""
    est, X, y, Xt = _STATE["est"], _STATE["X"], _STATE["y"], _STATE["Xt"]
    if task == "predict":
        out = est.predict_proba(Xt)
    elif task == "fit":
        out = MLPClassifier(**_params()).fit(X, y).predict_proba(Xt)
    elif task == "partial_fit":
        out = copy.deepcopy(est).partial_fit(X, y).predict_proba(Xt)
    elif task == "step_threads":  # what a step would use here, asking for 2 threads
        _lib.set_openmp_threads(2)
        return os.getpid(), task, _lib.lib.mlp_net_step_threads(est._net.ptr, 200)
    else:
        raise ValueError(task)
    return os.getpid(), task, out.tobytes()


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.rand(2000, 784).astype(np.float32)
    w = rng.randn(784, 4)
    y = np.argmax(X @ w, axis=1)
    Xt = rng.rand(1500, 784).astype(np.float32)
    return X, y, Xt


def test_fit_and_predict_in_forked_children(data):
    X, y, Xt = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: max_iter=2 on purpose
        est = MLPClassifier(**_params()).fit(X, y)
        if (os.cpu_count() or 1) >= 2:
            # a step of this net uses 2 threads on 2 threads (so the parent has OpenMP teams,
            # in the fit thread and, through predict below, in this one)
            old = _lib.lib.mlp_get_num_threads()
            _lib.set_openmp_threads(2)
            try:
                assert _lib.lib.mlp_net_step_threads(est._net.ptr, 200) == 2
            finally:
                _lib.set_openmp_threads(old)
        want = est.predict_proba(Xt).tobytes()
        more = copy.deepcopy(est).partial_fit(X, y).predict_proba(Xt).tobytes()
    _STATE.update(est=est, X=X, y=y, Xt=Xt)
    try:
        tasks = ["predict", "fit", "partial_fit", "predict", "fit", "step_threads"]
        with multiprocessing.get_context("fork").Pool(2) as pool:  # exit: terminate()
            pending = [pool.apply_async(_child, (t,)) for t in tasks]
            results = [r.get(timeout=TIMEOUT) for r in pending]
    finally:
        _STATE.clear()
    assert {pid for pid, _, _ in results} - {os.getpid()}  # ran in children
    assert all(pid != os.getpid() for pid, _, _ in results)
    for pid, task, got in results:
        if task == "step_threads":
            assert got == 1  # a forked child keeps every pass on its calling thread
        else:
            assert got == (more if task == "partial_fit" else want), (task, pid)
