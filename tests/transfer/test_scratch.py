"""FineTuneClassifier's member trained from scratch (``ensemble_scratch``)."""

import copy
import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from skorch.callbacks import Callback
from torch import nn

from sktune import CNNClassifier, CNNRegressor, FineTuneClassifier, MLPClassifier
from sktune.transfer._scratch import AUTO_MAX_ROWS, plan_member

# one test process runs the module: its module-scoped fitted models are built once
pytestmark = pytest.mark.xdist_group("scratch")

FAST = dict(max_iter=5, random_state=0, device="cpu")


@pytest.fixture(scope="module")
def transfer():
    X, y = load_digits(return_X_y=True)
    source = CNNClassifier(input_shape=(8, 8), channels=(8, 16), max_iter=10,
                           random_state=0, device="cpu").fit(X[y < 5][:300], y[y < 5][:300])
    return source, X[y >= 5], y[y >= 5]


@pytest.fixture(scope="module")
def tuned(transfer):
    """FineTuneClassifier(source, **FAST) fitted on the first 40 rows of task B, with its
    member: tests that change it take a deep copy."""
    source, X, y = transfer
    return FineTuneClassifier(source, **FAST).fit(X[:40], y[:40])


def _own_proba(clf, X):
    """The fine-tuned network's probabilities, without the member."""
    return super(FineTuneClassifier, clf).predict_proba(X)


def test_auto_trains_a_clone_of_the_source_and_averages_the_probabilities(transfer, tuned):
    source, X, y = transfer
    before = source.predict_proba(X[:20])
    clf = tuned
    member = clf.scratch_
    assert type(member) is CNNClassifier and member is not source
    assert member.channels == (8, 16) and member.max_iter == 10  # the source's recipe
    assert member.n_iter_ == 10 and list(member.classes_) == [5, 6, 7, 8, 9]
    assert isinstance(member.random_state, int) and member.random_state != 0
    np.testing.assert_array_equal(source.predict_proba(X[:20]), before)  # source untouched
    expected = (_own_proba(clf, X[40:]) + member.predict_proba(X[40:])) / 2
    np.testing.assert_allclose(clf.predict_proba(X[40:]), expected)
    np.testing.assert_array_equal(clf.predict(X[40:]), clf.classes_[expected.argmax(1)])
    again = FineTuneClassifier(source, **FAST).fit(X[:40], y[:40])
    assert again.scratch_.random_state == member.random_state  # reproducible
    np.testing.assert_allclose(again.predict_proba(X[40:]), clf.predict_proba(X[40:]))
    free = FineTuneClassifier(source, max_iter=1, device="cpu").fit(X[:40], y[:40])
    assert free.scratch_.random_state is None


def test_off_and_the_rules_of_auto(transfer):
    source, X, y = transfer
    off = FineTuneClassifier(source, ensemble_scratch=False, **FAST).fit(X[:40], y[:40])
    assert off.scratch_ is None
    np.testing.assert_array_equal(off.predict_proba(X[40:60]), _own_proba(off, X[40:60]))
    module = FineTuneClassifier(nn.Sequential(nn.Linear(64, 8), nn.ReLU()), **FAST)
    assert module.fit(X[:40], y[:40]).scratch_ is None
    auto = FineTuneClassifier(source)
    assert plan_member(auto, source, np.zeros(AUTO_MAX_ROWS), continuing=False) is not None
    assert plan_member(auto, source, np.zeros(AUTO_MAX_ROWS + 1), continuing=False) is None
    assert plan_member(auto, CNNRegressor(), np.zeros(10), continuing=False) is None
    forced = FineTuneClassifier(source, ensemble_scratch=True)
    assert plan_member(forced, source, np.zeros(AUTO_MAX_ROWS + 1), continuing=False) \
        is not None


@pytest.mark.parametrize("backbone", [nn.Sequential(nn.Linear(64, 8), nn.ReLU()),
                                      "resnet18"])
def test_forcing_it_without_a_classifier_backbone_fails_before_training(backbone):
    X, y = load_digits(return_X_y=True)
    with pytest.raises(ValueError, match="ensemble_scratch=True needs a fitted sktune "
                                         "CNNClassifier, RNNClassifier or MLPClassifier"):
        FineTuneClassifier(backbone, ensemble_scratch=True, **FAST).fit(X[:20], y[:20])


