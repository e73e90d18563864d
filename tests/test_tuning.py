"""Searching with scikit-learn's halving searches and Optuna, and reading the results."""

import pytest
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import (
    HalvingGridSearchCV, HalvingRandomSearchCV, RandomizedSearchCV,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktune import (
    CNNClassifier, MLPClassifier, RNNClassifier, leaderboard, plot_learning_curves, plot_scores,
    search_space,
)
from tests.conftest import FAST


@pytest.mark.parametrize("make_est,X_of", [
    (lambda: MLPClassifier(**FAST), lambda X: X),
    (lambda: CNNClassifier(channels=(4,), hidden_layer_sizes=(8,), random_state=0,
                           device="cpu"), lambda X: X),
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
    space = search_space(pipe, exclude=["batch_size"])
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


def test_leaderboard_and_plots(clf_data, tmp_path):
    X, y = clf_data
    search = RandomizedSearchCV(MLPClassifier(max_iter=4, early_stopping=True, **{
        k: v for k, v in FAST.items()}), search_space(MLPClassifier(), include=[
            "alpha", "solver", "hidden_layer_sizes"]), n_iter=4, cv=2, random_state=0).fit(X, y)
    table = leaderboard(search, top=3)
    assert len(table) == 3 and table["mean_test_score"].is_monotonic_decreasing
    assert table["rank"].iloc[0] == 1
    plot_scores(search, tmp_path / "scores.png")
    models = plot_learning_curves(search, X, y, tmp_path / "curves.png", top=2)
    assert len(models) == 2
    assert models[0].get_params()["alpha"] == table["alpha"].iloc[0]
    for name in ("scores.png", "curves.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
