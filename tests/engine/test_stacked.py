"""Fused training reproduces each copy's unfused fit (sktune/engine/_stacked.py)."""

import pickle

import numpy as np
import pytest
import torch
from scipy import sparse
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from skorch.callbacks import Callback

from sktune import MLPClassifier, MLPRegressor, RNNClassifier, TrainingDivergedError
from sktune.engine import train_stacked
from sktune.model_selection._fusion import fusion_signature

X_C, Y_C = make_classification(n_samples=230, n_features=6, n_informative=4, n_classes=3,
                               random_state=0)
X_R, Y_R = make_regression(n_samples=200, n_features=5, noise=0.5, random_state=0)
Y_R = Y_R / Y_R.std()
BASE = dict(hidden_layer_sizes=(12, 7), max_iter=5, batch_size=32, random_state=0,
            device="cpu", learning_rate_init=0.01)

# every setting below differs per copy inside ONE fused group
CLASSIFIER_CANDIDATES = [
    {},
    {"solver": "sgd", "learning_rate_init": 0.05, "momentum": 0.7},
    {"solver": "sgd", "nesterovs_momentum": False, "momentum": 0.0},
    {"solver": "adamw", "alpha": 0.05, "beta_1": 0.8, "beta_2": 0.99},
    {"solver": "rmsprop", "learning_rate_init": 3e-3, "epsilon": 1e-6},
    {"learning_rate": "step", "lr_step_size": 2, "lr_decay": 0.5, "warmup_epochs": 1},
    {"learning_rate": "exponential", "l1": 1e-3, "alpha": 1e-2},
    {"learning_rate": "cosine", "max_iter": 3, "min_learning_rate": 1e-4},
    {"learning_rate": "plateau", "lr_patience": 0, "tol": 0.5},
    {"solver": "sgd", "learning_rate": "invscaling", "learning_rate_init": 0.2},
    {"solver": "sgd", "learning_rate": "adaptive", "n_iter_no_change": 1, "tol": 0.3},
    {"early_stopping": True, "n_iter_no_change": 1, "tol": 0.2, "max_iter": 12,
     "validation_fraction": 0.2},
    {"early_stopping": True, "restore_best_weights": False, "max_iter": 7},
    {"max_grad_norm": 0.05, "random_state": 7},
    {"class_weight": "balanced", "shuffle": False},
    {"n_iter_no_change": 1, "tol": 1.0, "max_iter": 9},  # stops early on its own rule
]


def _fit_both(base, candidates, data):
    """Each candidate fitted unfused, and all of them fused as one group."""
    fused = [clone(base).set_params(**c) for c in candidates]
    runs = [est._begin_fit(*d) for est, d in zip(fused, data)]
    assert len({fusion_signature(r) for r in runs}) == 1
    outcomes = train_stacked(runs)
    for est, run, outcome in zip(fused, runs, outcomes):
        if outcome.error is None:
            est._end_fit(run)
    unfused = []
    for c, d in zip(candidates, data):
        est = clone(base).set_params(**c)
        try:
            unfused.append(est.fit(*d))
        except ValueError as exc:
            unfused.append(exc)
    return fused, unfused, outcomes


def _assert_same_fit(a, b, rtol=1e-9, atol=1e-10):
    for wa, wb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_allclose(wa, wb, rtol=rtol, atol=atol)
    assert a.n_iter_ == b.n_iter_ and a.t_ == b.t_
    assert a.stop_reason_ == b.stop_reason_
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=rtol)
    if b.validation_scores_ is not None:
        np.testing.assert_allclose(a.validation_scores_, b.validation_scores_, rtol=rtol)
        assert a.best_validation_score_ == pytest.approx(b.best_validation_score_, rel=rtol)
    assert [set(r) for r in a.history_] == [set(r) for r in b.history_]
    for ra, rb in zip(a.history_, b.history_):
        for key in ("lr", "valid_loss", "train_loss", "epoch"):
            if key in rb:
                assert ra[key] == pytest.approx(rb[key], rel=rtol)
    assert a._no_improvement_count == b._no_improvement_count
    assert a._optimizer.learning_rate == pytest.approx(b._optimizer.learning_rate, rel=rtol)


