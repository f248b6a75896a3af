"""scikit-learn's own estimator checks (check_estimator, scikit-learn 1.2), one test per check.

Checks expected to fail are listed in XFAIL with the reason, as scikit-learn's _xfail_checks tag
does; they run as non-strict xfails (they fail on some data and machines only). Checks that skip
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
}


def _cases():
    for Est in (MLPClassifier, MLPRegressor):
        for est, check in check_estimator(Est(), generate_only=True):
            name = getattr(check, "func", check).__name__
            marks = [pytest.mark.xfail(reason=XFAIL[name], strict=False)] if name in XFAIL else []
            yield pytest.param(est, check, marks=marks,
                               id="%s-%s" % (Est.__name__, _get_check_estimator_ids(check)))


@pytest.mark.parametrize("estimator, check", list(_cases()))
def test_sklearn_check(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(estimator)