def test_class_weight_reaches_the_member(transfer):
    source, X, y = transfer
    clf = FineTuneClassifier(source, class_weight="balanced", **FAST).fit(X[:40], y[:40])
    assert clf.scratch_.class_weight == "balanced"


def test_partial_fit_and_warm_start_continue_the_member(transfer, tuned):
    source, X, y = transfer
    clf = copy.deepcopy(tuned)
    first = clf.scratch_
    seen = first.t_
    clf.partial_fit(X[40:80], y[40:80])
    assert clf.scratch_ is not first and first.t_ == seen  # continued on a copy
    assert clf.scratch_.t_ == seen + 40
    clf.set_params(warm_start=True).fit(X[:40], y[:40])
    assert clf.scratch_.t_ == seen + 40 + 10 * 40
    streamed = FineTuneClassifier(source, **FAST).partial_fit(X[:40], y[:40],
                                                              classes=np.arange(5, 10))
    assert streamed.scratch_ is None  # "auto": only fit starts a member
    forced = FineTuneClassifier(source, ensemble_scratch=True, **FAST)
    assert forced.partial_fit(X[:40], y[:40], classes=np.arange(5, 10)).scratch_.t_ == 40


def test_a_failing_member_leaves_the_estimator_as_it_was(transfer, tuned, monkeypatch):
    source, X, y = transfer
    clf = copy.deepcopy(tuned)
    member, proba = clf.scratch_, clf.predict_proba(X[100:120])

    def broken(self, *args, **kwargs):
        raise RuntimeError("member failed")

    monkeypatch.setattr(CNNClassifier, "fit", broken)
    with pytest.raises(RuntimeError, match="member failed"):
        clf.fit(X[40:80], y[40:80])
    assert clf.scratch_ is member
    np.testing.assert_array_equal(clf.predict_proba(X[100:120]), proba)
    fresh = FineTuneClassifier(source, **FAST)
    with pytest.raises(RuntimeError, match="member failed"):
        fresh.fit(X[:40], y[:40])
    assert not hasattr(fresh, "net_") and not hasattr(fresh, "scratch_")


def test_pickled_ensemble_predicts_the_same(transfer, tuned):
    source, X, y = transfer
    clf = tuned
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.predict_proba(X[40:60]), clf.predict_proba(X[40:60]))


def _state(clf):
    return {k: v for k, v in clf.__dict__.items()}


def test_a_fit_failing_at_its_end_keeps_network_and_member_together(transfer):
    """The fine-tuning's own end-of-fit warning raised as an error (warnings filtered
    to errors) must not leave the new network beside the old member."""
    source, X, y = transfer
    clf = FineTuneClassifier(source, learning_rate="constant", **FAST).fit(X[:40], y[:40])
    before, proba = _state(clf), clf.predict_proba(X[100:110])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(Warning):
            clf.fit(X[40:80], (y[40:80] < 7).astype(int))
    assert _state(clf).keys() == before.keys()
    assert all(clf.__dict__[k] is v for k, v in before.items())
    np.testing.assert_array_equal(clf.predict_proba(X[100:110]), proba)


class Interrupt(Callback):
    """Ctrl-C at the end of the first epoch, while ``armed``."""
    armed = False

    def on_epoch_end(self, net, **kwargs):
        if Interrupt.armed:
            raise KeyboardInterrupt


class InterruptFirstBatch(Callback):
    """Ctrl-C after the first batch, before any epoch is done, while ``armed``."""
    armed = False

    def on_batch_end(self, net, **kwargs):
        if InterruptFirstBatch.armed:
            raise KeyboardInterrupt