def test_fused_classifiers_equal_their_unfused_fits():
    # folds of different sizes: ragged last batches, different batch counts
    data = [(X_C[:100 - 7 * (i % 3)], Y_C[:100 - 7 * (i % 3)]) for i in
            range(len(CLASSIFIER_CANDIDATES))]
    fused, unfused, outcomes = _fit_both(MLPClassifier(**BASE), CLASSIFIER_CANDIDATES, data)
    assert all(o.error is None for o in outcomes)
    assert len({f.n_iter_ for f in fused}) > 2  # copies stopped at different epochs
    for f, u in zip(fused, unfused):
        _assert_same_fit(f, u)
        X = data[0][0]
        np.testing.assert_allclose(f.predict_proba(X), u.predict_proba(X), atol=1e-9)
        # a fused fit owns its weights: it pickles and predicts like any other
        np.testing.assert_array_equal(pickle.loads(pickle.dumps(f)).predict_proba(X),
                                      f.predict_proba(X))
        # the optimizer state continues exactly: one more epoch each
        f.partial_fit(X, data[0][1]) if not f.early_stopping else None
        u.partial_fit(X, data[0][1]) if not u.early_stopping else None
        _assert_same_fit(f, u)


def test_fused_copies_run_torchs_fused_optimizer_kernels(monkeypatch):
    # the copies' Adam, AdamW and SGD updates are the kernels their unfused fits run
    # (their equality is the test above); the stacked rules stay for RMSprop, for
    # optimizers created without fused=True, and for a step where only some SGD copies
    # are on their first step
    calls = {}
    for name in ("_fused_adam_", "_fused_adamw_", "_fused_sgd_"):
        original = getattr(torch, name)

        def spy(*args, _name=name, _original=original, **kwargs):
            calls[_name] = calls.get(_name, 0) + 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(torch, name, spy)
    fused = [clone(MLPClassifier(**BASE)).set_params(**c) for c in CLASSIFIER_CANDIDATES[:4]]
    runs = [est._begin_fit(X_C, Y_C) for est in fused]
    calls.clear()
    train_stacked(runs)
    assert set(calls) == {"_fused_adam_", "_fused_adamw_", "_fused_sgd_"}
    for est, run, c in zip(fused, runs, CLASSIFIER_CANDIDATES):
        est._end_fit(run)
        _assert_same_fit(est, clone(MLPClassifier(**BASE)).set_params(**c).fit(X_C, Y_C))


def test_fused_regressors_with_sample_weights_and_losses_equal_unfused():
    Xr, yr = X_R[:100], Y_R[:100]  # 3 batches of 32 and a ragged one
    rng = np.random.RandomState(0)
    weights = rng.uniform(0.1, 2, len(Xr))
    candidates = [{}, {"alpha": 1e-2}, {"solver": "sgd", "learning_rate_init": 0.01},
                  {"early_stopping": True, "max_iter": 8}, {"random_state": 3}]
    data = [(Xr, yr, weights), (Xr, yr, None), (Xr[:90], yr[:90], weights[:90]),
            (Xr, yr, weights), (Xr, np.c_[yr, -yr][:, 0], None)]
    for loss in ("squared_error", "huber"):
        base = MLPRegressor(loss=loss, **BASE)
        fused, unfused, outcomes = _fit_both(base, candidates, data)
        for f, u in zip(fused, unfused):
            _assert_same_fit(f, u)


@pytest.mark.parametrize("tabular", [
    {"numeric_embedding": "periodic"},
    {"n_ensemble": 4, "label_smoothing": 0.1},
    {"numeric_embedding": "periodic", "n_ensemble": 3, "batch_norm": True},
    {"numeric_embedding": "periodic", "flags": True},  # 0/1 columns pass the embedding
])
def test_fused_tabular_mlps_equal_their_unfused_fits(tabular):
    # periodic embeddings and TabM-style members train fused (nn.StackedTabularMLP);
    # per-copy rates, schedules, stopping and ragged folds as for the plain MLP
    candidates = [{}, {"solver": "sgd", "learning_rate_init": 0.05, "momentum": 0.7},
                  {"learning_rate": "cosine", "alpha": 1e-2},
                  {"early_stopping": True, "max_iter": 8, "validation_fraction": 0.2},
                  {"random_state": 5}]
    tabular = dict(tabular)
    Xc = np.c_[X_C, X_C[:, :2] > 0] if tabular.pop("flags", False) else X_C
    data = [(Xc[:100 - 7 * i], Y_C[:100 - 7 * i]) for i in range(len(candidates))]
    atol = BN_ATOL if tabular.get("batch_norm") else 1e-10
    base = MLPClassifier(**{**BASE, **tabular})
    fused, unfused, outcomes = _fit_both(base, candidates, data)
    assert all(o.error is None for o in outcomes)
    for f, u in zip(fused, unfused):
        _assert_same_fit(f, u, atol=atol)
        np.testing.assert_allclose(f.predict_proba(Xc), u.predict_proba(Xc), atol=1e-9)
    regression = {k: v for k, v in tabular.items() if k != "label_smoothing"}
    reg, unreg, outcomes = _fit_both(MLPRegressor(**BASE, **regression), candidates[:3],
                                     [(X_R[:90], Y_R[:90])] * 3)
    for f, u in zip(reg, unreg):
        np.testing.assert_allclose(f.predict(X_R), u.predict(X_R), rtol=1e-9, atol=1e-9)


