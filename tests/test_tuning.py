"""Searching with scikit-learn's halving searches and Optuna, and reading the results."""

import numpy as np
import pytest
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import (
    HalvingGridSearchCV,
    HalvingRandomSearchCV,
    RandomizedSearchCV,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktune import (
    CNNClassifier,
    MLPClassifier,
    RNNClassifier,
    leaderboard,
    search_space,
)
from tests.conftest import FAST


@pytest.mark.parametrize("make_est,X_of", [
    (lambda: MLPClassifier(**FAST), lambda X: X),
    (lambda: CNNClassifier(channels=(4,), hidden_layer_sizes=(8,), random_state=0,
                           device="cpu", n_ensemble=1), lambda X: X),
    (lambda: RNNClassifier(hidden_size=8, random_state=0, device="cpu"), lambda X: X[:, :, None]),
])
def test_halving_on_epochs_works_for_every_family(clf_data, make_est, X_of):
    X, y = clf_data
    search = HalvingGridSearchCV(make_est(), {"learning_rate_init": [1e-3, 1e-2, 3e-2]},
                                 resource="max_iter", min_resources=2, max_resources=6,
                                 factor=3, cv=2, error_score="raise").fit(X_of(X), y)
    assert sorted(set(search.cv_results_["n_resources"])) == [2, 6]
    assert search.best_estimator_.max_iter == 6
    assert search.best_estimator_.n_iter_ <= 6


def test_halving_random_search_with_default_space_in_a_pipeline(clf_data):
    X, y = clf_data
    pipe = make_pipeline(StandardScaler(), MLPClassifier(random_state=0, device="cpu"))
    space = search_space(pipe, X, cv=2)
    search = HalvingRandomSearchCV(pipe, space, n_candidates=6, resource="mlpclassifier__max_iter",
                                   min_resources=2, max_resources=6, factor=3, cv=2,
                                   random_state=0, error_score="raise").fit(X, y)
    table = leaderboard(search)
    assert table["n_resources"].iloc[0] == 6
    assert {"learning_rate_init", "dropout"} <= set(table.columns)


def test_optuna_search_with_pruning_through_partial_fit(clf_data):
    optuna = pytest.importorskip("optuna")
    from optuna.distributions import CategoricalDistribution, FloatDistribution
    from optuna_integration import OptunaSearchCV

    X, y = clf_data
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    search = OptunaSearchCV(
        MLPClassifier(**FAST),
        {"learning_rate_init": FloatDistribution(1e-4, 1e-1, log=True),
         "dropout": CategoricalDistribution([0.0, 0.3])},
        enable_pruning=True, max_iter=5, n_trials=6, cv=2, random_state=0,
        study=optuna.create_study(direction="maximize",
                                  pruner=optuna.pruners.MedianPruner(n_warmup_steps=1)),
        error_score="raise").fit(X, y)
    states = {t.state.name for t in search.study_.trials}
    assert "COMPLETE" in states
    assert search.best_estimator_.n_iter_ >= 1
    assert {t.intermediate_values.__len__() for t in search.study_.trials} - {0}
    assert len(leaderboard(search)) == 6


def test_default_space_adapts_to_the_data():
    from sklearn.compose import TransformedTargetRegressor

    from sktune import MLPRegressor

    assert search_space(MLPClassifier())["batch_size"] == [32, 64, 128, 256]
    assert search_space(MLPClassifier(), n_samples=200)["batch_size"] == [32, 64]
    # 351 rows, 3-fold CV: 234 rows per fit; early stopping keeps 10% apart -> 210
    assert search_space(MLPClassifier(), np.zeros((351, 2)), cv=3)["batch_size"] == \
        [32, 64]
    assert search_space(MLPClassifier(early_stopping=True), np.zeros((600, 2)),
                        cv=3)["batch_size"] == [32, 64, 128]
    assert "batch_size" not in search_space(MLPClassifier(), n_samples=40)  # default "auto"
    wrapped = TransformedTargetRegressor(make_pipeline(StandardScaler(), MLPRegressor()))
    assert "regressor__mlpregressor__alpha" in search_space(wrapped)


def test_default_space_on_a_small_set_warns_nothing_about_batch_sizes(recwarn):
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=150, n_features=5, random_state=0)
    est = MLPClassifier(max_iter=2, **{k: v for k, v in FAST.items() if k != "random_state"})
    RandomizedSearchCV(est, search_space(est, X, cv=3), n_iter=6, cv=3,
                       random_state=0).fit(X, y)
    assert not [w for w in recwarn if "larger than the sample size" in str(w.message)]


def test_optuna_distributions_keep_every_default_parameter():
    pytest.importorskip("optuna")
    from sktune.model_selection import optuna_distributions

    space = search_space(MLPClassifier())
    dists = optuna_distributions(space)
    assert set(dists) == set(space)
    assert dists["hidden_layer_sizes"].choices == tuple(space["hidden_layer_sizes"])
    assert dists["alpha"].log and dists["alpha"].low == pytest.approx(1e-7)
