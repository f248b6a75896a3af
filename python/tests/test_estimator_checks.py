"""scikit-learn's own estimator checks (check_estimator, scikit-learn 1.2), one test per check.

The checks that a float32 engine cannot pass at their float64 tolerances are declared by the
estimators themselves, as scikit-learn asks (_more_tags()['_xfail_checks'], with the reason):
check_estimator then skips them (SkipTest, shown as skipped here), so check_estimator(MLPClassifier())
passes as a whole. Checks that skip themselves (pandas not installed, no decision_function) show
up as skipped too."""
import warnings

import pytest
from sklearn.utils.estimator_checks import _get_check_estimator_ids, check_estimator

from mlp import MLPClassifier, MLPRegressor
from mlp._base import XFAIL_CHECKS


def _cases():
    for Est in (MLPClassifier, MLPRegressor):
        for est, check in check_estimator(Est(), generate_only=True):
            # a declared check comes wrapped (sklearn's _maybe_skip): its id from the check
            cid = _get_check_estimator_ids(getattr(check, "__wrapped__", check))
            yield pytest.param(est, check, id="%s-%s" % (Est.__name__, cid))


@pytest.mark.parametrize("estimator, check", list(_cases()))
def test_sklearn_check(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(estimator)


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_float_tolerance_checks_are_declared(Est):
    tags = Est()._get_tags()
    assert tags["_xfail_checks"] == XFAIL_CHECKS
    assert set(XFAIL_CHECKS) == {"check_methods_sample_order_invariance",
                                 "check_sample_weights_invariance"}
    assert all("float32" in reason for reason in XFAIL_CHECKS.values())


def test_check_estimator_as_a_whole_passes():
    """check_estimator itself (not the per-check generator): the declared checks are skipped,
    every other check passes."""
    for Est in (MLPClassifier, MLPRegressor):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            check_estimator(Est())
