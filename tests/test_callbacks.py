"""The ``callbacks`` parameter: skorch callbacks in every estimator's training loop."""

import pickle
import warnings

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


def test_epoch_scoring_scores_the_estimators_own_predictions(clf_data):
    """skorch's EpochScoring, as its docs use it: a scorer name on the validation or the
    training batches. On the validation rows its accuracy is the engine's valid_score."""
    from skorch.callbacks import EpochScoring

    X, y = clf_data
    clf = MLPClassifier(max_iter=4, early_stopping=True, n_iter_no_change=np.inf, callbacks=[
        EpochScoring("accuracy", name="valid_acc", lower_is_better=False),
        EpochScoring("accuracy", name="train_acc", on_train=True, lower_is_better=False),
        EpochScoring("f1_macro", name="train_f1", on_train=True, lower_is_better=False),
    ], **FAST).fit(X, y)
    for row in clf.history_:
        assert row["valid_acc"] == pytest.approx(row["valid_score"])
        assert 0.0 <= row["train_acc"] <= 1.0 and 0.0 <= row["train_f1"] <= 1.0
        assert isinstance(row["valid_acc_best"], bool)
    assert clf.history_[-1]["train_acc"] > 1 / 3  # learned something in 4 epochs


def test_epoch_scoring_with_probabilities_binary_labels_and_a_regressor(reg_data):
    from skorch.callbacks import EpochScoring

    from sktune import MLPRegressor

    X, y = reg_data
    rng = np.random.RandomState(0)
    labels = np.where(X[:, 0] + 0.3 * rng.randn(len(X)) > 0, "yes", "no")
    clf = MLPClassifier(max_iter=5, early_stopping=True, callbacks=[
        EpochScoring("roc_auc", lower_is_better=False)], **FAST).fit(X, labels)
    assert clf.history_[-1]["roc_auc"] > 0.7
    reg = MLPRegressor(max_iter=5, callbacks=[
        EpochScoring("r2", on_train=True, lower_is_better=False)], **FAST).fit(X, y)
    assert reg.history_[-1]["r2"] > reg.history_[0]["r2"]


def test_checkpoint_default_monitor_and_load_init_state_resume_training(clf_data, tmp_path):
    """Checkpoint() monitors valid_loss_best, which the engine records every epoch;
    LoadInitState starts a later fit from the checkpoint's weights and history."""
    import torch
    from skorch.callbacks import LoadInitState

    X, y = clf_data
    checkpoint = Checkpoint(dirname=str(tmp_path), f_optimizer=None)  # weights, history
    first = MLPClassifier(max_iter=6, early_stopping=True, n_iter_no_change=np.inf,
                          callbacks=[checkpoint], **FAST).fit(X, y)
    assert all(isinstance(row["valid_loss_best"], bool) for row in first.history_)
    saved = torch.load(tmp_path / "params.pt")
    best = max(i for i, row in enumerate(first.history_) if row["valid_loss_best"])
    resumed = MLPClassifier(max_iter=1, early_stopping=True,
                            callbacks=[checkpoint, LoadInitState(checkpoint)],
                            **{**FAST, "learning_rate_init": 1e-9}).fit(X, y)
    np.testing.assert_allclose(resumed.coefs_[0], saved["0.weight"].numpy().T, atol=1e-6)
    assert len(resumed.history_) == best + 2  # the checkpoint's epochs, then this one


def test_skorchs_lr_scheduler_sets_the_rate_and_early_stopping_says_so(clf_data):
    from skorch.callbacks import EarlyStopping, LRScheduler
    from torch.optim.lr_scheduler import StepLR

    X, y = clf_data
    clf = MLPClassifier(max_iter=4, callbacks=[LRScheduler(StepLR, step_size=1, gamma=0.1)],
                        **FAST).fit(X, y)
    np.testing.assert_allclose([row["lr"] for row in clf.history_],
                               [1e-2, 1e-3, 1e-4, 1e-5])  # StepLR's rates, not constant
    stopped = MLPClassifier(max_iter=30, callbacks=[
        EarlyStopping(monitor="train_loss", patience=1, threshold=10.0)], **FAST)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "interrupted" warning: it is not a Ctrl-C
        stopped.fit(X, y)
    assert stopped.stop_reason_.startswith("skorch EarlyStopping: train_loss did not")


@pytest.mark.parametrize("params, message", [
    ({"learning_rate": "cosine", "callbacks": ["LRScheduler"]}, "use learning_rate='constant'"),
    ({"callbacks": ["EpochScoring(use_caching=False)"]}, "keep use_caching=True"),
    ({"solver": "lbfgs", "callbacks": ["EpochCounter"]}, "callbacks would never run"),
    ({"callbacks": [("convergence", "EpochCounter")]}, "the engine's own callbacks"),
])
def test_callbacks_the_training_cannot_run_are_refused_with_the_reason(clf_data, params,
                                                                        message):
    from sklearn.utils._param_validation import InvalidParameterError
    from skorch.callbacks import EpochScoring, LRScheduler
    from torch.optim.lr_scheduler import StepLR

    made = {"LRScheduler": LRScheduler(StepLR, step_size=1), "EpochCounter": EpochCounter(),
            "EpochScoring(use_caching=False)": EpochScoring("accuracy", use_caching=False)}
    params = dict(params)
    params["callbacks"] = [(item[0], made[item[1]]) if isinstance(item, tuple) else made[item]
                           for item in params["callbacks"]]
    with pytest.raises(InvalidParameterError, match=message):
        MLPClassifier(**{**FAST, **params}).fit(*clf_data)


@pytest.mark.parametrize("callback", [Checkpoint, EarlyStopping],
                         ids=["Checkpoint", "EarlyStopping"])
@pytest.mark.parametrize("how", ["fit", "partial_fit"])
def test_a_callback_monitoring_validation_rows_without_any_says_how_to_get_them(
        clf_data, tmp_path, callback, how):
    """Checkpoint() and EarlyStopping() monitor valid_loss(_best), which only a fit that
    holds out validation rows records: without them skorch failed at the first epoch's
    end (EarlyStopping with a bare KeyError "Key 'valid_loss' was not found")."""
    X, y = clf_data
    made = callback(dirname=str(tmp_path)) if callback is Checkpoint else callback()
    clf = MLPClassifier(max_iter=2, callbacks=[made], **FAST)
    with pytest.raises(ValueError, match=r"callbacks\[0\] .* monitors 'valid_loss.*"
                                         r"early_stopping=True"):
        if how == "fit":
            clf.fit(X, y)
        else:
            clf.partial_fit(X, y, classes=np.unique(y))
    assert not hasattr(clf, "net_")
    clf.set_params(early_stopping=True).fit(X, y)  # validation rows: as skorch documents
