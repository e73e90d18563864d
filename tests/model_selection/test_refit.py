"""The fused searches' refit keeps what the cross-validation learned: the epochs it
chose, or an average of the best candidates (sktune/model_selection/_search.py)."""

import numpy as np
import pytest
from sklearn import model_selection as sk
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import VotingClassifier, VotingRegressor
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktune import MLPClassifier, MLPRegressor
from sktune.model_selection import GridSearchCV, RandomizedSearchCV

X, Y = make_classification(n_samples=160, n_features=6, n_informative=4, random_state=0)
X_R, Y_R = make_regression(n_samples=120, n_features=5, noise=5.0, random_state=0)
EARLY = dict(hidden_layer_sizes=(16,), max_iter=40, early_stopping=True, n_iter_no_change=3,
             validation_fraction=0.25, batch_size=32, random_state=0, device="cpu")
GRID = {"learning_rate_init": [3e-3, 3e-2]}


def test_cv_best_epochs_are_each_fits_best_validation_epoch():
    cv = StratifiedKFold(2)
    search = GridSearchCV(MLPClassifier(**EARLY), GRID, cv=cv).fit(X, Y)
    assert search.cv_best_epochs_.shape == (2, 2)
    for c, params in enumerate(search.cv_results_["params"]):
        for s, (train, _) in enumerate(cv.split(X, Y)):
            alone = MLPClassifier(**EARLY).set_params(**params).fit(X[train], Y[train])
            best = int(np.argmax(alone.validation_scores_)) + 1
            assert best < alone.n_iter_  # it early-stopped: the best epoch is not the last
            assert search.cv_best_epochs_[c, s] == best


def test_refit_trains_for_the_cv_epochs_without_a_hold_out():
    search = GridSearchCV(MLPClassifier(**EARLY), GRID, cv=2).fit(X, Y)
    epochs = int(round(search.cv_best_epochs_[search.best_index_].mean()))
    best = search.best_estimator_
    assert search.refit_max_iter_ == [epochs]
    assert best.n_iter_ == epochs and best.early_stopping is False
    assert best.validation_scores_ is None  # no rows held out: it trained on all of them
    assert best.t_ == epochs * len(X)
    # scikit-learn's refit early-stops on its own hold-out instead
    own = GridSearchCV(MLPClassifier(**EARLY), GRID, cv=2,
                       refit_epochs="early_stopping").fit(X, Y)
    theirs = sk.GridSearchCV(MLPClassifier(**EARLY), GRID, cv=2).fit(X, Y)
    assert own.refit_max_iter_ == [None]
    assert own.best_estimator_.n_iter_ == theirs.best_estimator_.n_iter_
    assert own.best_estimator_.validation_scores_ is not None


def test_refit_without_early_stopping_is_left_alone():
    net = {**EARLY, "early_stopping": False, "max_iter": 5}
    search = GridSearchCV(MLPClassifier(**net), GRID, cv=2).fit(X, Y)
    theirs = sk.GridSearchCV(MLPClassifier(**net), GRID, cv=2).fit(X, Y)
    assert search.refit_max_iter_ == [None]
    np.testing.assert_allclose(search.best_estimator_.coefs_[0],
                               theirs.best_estimator_.coefs_[0])


def test_cv_epochs_reach_a_network_inside_a_target_transformer_and_a_pipeline():
    model = TransformedTargetRegressor(make_pipeline(StandardScaler(), MLPRegressor(**EARLY)),
                                       transformer=StandardScaler())
    space = {"regressor__mlpregressor__learning_rate_init": [3e-3, 3e-2]}
    search = GridSearchCV(model, space, cv=KFold(2)).fit(X_R, Y_R)
    epochs = search.refit_max_iter_[0]
    assert epochs == int(round(search.cv_best_epochs_[search.best_index_].mean()))
    network = search.best_estimator_.regressor_[-1]
    assert network.n_iter_ == epochs and not network.early_stopping


@pytest.mark.parametrize("model, vote", [(MLPClassifier, VotingClassifier),
                                         (MLPRegressor, VotingRegressor)])
