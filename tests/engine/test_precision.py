"""Mixed precision (sktune/engine/_precision.py): bfloat16 steps, float32 state and output."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.datasets import make_classification

from sktune import CNNClassifier, MLPClassifier, MLPRegressor
from sktune.engine import _precision
from sktune.model_selection import GridSearchCV

X, Y = make_classification(n_samples=400, n_features=10, n_informative=6, n_classes=3,
                           random_state=0)
X32 = X.astype(np.float32)
# (256, 256) at batch 200: its middle product (13M multiply-accumulates) computes in
# bfloat16; smaller ones stay float32 (nn._layers.BF16_MIN_MACS)
NET = dict(hidden_layer_sizes=(256, 256), max_iter=5, learning_rate_init=0.003,
           random_state=0, device="cpu")
needs_bf16 = pytest.mark.skipif(not _precision.native_bf16("cpu"),
                                reason="this CPU has no native bfloat16 (a warning case)")


@pytest.mark.parametrize("make, data", [
    (lambda p: MLPClassifier(precision=p, **NET), lambda: (X32, Y)),
    (lambda p: CNNClassifier(channels=(16,), precision=p, n_ensemble=1,
                             **{**NET, "max_iter": 4}),
     lambda: (X32, Y)),  # 10-step signals
    (lambda p: MLPRegressor(precision=p, **NET), lambda: (X32, X32[:, 0] - X32[:, 1])),
])
def test_a_bf16_fit_scores_as_a_float32_fit_does(make, data):
    Xd, yd = data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a CPU without native bf16
        full, mixed = make("full").fit(Xd, yd), make("bf16-mixed").fit(Xd, yd)
    assert abs(full.score(Xd, yd) - mixed.score(Xd, yd)) < 0.05
    assert mixed.loss_curve_[-1] < mixed.loss_curve_[0]
    assert not np.allclose(full.loss_curve_, mixed.loss_curve_)  # bf16 did compute


def test_weights_optimizer_state_and_outputs_stay_in_full_precision():
    clf = MLPClassifier(precision="bf16-mixed", **NET).fit(X, Y)  # float64 input
    net = clf.net_
    assert {p.dtype for p in net.module_.parameters()} == {torch.float32}
    assert {t.dtype for s in net.optimizer_.state.values() for t in s.values()
            if t.is_floating_point() and t.ndim} == {torch.float32}
    assert clf.predict_proba(X).dtype == np.float64  # as a float32 fit on float64 input
    assert clf.predict_proba(X32).dtype == np.float32
    loaded = pickle.loads(pickle.dumps(clf))
    assert loaded.precision == "bf16-mixed"
    assert {p.dtype for p in loaded.net_.module_.parameters()} == {torch.float32}
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    loaded.partial_fit(X, Y)  # continues in bf16
    assert loaded.n_iter_ == 1


def test_sparse_input_and_partial_fit_train_in_bf16():
    Xs = sp.csr_matrix(np.where(np.abs(X) > 1, X, 0.0))
    clf = MLPClassifier(precision="bf16-mixed", **NET).fit(Xs, Y)
    assert clf.score(Xs, Y) > 0.5
    streamed = MLPClassifier(precision="bf16-mixed", **NET)
    for _ in range(3):
        streamed.partial_fit(X32, Y, classes=np.unique(Y))
    assert streamed.n_iter_ == 1 and len(streamed.loss_curve_) == 3


@pytest.mark.parametrize("params, message", [
    ({"precision": "16-mixed"}, "needs a CUDA device"),
    ({"precision": "bf16-mixed", "dtype": "float64"}, "keeps float32 master weights"),
    ({"precision": "bf16-mixed", "solver": "lbfgs"}, "applies to the mini-batch solvers"),
    ({"precision": "fp8"}, "'precision' parameter"),
])
def test_what_a_device_or_setting_cannot_do_is_refused(params, message):
    clf = MLPClassifier(**{**NET, **params})
    with pytest.raises(ValueError, match=message):
        clf.fit(X, Y)
    assert not hasattr(clf, "net_")


def test_a_cpu_without_native_bf16_gets_a_warning(monkeypatch):
    monkeypatch.setattr(_precision, "native_bf16", lambda device: False)
    with pytest.warns(RuntimeWarning, match="no native bfloat16 .* emulated"):
        MLPClassifier(precision="bf16-mixed", **{**NET, "max_iter": 1}).fit(X, Y)


@needs_bf16
def test_fused_bf16_copies_train_as_their_unfused_fits():
    """Within bfloat16 rounding: a stacked product and a single one round differently."""
    grid = {"learning_rate_init": [3e-3, 1e-2]}
    est = MLPClassifier(precision="bf16-mixed", **NET)
    ours = GridSearchCV(est, grid, cv=2, refit=False).fit(X32, Y)
    from sklearn.model_selection import GridSearchCV as SkGridSearchCV

    theirs = SkGridSearchCV(est, grid, cv=2, refit=False).fit(X32, Y)
    np.testing.assert_allclose(ours.cv_results_["mean_test_score"],
                               theirs.cv_results_["mean_test_score"], atol=0.03)


def test_precision_is_an_ordinary_hyperparameter():
    est = MLPClassifier(precision="bf16-mixed", **NET)
    assert clone(est).precision == "bf16-mixed"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        search = GridSearchCV(est, {"precision": ["full", "bf16-mixed"]}, cv=2).fit(X32, Y)
    scores = search.cv_results_["mean_test_score"]
    assert abs(scores[0] - scores[1]) < 0.05


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("ragged", [False, True])
def test_recurrent_networks_train_in_bf16_on_any_cpu(cell, ragged):
    """oneDNN's bfloat16 LSTM needs AVX512-BF16 or AMX: on other CPUs an LSTM under
    bf16-mixed (RNNClassifier's default cell) failed with "could not create a primitive
    descriptor for the LSTM forward propagation primitive". There its recurrent layer
    computes in float32, like the products too small to gain; elsewhere it computes in
    bfloat16."""
    from sktune import RNNClassifier

    Xs = X32[:60].reshape(60, 5, 2)
    if ragged:
        Xs = [row[: 2 + i % 4] for i, row in enumerate(Xs)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a CPU without native bf16
        clf = RNNClassifier(hidden_size=4, cell=cell, max_iter=2, precision="bf16-mixed",
                            random_state=0, device="cpu").fit(Xs, Y[:60])
        search = GridSearchCV(clf, {"alpha": [1e-4, 1e-2]}, cv=2, error_score="raise")
        search.fit(Xs, Y[:60])
    assert np.isfinite(clf.predict_proba(Xs)).all()
    assert {p.dtype for p in clf.net_.module_.parameters()} == {torch.float32}
