"""scikit-learn's own estimator checks (check_estimator, scikit-learn 1.2), one test per check.

Checks expected to fail are listed in XFAIL with the reason (by check name, or by the name with
its arguments as in the test id), as scikit-learn's _xfail_checks tag does; they run as
non-strict xfails (they fail on some data and machines only). Checks that skip
themselves (pandas not installed, no decision_function) show up as skipped."""
import warnings

import pytest
from sklearn.utils.estimator_checks import _get_check_estimator_ids, check_estimator

from mlp import MLPClassifier, MLPRegressor

XFAIL = {
    # predict_proba of a row may differ in its last bit (1 ulp of float32, rel. ~1e-7) when the
    # row sits elsewhere in the batch: OpenBLAS's sgemm rounds a row differently by its position
    # in the kernel's block (full tile or remainder); the check wants rtol 1e-7 on float32
    # outputs. mlp computes in float32, scikit-learn in float64 for float64 X.
    "check_methods_sample_order_invariance":
        "float32 GEMM: a row's last bit depends on its position in the batch",
    # rows of weight 0 change nothing mathematically (mlp_fit's weighted mean), but they are
    # still in the batch's float32 GEMMs and sums: outputs differ from the fit without them in
    # the last bit (rel. ~1e-7 to 1e-6, seen on both estimators); the check wants rtol 1e-7.
    "check_sample_weights_invariance(kind=zeros)":
        "float32: zero-weight rows change the summation order (last-bit differences)",
}


def _cases():
    for Est in (MLPClassifier, MLPRegressor):
        for est, check in check_estimator(Est(), generate_only=True):
            name = getattr(check, "func", check).__name__
            cid = _get_check_estimator_ids(check)  # the name with its keyword arguments
            reason = XFAIL.get(cid, XFAIL.get(name))
            marks = [pytest.mark.xfail(reason=reason, strict=False)] if reason else []
            yield pytest.param(est, check, marks=marks, id="%s-%s" % (Est.__name__, cid))


@pytest.mark.parametrize("estimator, check", list(_cases()))
def test_sklearn_check(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(estimator)
