"""SeedEnsembleClassifier / SeedEnsembleRegressor: members that differ only in their seed,
trained as one stacked network, averaged."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_regression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktune import (
    CNNClassifier,
    MLPClassifier,
    MLPRegressor,
    SeedEnsembleClassifier,
    SeedEnsembleRegressor,
)

FAST = dict(hidden_layer_sizes=(16,), max_iter=15, learning_rate_init=0.01, device="cpu",
            dtype="float64")


def test_members_train_as_one_stacked_network_and_equal_their_own_fits(clf_data,
                                                                       monkeypatch):
    """One fused run trains every member; each equals the fit it would get alone, and
    the ensemble's probabilities are the members' mean."""
    import sktune.model_selection._together as together

    X, y = clf_data
    runs = []
    train_stacked = together.train_stacked
    monkeypatch.setattr(together, "train_stacked",
                        lambda fits: runs.append(len(fits)) or train_stacked(fits))
    ens = SeedEnsembleClassifier(MLPClassifier(**FAST), n_estimators=3,
                                 random_state=0).fit(X, y)
    assert runs == [3]
    assert len(set(ens.seeds_)) == 3
    assert [m.random_state for m in ens.estimators_] == list(ens.seeds_)
    for member in ens.estimators_:
        alone = clone(member).fit(X, y)
        np.testing.assert_allclose(member.predict_proba(X), alone.predict_proba(X),
                                   atol=1e-9)
    mean = np.mean([m.predict_proba(X) for m in ens.estimators_], axis=0)
    np.testing.assert_allclose(ens.predict_proba(X), mean)
    np.testing.assert_array_equal(ens.predict(X), ens.classes_[mean.argmax(1)])
    assert ens.n_features_in_ == X.shape[1]


def test_seeds_reach_every_step_of_a_pipeline_and_weights_reach_the_network(clf_data):
    X, y = clf_data
    pipe = make_pipeline(StandardScaler(), MLPClassifier(**FAST))
    weights = np.where(y == 0, 5.0, 1.0)
    ens = SeedEnsembleClassifier(pipe, n_estimators=2, random_state=1)
    ens.fit(X, y, sample_weight=weights)
    seeds = [m[-1].random_state for m in ens.estimators_]
    assert seeds == list(ens.seeds_)
    plain = SeedEnsembleClassifier(pipe, n_estimators=2, random_state=1).fit(X, y)
    assert not np.allclose(ens.predict_proba(X), plain.predict_proba(X))


def test_regressor_averages_and_equals_a_repeat_with_the_same_random_state():
    X, y = make_regression(n_samples=120, n_features=5, noise=5.0, random_state=0)
    y = y / y.std()
    ens = SeedEnsembleRegressor(MLPRegressor(**FAST), n_estimators=3, random_state=0)
    pred = ens.fit(X, y).predict(X)
    np.testing.assert_allclose(pred, np.mean([m.predict(X) for m in ens.estimators_], 0))
    again = clone(ens).fit(X, y).predict(X)
    np.testing.assert_allclose(pred, again, atol=1e-9)
    assert ens.score(X, y) > 0.5


def test_signal_cnns_stack_too():
    rng = np.random.RandomState(0)
    X = rng.randn(40, 30)
    y = (X[:, :10].mean(1) > 0).astype(int)
    base = CNNClassifier(channels=(4,), kernel_size=(3,), max_iter=2, dtype="float64",
                         device="cpu", n_ensemble=1)  # one network per member: they stack
    ens = SeedEnsembleClassifier(base, n_estimators=2, random_state=0).fit(X, y)
    alone = clone(ens.estimators_[1]).fit(X, y)
    np.testing.assert_allclose(ens.estimators_[1].predict_proba(X),
                               alone.predict_proba(X), atol=1e-9)


def test_an_estimator_without_a_seed_is_refused_by_name(clf_data):
    X, y = clf_data
    with pytest.raises(ValueError, match="KNeighborsClassifier has no random_state"):
        SeedEnsembleClassifier(KNeighborsClassifier(),
                               n_estimators=2).fit(X, y)


def test_a_failed_refit_keeps_the_fitted_ensemble(clf_data):
    X, y = clf_data
    ens = SeedEnsembleClassifier(MLPClassifier(**FAST), n_estimators=2,
                                 random_state=0).fit(X, y)
    before = ens.predict_proba(X)
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ens.fit(bad, y)
    np.testing.assert_array_equal(ens.predict_proba(X), before)


def test_the_default_members_are_the_families_mlps():
    members, seeds = SeedEnsembleClassifier(n_estimators=2, random_state=0)._members()
    assert all(type(m) is MLPClassifier for m in members)
    assert [m.random_state for m in members] == list(seeds)
    members, _ = SeedEnsembleRegressor(n_estimators=2)._members()
    assert all(type(m) is MLPRegressor for m in members)