# The bias of a linear layer followed by batch norm has no effect and a zero gradient up
# to rounding; Adam turns that rounding into updates of about lr * 1e-17 / epsilon, so
# those biases agree to ~1e-9 only, while everything the model computes agrees tightly.
BN_ATOL = 1e-8


def test_batch_norm_copies_keep_their_own_statistics():
    base = MLPClassifier(batch_norm=True, **BASE)
    candidates = [{}, {"learning_rate_init": 1e-3}, {"early_stopping": True, "max_iter": 6}]
    data = [(X_C, Y_C), (X_C[:200], Y_C[:200]), (X_C[:211], Y_C[:211])]
    fused, unfused, _ = _fit_both(base, candidates, data)
    for f, u in zip(fused, unfused):
        _assert_same_fit(f, u, atol=BN_ATOL)
        np.testing.assert_allclose(f.predict_proba(X_C), u.predict_proba(X_C), atol=1e-9)
        np.testing.assert_allclose(f.net_.module_[1].running_var.numpy(),
                                   u.net_.module_[1].running_var.numpy(), rtol=1e-9)
        assert int(f.net_.module_[1].num_batches_tracked) == \
            int(u.net_.module_[1].num_batches_tracked)


def test_batch_norm_copies_merge_a_one_row_last_batch_as_their_unfused_fits_do():
    """97 rows in batches of 32: the last row joins the third batch, in both loops."""
    base = MLPClassifier(batch_norm=True, **BASE)
    fused, unfused, outcomes = _fit_both(base, [{}, {}], [(X_C[:97], Y_C[:97]), (X_C, Y_C)])
    assert all(o.error is None for o in outcomes)
    assert [row["train_batch_count"] for row in unfused[0].history_] == [3] * 5
    for f, u in zip(fused, unfused):
        _assert_same_fit(f, u, atol=BN_ATOL)


def test_a_batch_norm_copy_of_one_row_fails_like_its_unfused_fit():
    """Early stopping leaves one training row of three (the other two validate)."""
    base = MLPRegressor(batch_norm=True, **{**BASE, "batch_size": 3})
    candidates = [{"early_stopping": True, "validation_fraction": 0.6}, {}]
    fused, unfused, outcomes = _fit_both(base, candidates,
                                         [(X_R[:3], Y_R[:3]), (X_R[:32], Y_R[:32])])
    assert isinstance(unfused[0], ValueError) and "batch of 1 sample" in str(unfused[0])
    assert str(outcomes[0].error) == str(unfused[0])
    # the other copy trains on (statistics of 3-row batches amplify rounding: 1e-7)
    _assert_same_fit(fused[1], unfused[1], rtol=1e-5, atol=1e-6)


def test_a_diverging_copy_fails_alone():
    candidates = [{}, {"solver": "sgd", "learning_rate_init": 1e4, "momentum": 0.0}, {"alpha": 1}]
    fused, unfused, outcomes = _fit_both(MLPClassifier(**BASE), candidates, [(X_C * 50, Y_C)] * 3)
    assert isinstance(unfused[1], TrainingDivergedError)
    assert isinstance(outcomes[1].error, TrainingDivergedError)
    assert str(outcomes[1].error) == str(unfused[1])
    assert not hasattr(fused[1], "net_")  # the failed fit left its estimator untouched
    _assert_same_fit(fused[0], unfused[0])
    _assert_same_fit(fused[2], unfused[2])


def test_dropout_copies_agree_with_unfused_fits_statistically():
    base = MLPClassifier(**{**BASE, "hidden_layer_sizes": (32,), "max_iter": 10})
    candidates = [{"dropout": 0.3, "random_state": s} for s in range(4)] + [{"dropout": 0.0}]
    data = [(X_C[:160], Y_C[:160])] * len(candidates)
    fused, unfused, _ = _fit_both(base, candidates, data)
    Xt, yt = X_C[160:], Y_C[160:]
    f_scores = [f.score(Xt, yt) for f in fused[:-1]]
    u_scores = [u.score(Xt, yt) for u in unfused[:-1]]
    assert abs(np.mean(f_scores) - np.mean(u_scores)) < 0.05
    assert fused[0].loss_curve_ != unfused[0].loss_curve_  # its own dropout masks
    _assert_same_fit(fused[-1], unfused[-1])  # the copy without dropout is exact


