"""How one call trains (sktune/_training.py): continuing a network after its parameters
changed."""

import copy

import numpy as np
import pytest
from sklearn.datasets import make_classification

from sktune import CNNClassifier, MLPClassifier, RNNClassifier

from .conftest import FAST


@pytest.fixture(scope="module")
def warm(clf_data):
    return MLPClassifier(max_iter=3, warm_start=True, **FAST).fit(*clf_data)


@pytest.mark.parametrize("how", ["fit", "partial_fit"])
@pytest.mark.parametrize("change, layers", [
    ({"activation": "tanh"}, ["Linear", "Tanh", "Linear"]),
    ({"dropout": 0.5}, ["Linear", "ReLU", "Dropout", "Linear"]),
])
def test_a_continued_fit_rebuilds_the_network_it_describes_with_the_fitted_weights(
        warm, clf_data, how, change, layers):
    est = copy.deepcopy(warm).set_params(**change)
    fitted = [w.copy() for w in est.coefs_]
    if how == "fit":  # a negligible learning rate: the weights stay where they started
        est.set_params(solver="sgd", learning_rate_init=1e-12).fit(*clf_data)
        for w, f in zip(est.coefs_, fitted):
            np.testing.assert_allclose(w, f, atol=1e-9)
    else:  # partial_fit keeps its optimizer: one more epoch from the fitted weights
        initial = MLPClassifier(max_iter=1, **FAST)._begin_fit(*clf_data).net.module_
        est.partial_fit(*clf_data)
        after = est.coefs_[0]
        assert np.abs(after - fitted[0]).mean() < np.abs(
            after - initial[0].weight.detach().numpy().T).mean()
    assert [type(m).__name__ for m in est.net_.module_] == layers
    assert est.n_iter_ == (3 if how == "fit" else 1)


@pytest.mark.parametrize("how", ["fit", "partial_fit"])
@pytest.mark.parametrize("change, named", [
    ({"hidden_layer_sizes": (32,)}, r"hidden_layer_sizes=\(32,\) \(fitted with \(16,\)\)"),
    ({"batch_norm": True}, r"batch_norm=True \(fitted with False\)"),
])
def test_a_continued_fit_refuses_weights_that_do_not_fit_and_changes_nothing(
        warm, clf_data, how, change, named):
    est = copy.deepcopy(warm).set_params(**change)
    before = est.predict_proba(clf_data[0])
    with pytest.raises(ValueError, match=named):
        getattr(est, how)(*clf_data)
    np.testing.assert_array_equal(est.predict_proba(clf_data[0]), before)
    assert len(est.net_.module_) == 3


def test_other_families_rebuild_too(clf_data):
    X, y = clf_data
    cnn = CNNClassifier(channels=(4,), max_iter=2, warm_start=True, n_ensemble=1,
                        **FAST).fit(X, y)
    assert cnn.net_.module_.pools == [None]  # signals: no pooling between blocks by default
    assert cnn.set_params(pooling="avg").fit(X, y).net_.module_.pools == ["avg"]
    with pytest.raises(ValueError, match="kernel_size=5"):
        cnn.set_params(kernel_size=5).fit(X, y)
    rnn = RNNClassifier(hidden_size=4, max_iter=2, warm_start=True, **FAST).fit(X, y)
    with pytest.raises(ValueError, match="cell='gru' \\(fitted with 'lstm'\\)"):
        rnn.set_params(cell="gru").fit(X, y)


def test_partial_fit_follows_the_current_settings_and_keeps_what_it_learned(clf_data):
    """scikit-learn's partial_fit reads alpha and verbose at every call; sktune's reads
    every setting but the optimizer's (solver, learning rate): L1, L2, clipping, verbosity,
    callbacks, freezing. A callback whose settings did not change keeps its state."""
    from skorch.callbacks import EpochScoring

    X, y = clf_data
    clf = MLPClassifier(**FAST)
    clf.partial_fit(X, y, classes=np.unique(y))
    lr_schedule = dict(clf.net_.callbacks_)["lr_schedule"]
    clf.set_params(alpha=1.0, l1=1e-3, max_grad_norm=0.5,
                   callbacks=[EpochScoring("accuracy", on_train=True, name="acc")])
    clf.partial_fit(X, y)
    net = clf.net_
    assert net.l1 == 1e-3 and net.weight_decay == pytest.approx(1.0 / min(200, len(X)))
    assert "grad_clip" in dict(net.callbacks_) and "acc" in clf.history_[-1]
    assert dict(net.callbacks_)["lr_schedule"].get_params() == lr_schedule.get_params()
    assert len(net.optimizer_.state) > 0  # Adam's moments carried on


