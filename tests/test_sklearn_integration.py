"""sktune estimators inside scikit-learn's meta-estimators, pipelines and searches."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import loguniform
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    BaggingClassifier,
    StackingClassifier,
    VotingClassifier,
)
from sklearn.exceptions import FitFailedWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, cross_val_score
from sklearn.multioutput import MultiOutputRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sktune import MLPClassifier, MLPRegressor
from tests.conftest import FAST


def test_issue_example_randomized_search_in_pipeline(clf_data):
    X, y = clf_data
    pipe = make_pipeline(StandardScaler(), MLPClassifier(early_stopping=True, max_iter=8,
                                                         random_state=0, device="cpu"))
    search = RandomizedSearchCV(pipe, {
        "mlpclassifier__solver": ["adam", "adamw", "sgd", "rmsprop"],
        "mlpclassifier__learning_rate_init": loguniform(1e-4, 1e-1),
        "mlpclassifier__alpha": loguniform(1e-6, 1e-2),
        "mlpclassifier__l1": [0.0, 1e-5, 1e-4],
        "mlpclassifier__dropout": [0.0, 0.2, 0.5],
        "mlpclassifier__batch_norm": [False, True],
        "mlpclassifier__learning_rate": ["constant", "step", "exponential", "cosine", "plateau"],
    }, n_iter=4, cv=2, random_state=0, error_score="raise").fit(X, y)
    assert search.best_score_ > 0.4
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


# joblib's process pool (loky) starts workers that import torch once per test process: the
# tests that use it share one test process, and so one pool
@pytest.mark.xdist_group("loky")
def test_grid_search_results_identical_for_any_n_jobs(clf_data):
    X, y = clf_data
    grid = {"alpha": [1e-4, 1e-1], "dropout": [0.0, 0.3]}
    results = [GridSearchCV(MLPClassifier(max_iter=4, **FAST), grid, cv=2, n_jobs=n_jobs)
               .fit(X, y).cv_results_["mean_test_score"] for n_jobs in (1, 2)]
    np.testing.assert_array_equal(*results)


@pytest.mark.xdist_group("loky")
def test_torch_uses_one_thread_per_joblib_worker():
    from joblib import Parallel, delayed

    def threads():
        import torch

        return torch.get_num_threads()

    assert Parallel(n_jobs=2)(delayed(threads)() for _ in range(2)) == [1, 1]


def test_diverging_candidate_gets_error_score_and_others_survive(clf_data):
    X, y = clf_data
    search = GridSearchCV(
        MLPClassifier(max_iter=5, solver="sgd", momentum=0.0,
                      **{**FAST, "hidden_layer_sizes": (64, 64)}),
        {"learning_rate_init": [1e12, 0.01]}, cv=2, error_score=np.nan)
    with pytest.warns(FitFailedWarning, match="training diverged"):
        search.fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert np.isnan(scores[0]) and np.isfinite(scores[1])


def test_cross_val_score_and_column_transformer():
    rng = np.random.RandomState(0)
    df = pd.DataFrame({"num": rng.randn(120), "cat": rng.choice(["a", "b", "c"], 120)})
    y = (df["num"] > 0) ^ (df["cat"] == "a")
    pre = ColumnTransformer([("num", StandardScaler(), ["num"]),
                             ("cat", OneHotEncoder(), ["cat"])])
    scores = cross_val_score(make_pipeline(pre, MLPClassifier(max_iter=60, **FAST)), df, y,
                             cv=3)
    assert scores.mean() > 0.7


def test_ensembles_and_calibration(clf_data):
    X, y = clf_data
    mlp = MLPClassifier(max_iter=10, **FAST)
    for meta in (VotingClassifier([("mlp", mlp), ("lr", LogisticRegression())], voting="soft"),
                 StackingClassifier([("mlp", mlp), ("lr", LogisticRegression())], cv=2),
                 BaggingClassifier(mlp, n_estimators=2, random_state=0),
                 CalibratedClassifierCV(mlp, cv=2)):
        meta.fit(X, y)
        assert meta.predict_proba(X).shape == (len(X), 3)
        assert meta.score(X, y) > 0.5


def test_multioutput_regressor_wrapper(reg_data):
    X, y = reg_data
    Y = np.column_stack([y, y ** 2])
    wrapper = MultiOutputRegressor(MLPRegressor(max_iter=20, **FAST)).fit(X, Y)
    assert wrapper.predict(X).shape == Y.shape
