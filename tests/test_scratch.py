"""FineTuneClassifier's member trained from scratch (``ensemble_scratch``)."""

import pickle

import numpy as np
import pytest
from sklearn.datasets import load_digits
from torch import nn

from sktune import CNNClassifier, CNNRegressor, FineTuneClassifier
from sktune._scratch import AUTO_MAX_ROWS, plan_member

FAST = dict(max_iter=5, random_state=0, device="cpu")


@pytest.fixture(scope="module")
def transfer():
    X, y = load_digits(return_X_y=True)
    source = CNNClassifier(input_shape=(8, 8), channels=(8, 16), max_iter=10,
                           random_state=0, device="cpu").fit(X[y < 5][:300], y[y < 5][:300])
    return source, X[y >= 5], y[y >= 5]


def _own_proba(clf, X):
    """The fine-tuned network's probabilities, without the member."""
    return super(FineTuneClassifier, clf).predict_proba(X)


def test_auto_trains_a_clone_of_the_source_and_averages_the_probabilities(transfer):
    source, X, y = transfer
    before = source.predict_proba(X[:20])
    clf = FineTuneClassifier(source, **FAST).fit(X[:40], y[:40])
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
                                         "classifier as the backbone"):
        FineTuneClassifier(backbone, ensemble_scratch=True, **FAST).fit(X[:20], y[:20])


def test_class_weight_reaches_the_member(transfer):
    source, X, y = transfer
    clf = FineTuneClassifier(source, class_weight="balanced", **FAST).fit(X[:40], y[:40])
    assert clf.scratch_.class_weight == "balanced"


def test_partial_fit_and_warm_start_continue_the_member(transfer):
    source, X, y = transfer
    clf = FineTuneClassifier(source, **FAST).fit(X[:40], y[:40])
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


def test_a_failing_member_leaves_the_estimator_as_it_was(transfer, monkeypatch):
    source, X, y = transfer
    clf = FineTuneClassifier(source, **FAST).fit(X[:40], y[:40])
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


def test_pickled_ensemble_predicts_the_same(transfer):
    source, X, y = transfer
    clf = FineTuneClassifier(source, **FAST).fit(X[:40], y[:40])
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.predict_proba(X[40:60]), clf.predict_proba(X[40:60]))