def test_outcomes_share_the_group_time_and_report_progress():
    done = []
    runs = [clone(MLPClassifier(**BASE)).set_params(max_iter=m)._begin_fit(X_C, Y_C)
            for m in (2, 4)]
    outcomes = train_stacked(runs, on_done=lambda i, o: done.append(i))
    assert done == [0, 1]  # the 2-epoch copy finishes first
    assert 0 < outcomes[0].seconds < outcomes[1].seconds


@pytest.mark.parametrize("make_run, why", [
    (lambda: MLPClassifier(solver="lbfgs", **BASE)._begin_fit(X_C, Y_C), "lbfgs"),
    (lambda: MLPClassifier(**BASE)._begin_fit(sparse.csr_matrix(X_C), Y_C), "sparse"),
    (lambda: MLPClassifier(callbacks=[_Probe()], **BASE)._begin_fit(X_C, Y_C), "callbacks"),
    (lambda: RNNClassifier(hidden_size=4, device="cpu")._begin_fit(X_C[:, :, None], Y_C), "rnn"),
])
def test_runs_that_need_their_own_network_have_no_fusion_signature(make_run, why):
    assert fusion_signature(make_run()) is None


def test_signatures_separate_different_shapes_and_batch_sizes():
    def sig(**p):
        return fusion_signature(MLPClassifier(**{**BASE, **p})._begin_fit(X_C, Y_C))

    assert sig() == sig(learning_rate_init=0.1, dropout=0.5, solver="sgd", max_iter=3)
    assert sig() != sig(hidden_layer_sizes=(12, 8))
    assert sig() != sig(batch_size=16)
    assert sig() != sig(activation="tanh")
    assert sig() != sig(dtype="float32")


def test_stacked_module_views_and_release():
    from sktune.nn import MLPModule

    copies = [MLPModule(3, (4,), 2) for _ in range(3)]
    stacked = copies[0].stack(copies)
    with torch.no_grad():
        stacked.weight0[1].fill_(2.0)
    assert torch.all(copies[1][0].weight == 2.0)  # copies are views while stacked
    stacked.release([1])
    with torch.no_grad():
        stacked.weight0.fill_(0.0)
    assert torch.all(copies[1][0].weight == 2.0) and torch.all(copies[0][0].weight == 0.0)
    stacked.release()
    with torch.no_grad():
        stacked.weight0.fill_(5.0)
    assert torch.all(copies[0][0].weight == 0.0)


class _Probe(Callback):
    """A user callback: it may need one network (batch hooks, its own state)."""


@pytest.mark.parametrize("variant", [
    {}, {"residual": True, "kernel_size": 5}, {"global_pool": False, "batch_norm": False},
    {"pooling": "avg", "channels": (3,), "hidden_layer_sizes": ()},
], ids=["bn-maxpool", "residual", "flatten", "avgpool"])
def test_fused_cnns_equal_their_unfused_fits(variant):
    from sklearn.datasets import load_digits

    from sktune import CNNClassifier

    X, y = load_digits(return_X_y=True)
    X, y = X[:100] / 16, y[:100]
    base = CNNClassifier(**{**dict(channels=(4, 6), hidden_layer_sizes=(8,), input_shape=(8, 8),
                                   max_iter=3, batch_size=32, random_state=0, device="cpu",
                                   dtype="float64"), **variant})
    candidates = [{}, {"learning_rate_init": 1e-2, "dropout": 0.0},
                  {"solver": "sgd", "momentum": 0.5}, {"early_stopping": True, "max_iter": 5},
                  {"alpha": 1e-2, "random_state": 2, "class_weight": "balanced"}]
    data = [(X[:100 - 7 * (i % 2)], y[:100 - 7 * (i % 2)]) for i in range(len(candidates))]
    fused, unfused, outcomes = _fit_both(base, candidates, data)
    for f, u in zip(fused, unfused):
        assert f.n_iter_ == u.n_iter_
        np.testing.assert_allclose(f.loss_curve_, u.loss_curve_, rtol=1e-9)
        np.testing.assert_allclose(f.predict_proba(X), u.predict_proba(X), atol=1e-9)