def test_refit_ensemble_averages_the_best_candidates(model, vote):
    data = (X, Y) if model is MLPClassifier else (X_R, Y_R / 100)
    search = RandomizedSearchCV(model(**EARLY), {"learning_rate_init": [1e-3, 3e-3, 1e-2,
                                                                        3e-2]},
                                n_iter=4, cv=2, random_state=0, refit_ensemble=3).fit(*data)
    ranks = search.cv_results_["rank_test_score"]
    assert list(search.refit_indices_) == list(np.argsort(ranks, kind="stable")[:3])
    assert search.refit_indices_[0] == search.best_index_
    best = search.best_estimator_
    assert isinstance(best, vote) and len(best.estimators_) == 3
    for member, index in zip(best.estimators_, search.refit_indices_):
        assert member.n_iter_ == int(round(search.cv_best_epochs_[index].mean()))
        # the members trained as one stacked network; each is what its own fit gives
        alone = clone(member.estimator).fit(*data)
        np.testing.assert_allclose(member.predict(data[0]), alone.predict(data[0]),
                                   rtol=1e-9, atol=1e-9)
    if model is MLPClassifier:
        mean = np.mean([m.predict_proba(X) for m in best.estimators_], axis=0)
        np.testing.assert_allclose(search.predict_proba(X), mean)
    else:
        mean = np.mean([m.predict(X_R) for m in best.estimators_], axis=0)
        np.testing.assert_allclose(search.predict(X_R), mean)


def test_the_refit_ensemble_trains_as_one_stacked_network(monkeypatch):
    from sktune.model_selection import _together

    sizes = []
    original = _together.train_stacked

    def spy(runs, *args, **kwargs):
        sizes.append(len(runs))
        return original(runs, *args, **kwargs)

    monkeypatch.setattr(_together, "train_stacked", spy)
    pipe = make_pipeline(StandardScaler(), MLPClassifier(**EARLY))
    grid = {"mlpclassifier__learning_rate_init": [1e-3, 3e-3, 1e-2]}
    search = GridSearchCV(pipe, grid, cv=2, refit_ensemble=3).fit(X, Y)
    assert sizes == [3]
    # their equal preprocessing was fitted once, as the search's fits of a split share it
    scalers = {id(member.estimator[0]) for member in search.best_estimator_.estimators_}
    assert len(scalers) == 1


def test_refit_parameters_are_validated():
    with pytest.raises(ValueError, match="refit_epochs"):
        GridSearchCV(MLPClassifier(**EARLY), GRID, refit_epochs="last").fit(X, Y)
    with pytest.raises(ValueError, match="refit_ensemble"):
        GridSearchCV(MLPClassifier(**EARLY), GRID, refit_ensemble=0).fit(X, Y)
    assert clone(GridSearchCV(MLPClassifier(), GRID, refit_ensemble=2)).refit_ensemble == 2


@pytest.mark.parametrize("model", [MLPClassifier, MLPRegressor])
def test_average_folds_votes_the_cross_validation_fits_without_training(model):
    data = (X, Y) if model is MLPClassifier else (X_R, Y_R / 100)
    cv = StratifiedKFold(2) if model is MLPClassifier else KFold(2)
    search = GridSearchCV(model(**EARLY), GRID, cv=cv, refit_ensemble=2,
                          average_folds=True).fit(*data)
    best = search.best_estimator_
    assert len(best.estimators_) == 4  # 2 candidates x 2 splits, best candidate first
    assert list(search.refit_indices_[:1]) == [search.best_index_]
    for member, (c, (train, _)) in zip(
            best.estimators_, [(c, split) for c in search.refit_indices_
                               for split in cv.split(*data)]):
        # each member is that candidate's fit on that split's training rows, as it was
        alone = model(**EARLY).set_params(**search.cv_results_["params"][c])
        alone.fit(data[0][train], data[1][train])
        assert member.n_iter_ == alone.n_iter_
        np.testing.assert_allclose(member.predict(data[0]), alone.predict(data[0]),
                                   rtol=1e-6, atol=1e-8)
    predict = "predict_proba" if model is MLPClassifier else "predict"
    mean = np.mean([getattr(m, predict)(data[0]) for m in best.estimators_], axis=0)
    np.testing.assert_allclose(getattr(search, predict)(data[0]), mean)


def test_average_folds_needs_the_fused_search():
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(ValueError, match="average_folds=True needs the fused search"):
        GridSearchCV(LogisticRegression(), {"C": [1.0]}, cv=2, average_folds=True).fit(X, Y)
    with pytest.raises(ValueError, match="average_folds"):
        GridSearchCV(MLPClassifier(**EARLY), GRID, average_folds="yes").fit(X, Y)
