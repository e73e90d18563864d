"""The ``callbacks`` parameter: skorch callbacks in every estimator's training loop."""

import pickle

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from skorch.callbacks import Callback, Checkpoint, EarlyStopping, ProgressBar

from sktune import CNNClassifier, MLPClassifier

from .conftest import FAST


class EpochCounter(Callback):
    """State in attributes ending with ``_``, parameters in ``__init__`` (skorch's rule)."""

    def initialize(self):
        self.epochs_ = 0
        return self

    def on_epoch_end(self, net, **kwargs):
        self.epochs_ += 1


class StopBelow(Callback):
    """A custom stopping rule: stop once the training loss is below ``threshold``."""

    def __init__(self, threshold):
        self.threshold = threshold

    def on_epoch_end(self, net, **kwargs):
        if net.history[-1, "train_loss"] < self.threshold:
            net.request_stop(f"train_loss below {self.threshold}")


def test_custom_stopping_rule_ends_training_with_its_reason(clf_data):
    X, y = clf_data
    clf = MLPClassifier(max_iter=200, callbacks=[StopBelow(0.6)], **FAST).fit(X, y)
    assert clf.stop_reason_ == "train_loss below 0.6" and clf.n_iter_ < 200
    assert clf.loss_curve_[-1] < 0.6 <= min(clf.loss_curve_[:-1])


def test_the_parameter_is_never_modified_and_clones_and_pickles(clf_data):
    X, y = clf_data
    counter = EpochCounter()
    clf = MLPClassifier(max_iter=3, callbacks=[("count", counter)], **FAST).fit(X, y)
    assert not hasattr(counter, "epochs_")  # the fit used a copy
    used = dict(clf.net_.callbacks_)["count"]
    assert used.epochs_ == 3 and used is not counter
    assert clone(clf).callbacks[0][1] is not counter
    assert pickle.loads(pickle.dumps(clf)).predict(X[:2]).shape == (2,)


def test_skorchs_own_callbacks_work(clf_data, tmp_path, capsys):
    X, y = clf_data
    clf = MLPClassifier(max_iter=30, early_stopping=True, n_iter_no_change=np.inf, callbacks=[
        Checkpoint(monitor="valid_score_best", dirname=str(tmp_path)),
        EarlyStopping(monitor="valid_loss", patience=2, threshold=0.5),
        ProgressBar(),  # per-batch hooks: the engine then records per-batch rows
    ], **FAST).fit(X, y)
    assert (tmp_path / "params.pt").exists()
    assert clf.n_iter_ < 30  # skorch's EarlyStopping ended it (through KeyboardInterrupt)


def test_callbacks_in_a_search_and_another_family(clf_data):
    X, y = clf_data
    search = GridSearchCV(MLPClassifier(max_iter=2, callbacks=[EpochCounter()], **FAST),
                          {"alpha": [1e-4, 1e-2]}, cv=2).fit(X, y)
    assert len(search.cv_results_["params"]) == 2
    cnn = CNNClassifier(channels=(4,), hidden_layer_sizes=(8,), max_iter=2, random_state=0,
                        callbacks=[StopBelow(10.0)]).fit(X, y)
    assert cnn.n_iter_ == 1


def test_a_callback_that_is_not_a_list_is_rejected(clf_data):
    from sklearn.utils._param_validation import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="'callbacks' parameter"):
        MLPClassifier(callbacks=EpochCounter()).fit(*clf_data)


def test_joblib_round_trip_with_callbacks(clf_data, tmp_path):
    X, y = clf_data
    clf = MLPClassifier(max_iter=2, callbacks=[EpochCounter()], **FAST).fit(X, y)
    joblib.dump(clf, tmp_path / "m.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "m.joblib").predict(X), clf.predict(X))