def test_cnn_regressor_on_signals_and_dropout_copies():
    from sktune import CNNRegressor

    rng = np.random.RandomState(0)
    X = rng.randn(120, 2, 16)
    y = X[:, 0].mean(1) - X[:, 1, :4].sum(1)
    base = CNNRegressor(channels=(4,), max_iter=3, batch_size=16, random_state=0,
                        device="cpu", dtype="float64", n_ensemble=1)
    fused, unfused, _ = _fit_both(base, [{}, {"dropout": 0.3}, {"max_iter": 2}], [(X, y)] * 3)
    for i in (0, 2):
        np.testing.assert_allclose(fused[i].predict(X), unfused[i].predict(X), atol=1e-9)
    assert fused[1].loss_curve_ != unfused[1].loss_curve_


@pytest.mark.parametrize("downsample", [1, 3])
def test_fused_signal_cnns_with_the_auto_architecture_equal_unfused(downsample):
    """The signal defaults (FCN blocks, kernels 8/5/3 — an even kernel pads one step
    more on the right — no pooling) stack too, reading window means with downsample."""
    from sktune import CNNClassifier

    rng = np.random.RandomState(1)
    X = rng.randn(40, 2, 13)  # 3 batches, the last ragged; 13 = 4 windows of 3 + 1
    y = (X[:, 0, :6].mean(1) > X[:, 1, 6:].mean(1)).astype(int)
    base = CNNClassifier(conv_dim=1, max_iter=2, batch_size=16, random_state=0,
                         device="cpu", dtype="float64", early_stopping=False,
                         downsample=downsample, n_ensemble=1)
    fused, unfused, outcomes = _fit_both(
        base, [{}, {"learning_rate_init": 3e-3}, {"alpha": 1e-2, "random_state": 3}],
        [(X, y)] * 3)
    assert fused[0].net_.module_.pools == [None] * len(fused[0].net_.module_.blocks)
    assert any(b.pad is not None for b in fused[0].net_.module_.blocks)
    for f, u in zip(fused, unfused):
        np.testing.assert_allclose(f.loss_curve_, u.loss_curve_, rtol=1e-9)
        np.testing.assert_allclose(f.predict_proba(X), u.predict_proba(X), atol=1e-9)


def test_ragged_signals_are_not_stacked():
    from sktune import CNNClassifier

    rng = np.random.RandomState(0)
    X = [rng.randn(n, 2) for n in rng.randint(5, 12, 30)]
    run = CNNClassifier(channels=(4,), device="cpu")._begin_fit(X, np.arange(30) % 2)
    assert fusion_signature(run) is None


def test_text_and_augmented_cnns_are_not_stacked():
    from sktune import CNNClassifier

    ids = np.random.RandomState(0).randint(1, 20, (40, 10))
    text = CNNClassifier(embedding_dim=4, channels=(4,), device="cpu")._begin_fit(ids, Y_C[:40])
    aug = CNNClassifier(channels=(4,), augment_noise=0.1, device="cpu")._begin_fit(
        X_C[:40].reshape(40, 1, 6), Y_C[:40])
    assert fusion_signature(text) is None and fusion_signature(aug) is None


def test_averaged_cnn_copies_train_on_their_own_in_a_fused_search():
    """n_ensemble > 1 (the default on small signal sets) is one module of copies, not
    stacked with other candidates: the search fits it as fit does."""
    from sktune import CNNClassifier
    from sktune.model_selection import GridSearchCV

    X = X_C[:40].reshape(40, 1, 6)
    run = CNNClassifier(channels=(4,), device="cpu")._begin_fit(X, Y_C[:40])
    assert run.estimator.n_ensemble_ == 5 and fusion_signature(run) is None
    base = CNNClassifier(channels=(4,), max_iter=2, random_state=0, device="cpu",
                         dtype="float64")
    search = GridSearchCV(base, {"alpha": [1e-4, 1e-2]}, cv=2).fit(X, Y_C[:40])
    single = clone(base).set_params(**search.best_params_).fit(X, Y_C[:40])
    np.testing.assert_allclose(search.best_estimator_.predict_proba(X),
                               single.predict_proba(X), atol=1e-12)


def test_families_opt_in_through_the_stackable_protocol():
    from sktune.nn import CNNModule, MLPModule, RNNModule, Stackable, TabularMLPModule

    assert isinstance(MLPModule(3, (4,), 2), Stackable)
    assert isinstance(TabularMLPModule(3, (4,), 2, n_ensemble=2), Stackable)
    assert isinstance(CNNModule((1, 8, 8), 2), Stackable)
    assert not isinstance(RNNModule(3, 2), Stackable)