def test_a_finite_schedule_restarts_in_each_warm_start_fit_and_ends_without_a_warning(
        clf_data):
    X, y = clf_data
    clf = MLPClassifier(learning_rate="cosine", max_iter=3, warm_start=True, **FAST)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a completed schedule is not "not converged"
        clf.fit(X, y)
        first = clf.predict_proba(X)
        clf.fit(X, y)
    rates = [row["lr"] for row in clf.history_]
    assert rates[:3] == rates[3:] and rates[0] > rates[2] > 0  # the schedule ran again
    assert clf.stop_reason_ == "the cosine learning-rate schedule is complete"
    assert np.abs(clf.predict_proba(X) - first).max() > 0
    with pytest.warns(RuntimeWarning, match="learning rate of 0 and changed no weight"):
        clf.partial_fit(X, y)  # past its schedule, min_learning_rate=0


def _token_ids(n=40, length=10, seed=0):
    from sktune._text import TokenIds

    rng = np.random.RandomState(seed)
    return TokenIds(rng.randint(1, 20, size=(n, length))), rng.randint(0, 2, n)


@pytest.mark.parametrize("how", ["fit", "partial_fit"])
@pytest.mark.parametrize("make, change, named", [
    # settings resolved from the data at the first fit: a change must reach the network
    (lambda: RNNClassifier(hidden_size=4, frontend="strided"), {"downsample": 2},
     r"downsample=2"),
    (lambda: RNNClassifier(hidden_size=4), {"frontend": "strided"}, r"frontend='strided'"),
    (lambda: CNNClassifier(channels=(4,), embedding_dim=4), {"embedding_dim": 8},
     r"embedding_dim=8 \(fitted with 4\)"),
    (lambda: RNNClassifier(hidden_size=4, embedding_dim=4), {"embedding_dim": None},
     r"embedding_dim=None"),
    (lambda: CNNClassifier(channels=(4,), embedding_dim=4), {"embedding_dim": None},
     r"embedding_dim=None"),
    (lambda: RNNClassifier(hidden_size=4, embedding_dim=None), {"embedding_dim": 4},
     r"embedding_dim=4"),
    # how X is read: the error names the parameter, not only the shapes
    (lambda: CNNClassifier(channels=(4,), input_shape=(4, 4)), {"input_shape": (2, 8)},
     r"input_shape=\(2, 8\)"),
    (lambda: CNNClassifier(channels=(4,), input_shape=(4, 4)), {"conv_dim": 1},
     r"conv_dim=1"),
    # the dtype the network trains in
    (lambda: MLPClassifier(hidden_layer_sizes=(4,), dtype="float32"), {"dtype": "float64"},
     r"dtype='float64'"),
])
def test_a_continued_fit_never_keeps_a_network_its_parameters_no_longer_describe(
        how, make, change, named):
    """A change that the fitted network cannot follow raises, naming the parameter, and
    changes nothing; before, a changed downsample, embedding_dim or dtype was ignored (the
    network kept the first fit's) or crashed with torch's error."""
    X, y = make_classification(n_samples=40, n_features=16, random_state=0)
    est = make()
    if "embedding_dim" in change:
        X, y = _token_ids()
    elif isinstance(est, RNNClassifier):
        X = X.reshape(-1, 8, 2)
    est.set_params(max_iter=1, warm_start=True, **FAST).fit(X, y)
    module, before = repr(est.net_.module_), est.predict_proba(X)
    params = est.get_params()
    est.set_params(**change)
    with pytest.raises(ValueError, match=named):
        getattr(est, how)(X, y)
    assert repr(est.net_.module_) == module
    est.set_params(**params)
    np.testing.assert_array_equal(est.predict_proba(X), before)
