"""A failed, interrupted or diverging fit never leaves a broken or silently worse model."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from skorch.callbacks import Callback

from sktune import (
    CNNClassifier,
    MLPClassifier,
    MLPRegressor,
    RNNRegressor,
    TrainingDivergedError,
)

from .conftest import FAST


class CtrlC(Callback):
    """Raise KeyboardInterrupt in ``epoch`` (1-based counting of this call's epochs)."""

    def __init__(self, epoch=1):
        self.epoch = epoch

    def on_train_begin(self, net, **kwargs):
        self.start_ = len(net.history)

    def on_batch_begin(self, net, **kwargs):
        if len(net.history) - self.start_ == self.epoch:
            raise KeyboardInterrupt


def _state(est, X):
    return (est.n_features_in_, est.classes_.tolist(), est.n_iter_, len(est.loss_curve_),
            est.predict_proba(X).tolist())


def test_a_refit_that_raises_keeps_the_previous_model_whole(clf_data):
    X, y = clf_data
    clf = MLPClassifier(max_iter=5, **FAST).fit(X, y)
    before = _state(clf, X)
    clf.set_params(solver="sgd", learning_rate_init=1e7, momentum=0.99)  # explodes
    with pytest.raises(TrainingDivergedError):
        clf.fit(np.hstack([X, X]), np.where(y == 0, "a", "b"))  # other width and classes
    assert _state(clf, X) == before  # no n_features_in_ or classes_ from the failed fit


def test_a_diverging_warm_start_restores_the_weights_from_before_the_call(clf_data):
    X, y = clf_data
    clf = MLPClassifier(max_iter=30, warm_start=True, **FAST).fit(X, y)
    before = _state(clf, X)
    clf.set_params(learning_rate_init=1e7, solver="sgd", momentum=0.99)
    with pytest.raises(TrainingDivergedError):
        clf.fit(X, y)
    assert _state(clf, X) == before


def test_ctrl_c_in_the_first_epoch_keeps_the_previous_state(clf_data):
    X, y = clf_data
    clf = MLPClassifier(max_iter=5, **FAST).fit(X, y)
    before = _state(clf, X)
    clf.set_params(callbacks=[CtrlC(epoch=1)])
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X, y)
    assert _state(clf, X) == before
    fresh = MLPClassifier(max_iter=5, callbacks=[CtrlC(epoch=1)], **FAST)
    with pytest.raises(KeyboardInterrupt):
        fresh.fit(X, y)
    assert not hasattr(fresh, "net_") and not hasattr(fresh, "classes_")


def test_ctrl_c_later_keeps_the_best_weights_with_consistent_attributes(clf_data):
    X, y = clf_data
    clf = MLPClassifier(max_iter=20, callbacks=[CtrlC(epoch=4)], **FAST)
    with pytest.warns(RuntimeWarning, match="interrupted after 3 of 20 epochs"):
        clf.fit(X, y)
    assert clf.stop_reason_ == "interrupted"
    assert clf.n_iter_ == 3 and len(clf.loss_curve_) == len(clf.history_) == 3
    best = int(np.argmin(clf.loss_curve_))
    reference = MLPClassifier(max_iter=best + 1, n_iter_no_change=np.inf, **FAST).fit(X, y)
    np.testing.assert_allclose(clf.predict_proba(X), reference.predict_proba(X), rtol=1e-6)


_SMALL = dict(random_state=0, device="cpu", max_iter=3)


@pytest.mark.parametrize("make", [
    lambda: CNNClassifier(channels=(4,), hidden_layer_sizes=(8,), **_SMALL),
    lambda: RNNRegressor(hidden_size=4, **_SMALL),
], ids=["cnn", "rnn"])
def test_every_family_fits_transactionally(make, clf_data):
    X, y = clf_data
    est = make()
    target = y if "Classifier" in type(est).__name__ else y.astype(float)
    est.fit(X, target)
    before = est.predict(X).tolist(), est.n_features_in_
    with pytest.raises(ValueError):
        est.fit(X[:, :3], target[:5])  # inconsistent lengths: caught before training
    assert (est.predict(X).tolist(), est.n_features_in_) == before


def test_explosion_without_nan_is_divergence(reg_data):
    X, y = reg_data
    reg = MLPRegressor(learning_rate_init=1e6, solver="sgd", max_iter=20, **{
        k: v for k, v in FAST.items() if k != "learning_rate_init"})
    with pytest.raises(TrainingDivergedError, match="divergence_threshold"):
        reg.fit(X, y)
    assert not hasattr(reg, "net_")


def test_divergence_threshold_is_configurable(reg_data):
    X, y = reg_data
    params = dict(FAST, learning_rate_init=0.5, solver="sgd", momentum=0.0, max_iter=3)
    loose = MLPRegressor(divergence_threshold=None, **params)
    strict = MLPRegressor(divergence_threshold=1.0001, **params)
    try:
        loose.fit(X, y)
    except TrainingDivergedError as exc:  # only a non-finite loss may still stop it
        assert "non-finite" in str(exc)
    with pytest.raises(TrainingDivergedError):
        strict.fit(X, y * 50)


def test_a_diverging_candidate_scores_error_score_and_the_others_survive(reg_data):
    X, y = reg_data
    search = GridSearchCV(MLPRegressor(max_iter=20, solver="sgd", **{
        k: v for k, v in FAST.items() if k != "learning_rate_init"}),
        {"learning_rate_init": [1e-2, 1e6]}, cv=2, error_score=np.nan)
    with pytest.warns(UserWarning):
        search.fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores[0]) and np.isnan(scores[1])


def test_partial_fit_with_bad_input_changes_nothing(clf_data):
    X, y = clf_data
    clf = MLPClassifier(**FAST).partial_fit(X, y, classes=np.unique(y))
    before = _state(clf, X)
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X[:, :2], y)
    with pytest.raises(ValueError, match="not the same as on last call"):
        clf.partial_fit(X, y, classes=[0, 1, 5])
    assert _state(clf, X) == before


def test_clone_of_an_interrupted_estimator_is_clean(clf_data):
    X, y = clf_data
    clf = MLPClassifier(max_iter=5, callbacks=[CtrlC(epoch=1)], **FAST)
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X, y)
    assert clone(clf).set_params(callbacks=None).fit(X, y).n_iter_ == 5


class CtrlCInValidation(Callback):
    """Raise KeyboardInterrupt in the validation pass of this call's ``epoch``-th epoch,
    after its training pass has recorded the epoch's train_loss."""

    def __init__(self, epoch=3):
        self.epoch = epoch

    def on_train_begin(self, net, **kwargs):
        self.start_ = len(net.history)

    def on_batch_begin(self, net, training=None, **kwargs):
        if not training and len(net.history) - self.start_ == self.epoch:
            raise KeyboardInterrupt


def test_ctrl_c_after_an_epochs_training_pass_leaves_no_row_of_the_unfinished_epoch(clf_data):
    """The epoch was interrupted in its validation pass: it is not counted in n_iter_, so
    it must leave no history row, no train loss in loss_curve_ (it left both)."""
    X, y = clf_data
    clf = MLPClassifier(max_iter=10, early_stopping=True, n_iter_no_change=50,
                        callbacks=[CtrlCInValidation(epoch=3)], **FAST)
    with pytest.warns(RuntimeWarning, match="interrupted after 2 of 10 epochs"):
        clf.fit(X, y)
    assert clf.n_iter_ == len(clf.loss_curve_) == len(clf.history_) == 2
    assert len(clf.validation_scores_) == 2
    assert all("valid_score" in row for row in clf.history_)