def test_an_interrupt_never_starts_or_keeps_a_half_trained_member(transfer, monkeypatch):
    source, X, y = transfer
    # the fine-tuning is interrupted: the member is not trained at all
    monkeypatch.setattr(Interrupt, "armed", True)
    calls = []
    monkeypatch.setattr(CNNClassifier, "fit", lambda self, *a, **k: calls.append(1))
    with pytest.warns(RuntimeWarning, match="interrupted"):
        clf = FineTuneClassifier(source, callbacks=[("stop", Interrupt())], **FAST).fit(
            X[:40], y[:40])
    assert clf.stop_reason_ == "interrupted" and clf.scratch_ is None and not calls
    monkeypatch.undo()
    # the member is interrupted: it is dropped, with a warning saying so
    Xs, ys = X[:200], y[:200]
    with_cb = CNNClassifier(input_shape=(8, 8), channels=(8,), max_iter=3, random_state=0,
                            device="cpu", callbacks=[("stop", Interrupt())]).fit(Xs, ys)
    monkeypatch.setattr(Interrupt, "armed", True)
    with pytest.warns(RuntimeWarning, match="member from scratch .* was interrupted"):
        clf = FineTuneClassifier(with_cb, **FAST).fit(X[200:240], y[200:240])
    assert clf.scratch_ is None and clf.stop_reason_ != "interrupted"
    # ... also before its first epoch ends: the finished fine-tuning is kept
    early = CNNClassifier(input_shape=(8, 8), channels=(8,), max_iter=3, random_state=0,
                          device="cpu", callbacks=[("stop", InterruptFirstBatch())]).fit(Xs, ys)
    monkeypatch.setattr(InterruptFirstBatch, "armed", True)
    with pytest.warns(RuntimeWarning, match="member from scratch .* was interrupted"):
        clf = FineTuneClassifier(early, **FAST).fit(X[200:240], y[200:240])
    assert clf.scratch_ is None and clf.n_iter_ == FAST["max_iter"]
    # a continued fit interrupted in its fine-tuning keeps the member, and says so
    monkeypatch.setattr(InterruptFirstBatch, "armed", False)
    monkeypatch.setattr(Interrupt, "armed", False)
    clf = FineTuneClassifier(source, callbacks=[("stop", Interrupt())], **FAST).fit(
        X[:40], y[:40])
    member = clf.scratch_
    monkeypatch.setattr(Interrupt, "armed", True)
    with pytest.warns(RuntimeWarning, match="not trained on these rows"):
        clf.partial_fit(X[40:80], y[40:80])
    assert clf.scratch_ is member and clf.stop_reason_ == "interrupted"


def test_changing_the_setting_applies_to_continued_fits(transfer):
    source, X, y = transfer
    clf = FineTuneClassifier(source, warm_start=True, **FAST).fit(X[:40], y[:40])
    assert clf.scratch_ is not None
    assert clf.set_params(ensemble_scratch=False).fit(X[:40], y[:40]).scratch_ is None
    clf.set_params(ensemble_scratch=True).partial_fit(X[:40], y[:40])
    assert clf.scratch_.t_ == 40  # started by partial_fit, as True asks
    numpy_true = FineTuneClassifier(source, ensemble_scratch=np.True_, **FAST)
    assert numpy_true.fit(X[:40], y[:40]).scratch_ is not None


def test_members_that_cannot_be_trained_are_refused_or_adapted(transfer):
    source, X, y = transfer
    lbfgs = MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=5,
                          random_state=0, device="cpu").fit(X[:100], y[:100])
    clf = FineTuneClassifier(lbfgs, ensemble_scratch=True, **FAST)
    with pytest.raises(ValueError, match="cannot be trained by partial_fit"):
        clf.partial_fit(X[:40], y[:40], classes=np.arange(5, 10))
    assert not hasattr(clf, "net_")
    fitted = FineTuneClassifier(lbfgs, **FAST).fit(X[:40], y[:40])
    member = fitted.scratch_
    with pytest.warns(UserWarning, match="has no partial_fit: it keeps what fit taught"):
        fitted.partial_fit(X[40:80], y[40:80])
    assert fitted.scratch_.n_iter_ == member.n_iter_
    with pytest.raises(ValueError, match="cannot be trained by partial_fit"):
        fitted.set_params(ensemble_scratch=True).partial_fit(X[40:80], y[40:80])
    stopping = CNNClassifier(input_shape=(8, 8), channels=(8,), max_iter=5,
                             early_stopping=True, random_state=0, device="cpu").fit(X, y)
    few = np.concatenate([np.flatnonzero(y == c)[:2] for c in range(5, 10)])
    member = FineTuneClassifier(stopping, **FAST).fit(X[few], y[few]).scratch_
    assert member.early_stopping is False  # 10 rows cannot spare a validation split


def test_a_fine_tuner_backbone_gets_no_member(transfer, tuned):
    """Its clone would fine-tune the same pretrained network again: not from scratch."""
    source, X, y = transfer
    tuned = copy.deepcopy(tuned)
    assert FineTuneClassifier(tuned, **FAST).fit(X[40:80], y[40:80]).scratch_ is None
    with pytest.raises(ValueError, match="got FineTuneClassifier"):
        FineTuneClassifier(tuned, ensemble_scratch=True, **FAST).fit(X[40:80], y[40:80])
