"""scikit-learn's estimator checks over the fused searches (sktune/model_selection/_search.py).

The searches are meta-estimators; scikit-learn's checks fit them on its odd inputs (one
feature, few samples, integer or read-only data, pandas, sample weights...), which all
go through the fused path here.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sktune import MLPClassifier, MLPRegressor
from sktune.model_selection import GridSearchCV, HalvingRandomSearchCV
from tests.test_common import EXPECTED_FAILED

_NET = dict(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=60, random_state=0,
            device="cpu")
SEARCHES = [
    GridSearchCV(MLPClassifier(**_NET), {"alpha": [1e-4, 1e-2]}, cv=2),
    GridSearchCV(MLPRegressor(**_NET), {"learning_rate_init": [1e-2, 3e-2]}, cv=2),
    HalvingRandomSearchCV(MLPClassifier(**_NET), {"alpha": [1e-5, 1e-4, 1e-3]}, cv=2,
                          resource="max_iter", min_resources=20, max_resources=60,
                          random_state=0),
]


@parametrize_with_checks(SEARCHES, expected_failed_checks=lambda est: EXPECTED_FAILED)
def test_fused_searches_pass_scikit_learns_checks(estimator, check):
    check(estimator)
