"""MLPClassifier / MLPRegressor: targets, inputs, attributes, training options."""

import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.datasets import load_iris, make_multilabel_classification
from sklearn.neural_network import MLPClassifier as SkMLPClassifier

from sktune import MLPClassifier, MLPRegressor
from tests.conftest import FAST


def test_learns_iris():
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier(hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=100,
                        random_state=0, device="cpu").fit(X, y)
    assert clf.score(X, y) > 0.9


def test_sklearn_parameters_are_accepted_with_same_defaults():
    ours, theirs = MLPClassifier().get_params(), SkMLPClassifier().get_params()
    for name, value in theirs.items():
        if name == "max_fun" or name in ("solver",):
            continue
        assert ours[name] == value, name
    assert ours["solver"] == theirs["solver"] == "adam"


def test_fitted_attributes_match_sklearn_shapes(fitted_clf, clf_data):
    X, y = clf_data
    sk = SkMLPClassifier(hidden_layer_sizes=(16,), max_iter=5).fit(X, y)
    assert [c.shape for c in fitted_clf.coefs_] == [c.shape for c in sk.coefs_]
    assert [b.shape for b in fitted_clf.intercepts_] == [b.shape for b in sk.intercepts_]
    assert fitted_clf.n_outputs_ == sk.n_outputs_
    assert fitted_clf.out_activation_ == sk.out_activation_
    assert fitted_clf.n_iter_ == len(fitted_clf.loss_curve_) == len(fitted_clf.history_)
    assert fitted_clf.best_loss_ == min(fitted_clf.loss_curve_)
    assert fitted_clf.validation_scores_ is None
    assert set(fitted_clf.history_[0]) >= {"epoch", "train_loss", "lr", "dur"}


@pytest.mark.parametrize("labels", [
    np.array(["cat", "dog", "emu"]), np.array([3, 10, 42]), np.array([-5.0, 0.0, 7.0]),
])
def test_original_labels_come_back(clf_data, labels):
    X, y = clf_data
    clf = MLPClassifier(max_iter=5, **FAST).fit(X, labels[y])
    assert set(clf.predict(X)) <= set(labels)
    np.testing.assert_array_equal(clf.classes_, np.sort(labels))
    assert clf.predict_proba(X).shape == (len(X), 3)


def test_binary_bool_labels_use_one_logistic_output(clf_data):
    X, y = clf_data
    clf = MLPClassifier(max_iter=5, **FAST).fit(X, y == 1)
    assert clf.n_outputs_ == 1 and clf.out_activation_ == "logistic"
    assert clf.predict(X).dtype == bool
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(X), proba[:, 1] > 0.5)


def test_multilabel_indicator_targets():
    X, Y = make_multilabel_classification(n_samples=150, n_classes=4, random_state=0)
    clf = MLPClassifier(max_iter=40, **FAST).fit(X, Y)
    assert clf.predict(X).shape == Y.shape
    assert clf.predict_proba(X).shape == Y.shape
    assert clf.score(X, Y) > 0.3  # subset accuracy, well above chance (1/16)


def test_multioutput_regression(reg_data):
    X, y = reg_data
    Y = np.column_stack([y, -2 * y])
    reg = MLPRegressor(max_iter=60, **FAST).fit(X, Y)
    assert reg.predict(X).shape == Y.shape and reg.score(X, Y) > 0.8


@pytest.mark.parametrize("loss", ["squared_error", "absolute_error", "huber", "poisson"])
def test_regression_losses(reg_data, loss):
    X, y = reg_data
    y = np.exp(y / 3) if loss == "poisson" else y
    reg = MLPRegressor(loss=loss, max_iter=80, **FAST).fit(X, y)
    assert reg.score(X, y) > 0.5
    if loss == "poisson":
        assert (reg.predict(X) > 0).all()


def test_pandas_and_list_inputs(clf_data):
    X, y = clf_data
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    clf = MLPClassifier(max_iter=3, **FAST).fit(df, pd.Series(y))
    np.testing.assert_array_equal(clf.feature_names_in_, df.columns)
    np.testing.assert_array_equal(clf.predict(df), clf.predict(X))
    MLPClassifier(max_iter=2, **FAST).fit(X.tolist(), y.tolist())


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.int8])
def test_numeric_dtypes_are_cast(clf_data, dtype):
    """Any numeric input trains, in scikit-learn's dtype: float32 input in float32, any
    other in float64; outputs follow."""
    X, y = clf_data
    Xd = (X * 10).astype(dtype)
    clf = MLPClassifier(max_iter=20, **FAST).fit(Xd, y)
    expected = torch.float32 if dtype == np.float32 else torch.float64
    assert {p.dtype for p in clf.net_.module_.parameters()} == {expected}
    proba = clf.predict_proba(Xd)
    assert proba.dtype == (np.float32 if dtype == np.float32 else np.float64)
    assert np.isfinite(proba).all() and clf.score(Xd, y) > 0.5


def test_sparse_input_matches_dense(clf_data):
    X, y = clf_data
    X = np.where(np.abs(X) > 1, X, 0.0)
    dense = MLPClassifier(max_iter=5, **FAST).fit(X, y)
    sparse = MLPClassifier(max_iter=5, **FAST).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(dense.predict_proba(X), sparse.predict_proba(sp.csc_matrix(X)),
                               atol=1e-5)


def test_same_random_state_same_model_and_global_rng_untouched(clf_data):
    X, y = clf_data
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = MLPClassifier(max_iter=5, dropout=0.2, **FAST).fit(X, y).predict_proba(X)
    after = torch.rand(1)
    b = MLPClassifier(max_iter=5, dropout=0.2, **FAST).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert before == after


def test_random_state_none_stays_random(clf_data):
    X, y = clf_data
    params = {**FAST, "random_state": None}
    a = MLPClassifier(max_iter=2, **params).fit(X, y).predict_proba(X)
    b = MLPClassifier(max_iter=2, **params).fit(X, y).predict_proba(X)
    assert not np.array_equal(a, b)


def test_sample_weight_changes_fit_and_zero_weight_classes_vanish(clf_data):
    X, y = clf_data
    w = np.where(y == 2, 0.0, 1.0)
    clf = MLPClassifier(max_iter=40, **FAST).fit(X, y, sample_weight=w)
    assert (clf.predict(X) != 2).mean() > 0.95


def test_class_weight_balanced_equals_explicit_weights(clf_data):
    X, y = clf_data
    keep = np.r_[np.flatnonzero(y == 0), np.flatnonzero(y != 0)[:60]]
    X, y = X[keep], y[keep]
    from sklearn.utils.class_weight import compute_sample_weight

    a = MLPClassifier(max_iter=5, class_weight="balanced", **FAST).fit(X, y)
    b = MLPClassifier(max_iter=5, **FAST).fit(X, y, sample_weight=compute_sample_weight(
        "balanced", y))
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), atol=1e-6)


def test_early_stopping_weighted_validation_and_best_weights(clf_data):
    X, y = clf_data
    clf = MLPClassifier(max_iter=60, early_stopping=True, n_iter_no_change=3,
                        learning_rate_init=0.05, hidden_layer_sizes=(64,), random_state=0,
                        device="cpu").fit(X, y)
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.best_loss_ is None
    assert clf.n_iter_ < 60 and "Validation score did not improve" in clf.stop_reason_
    best_epoch = int(np.argmax(clf.validation_scores_))
    assert clf.history_[best_epoch]["valid_score_best"]
    # the restored weights are the best epoch's: re-scoring the held-out rows reproduces it
    from sklearn.model_selection import train_test_split

    _, X_val, _, y_val = train_test_split(X, y, test_size=0.1, stratify=y,
                                          random_state=clf._seed_)
    assert clf.score(X_val, y_val) == pytest.approx(clf.best_validation_score_, abs=1e-6)


def test_partial_fit_is_one_epoch_and_keeps_optimizer_state(clf_data):
    X, y = clf_data
    clf = MLPClassifier(**FAST)
    clf.partial_fit(X, y, classes=np.unique(y))
    state = clf.net_.optimizer_.state_dict()["state"]
    steps = float(next(iter(state.values()))["step"])
    clf.partial_fit(X[:100], y[:100])
    assert clf.n_iter_ == 1 and len(clf.loss_curve_) == 2  # scikit-learn's meanings
    assert clf.t_ == len(X) + 100
    assert float(next(iter(clf.net_.optimizer_.state_dict()["state"].values()))["step"]) > steps
    with pytest.raises(ValueError, match="classes must be passed"):
        MLPClassifier(**FAST).partial_fit(X, y)


def test_partial_fit_rejects_unknown_label(clf_data):
    X, y = clf_data
    clf = MLPClassifier(**FAST).partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="labels not in classes_"):
        clf.partial_fit(X[:5], [0, 1, 7, 1, 0])


def test_warm_start_continues_from_fitted_weights(clf_data):
    X, y = clf_data
    clf = MLPClassifier(max_iter=3, warm_start=True, **FAST).fit(X, y)
    first = clf.coefs_[0].copy()
    clf.fit(X, y)
    assert clf.n_iter_ == 3 and len(clf.loss_curve_) == 6  # n_iter_: this call's epochs
    assert clf.loss_curve_[3] < clf.loss_curve_[0]
    assert not np.array_equal(first, clf.coefs_[0])
    cold = clone(clf).set_params(warm_start=False).fit(X, y)
    assert cold.n_iter_ == 3


@pytest.mark.parametrize("schedule,expected", [
    ("constant", [0.01] * 4),
    ("step", [0.01, 0.01, 0.001, 0.001]),
    ("exponential", [0.01, 0.005, 0.0025, 0.00125]),
    ("cosine", [0.01, 0.01 * 0.5 * (1 + np.cos(np.pi / 4)), 0.005,
                0.01 * 0.5 * (1 + np.cos(3 * np.pi / 4))]),
])
def test_learning_rate_schedules(clf_data, schedule, expected):
    X, y = clf_data
    decay = 0.5 if schedule == "exponential" else None
    clf = MLPClassifier(max_iter=4, learning_rate=schedule, lr_step_size=2, lr_decay=decay,
                        n_iter_no_change=np.inf, **FAST).fit(X, y)
    np.testing.assert_allclose([row["lr"] for row in clf.history_], expected, rtol=1e-6)


def test_invscaling_matches_sklearn_definition(clf_data):
    X, y = clf_data
    clf = MLPClassifier(max_iter=3, learning_rate="invscaling", power_t=0.5, solver="sgd",
                        n_iter_no_change=np.inf, **FAST).fit(X, y)
    n = len(X)
    np.testing.assert_allclose([r["lr"] for r in clf.history_],
                               [0.01 / (t + 1) ** 0.5 for t in (0, n, 2 * n)], rtol=1e-6)


def test_warmup_then_plateau_and_adaptive(clf_data):
    X, y = clf_data
    clf = MLPClassifier(max_iter=3, learning_rate="plateau", warmup_epochs=2,
                        n_iter_no_change=np.inf, **FAST).fit(X, y)
    np.testing.assert_allclose([r["lr"] for r in clf.history_], [0.01 / 3, 0.02 / 3, 0.01])
    # adaptive: a huge tol makes every epoch a non-improvement -> lr / 5 per plateau
    ada = MLPClassifier(max_iter=8, learning_rate="adaptive", tol=10.0, n_iter_no_change=1,
                        solver="sgd", **FAST).fit(X, y)
    lrs = [r["lr"] for r in ada.history_]
    assert lrs[0] == pytest.approx(0.01) and lrs[-1] < lrs[0] / 4
    assert ada.n_iter_ == 8  # adaptive lowers the rate instead of stopping


@pytest.mark.parametrize("solver", ["adam", "adamw", "sgd", "rmsprop"])
def test_every_solver_trains(clf_data, solver):
    X, y = clf_data
    clf = MLPClassifier(solver=solver, max_iter=15, **FAST).fit(X, y)
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]


def test_regularisers_shrink_weights(clf_data):
    X, y = clf_data
    norms = {}
    for name, params in {"none": dict(alpha=0.0), "l2": dict(alpha=50.0),
                         "l1": dict(alpha=0.0, l1=50.0)}.items():
        clf = MLPClassifier(max_iter=20, **params, **FAST).fit(X, y)
        norms[name] = np.abs(clf.coefs_[0]).sum()
    assert norms["l2"] < 0.7 * norms["none"] and norms["l1"] < 0.7 * norms["none"]


def test_dropout_batch_norm_and_clipping_build_and_train(clf_data):
    X, y = clf_data
    clf = MLPClassifier(max_iter=10, dropout=0.3, batch_norm=True, max_grad_norm=0.5,
                        activation="gelu", **FAST).fit(X, y)
    kinds = {type(m).__name__ for m in clf.net_.module_}
    assert {"BatchNorm1d", "Dropout", "GELU"} <= kinds
    assert clf.score(X, y) > 0.6
    np.testing.assert_array_equal(clf.predict(X), clf.predict(X))  # eval mode at predict


def test_verbose_prints_sklearns_line_per_epoch(clf_data, capsys):
    X, y = clf_data
    MLPClassifier(max_iter=3, verbose=True, early_stopping=True, **FAST).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split(",")[0] for ln in lines if ln.startswith("Iteration")] == [
        "Iteration 1", "Iteration 2", "Iteration 3"]
    assert len([ln for ln in lines if ln.startswith("Validation score: ")]) == 3
    assert not any("\x1b" in ln for ln in lines)  # plain text, no colour codes


def test_verbose_2_without_a_terminal_prints_plain_lines(clf_data, capsys):
    X, y = clf_data
    MLPClassifier(max_iter=2, verbose=2, **FAST).fit(X, y)
    out, err = capsys.readouterr()
    assert out.count("Iteration") == 2 and "\r" not in err


def test_predict_runs_in_batches(fitted_clf, clf_data, monkeypatch):
    X, _ = clf_data
    big = np.repeat(X, 20, axis=0)  # 4,800 rows -> several inference batches
    sizes = []
    forward = fitted_clf.net_.module_.forward
    monkeypatch.setattr(fitted_clf.net_.module_, "forward",
                        lambda x: sizes.append(len(x)) or forward(x))
    assert fitted_clf.predict(big).shape == (len(big),)
    assert len(sizes) > 1 and max(sizes) <= 1024


@pytest.mark.parametrize("dump,load", [
    (pickle.dumps, pickle.loads),
    (lambda m: joblib.dump(m, "/tmp/sktune-test.joblib"),
     lambda _: joblib.load("/tmp/sktune-test.joblib")),
])
def test_persistence_round_trip(fitted_clf, clf_data, dump, load):
    X, _ = clf_data
    restored = load(dump(fitted_clf))
    np.testing.assert_array_equal(restored.predict_proba(X), fitted_clf.predict_proba(X))


def test_clone_and_set_params_and_html_repr(fitted_clf):
    copy = clone(fitted_clf)
    assert not hasattr(copy, "net_") and copy.get_params() == fitted_clf.get_params()
    copy.set_params(dropout=0.5, solver="sgd")
    assert copy.dropout == 0.5
    assert "MLPClassifier" in fitted_clf._repr_html_()


def test_keyboard_interrupt_keeps_best_weights_so_far(clf_data, monkeypatch):
    from sktune.engine import Engine

    X, y = clf_data
    original = Engine.run_single_epoch

    def interrupt_at_epoch_4(self, iterator, training, prefix, step_fn, **kw):
        if training and len(self.history) == 4:
            raise KeyboardInterrupt
        return original(self, iterator, training, prefix, step_fn, **kw)

    monkeypatch.setattr(Engine, "run_single_epoch", interrupt_at_epoch_4)
    with pytest.warns(RuntimeWarning, match="interrupted after 3 of 50 epochs"):
        clf = MLPClassifier(max_iter=50, early_stopping=True, **FAST).fit(X, y)
    assert clf.n_iter_ == 3
    assert clf.predict(X).shape == y.shape


def _peak_rss_mb_reset():
    """Reset this process's peak resident memory (Linux ``clear_refs``) and return its
    current resident memory in MB, or None where the peak cannot be reset."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        status = _proc_status_mb()
    except OSError:
        return None
    # the reset worked if the peak now equals what is resident (give or take a page run)
    return status["VmRSS"] if status["VmHWM"] - status["VmRSS"] < 50 else None


def _proc_status_mb():
    with open("/proc/self/status") as f:
        return {k: int(v.split()[0]) // 1024 for k, v in
                (line.split(":", 1) for line in f) if k in ("VmHWM", "VmRSS")}


SPARSE_SCRIPT = """
import warnings, numpy as np, scipy.sparse as sp
from sktune import MLPClassifier
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(0)
    rows, cols = rng.integers(0, 3_000, 15_000), rng.integers(0, 100_000, 15_000)
    X = sp.csr_matrix((rng.random(15_000), (rows, cols)), shape=(3_000, 100_000))
    s = np.asarray(X[:, :50_000].sum(axis=1)).ravel()
    y = s > np.median(s)
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=1, batch_size=100,
                        device="cpu").fit(X, y)
    assert clf.predict(X).shape == (3_000,)
"""


def test_sparse_data_too_big_to_densify_trains_batch_by_batch():
    """3,000 x 100,000 TF-IDF-like matrix: 2.4 GB dense (float64, 1.2 GB as float32),
    ~0.2 MB sparse. Run in this process, the peak memory reset before the fit (a fresh
    interpreter costs 4-5 s of imports); where the peak cannot be reset, in a child
    process, whose whole peak is measured."""
    import subprocess
    import sys

    before = _peak_rss_mb_reset()
    if before is not None:
        exec(SPARSE_SCRIPT, {})
        grown = _proc_status_mb()["VmHWM"] - before
        assert grown < 800, f"peak memory grew {grown} MB: the matrix was densified whole"
        return
    script = SPARSE_SCRIPT + (
        "import resource\nprint(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True)
    peak_mb = int(out.stdout.split()[-1])
    assert peak_mb < 2_000, f"peak memory {peak_mb} MB: the matrix was densified whole"


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("input_dtype,dtype,weights,outputs", [
    (np.float32, "auto", np.float32, np.float32), (np.float64, "auto", np.float64, np.float64),
    (np.int64, "auto", np.float64, np.float64), (np.float64, "float32", np.float32, np.float64),
    (np.float32, "float64", np.float64, np.float64),
])
def test_dtype_follows_sklearn_unless_asked(Estimator, input_dtype, dtype, weights, outputs,
                                           clf_data):
    X, y = clf_data
    X = (X * 10).astype(input_dtype)
    est = Estimator(max_iter=2, dtype=dtype, **FAST).fit(X, y)
    assert all(c.dtype == weights for c in est.coefs_ + est.intercepts_)
    out = est.predict_proba(X) if Estimator is MLPClassifier else est.predict(X)
    assert out.dtype == outputs  # float32 outputs for float32 input only, as scikit-learn


def test_float32_model_rejects_input_that_overflows_float32(clf_data):
    X, y = clf_data
    clf = MLPClassifier(max_iter=2, dtype="float32", **FAST).fit(X, y)
    with pytest.raises(ValueError, match="too large for float32"):
        clf.predict(X * 1e300)


def test_coefs_are_settable_like_sklearns(clf_data):
    X, y = clf_data
    clf = MLPClassifier(max_iter=2, **FAST).fit(X, y)
    zeros = [np.zeros_like(c) for c in clf.coefs_]
    clf.coefs_ = zeros
    clf.intercepts_ = [np.zeros_like(b) for b in clf.intercepts_]
    np.testing.assert_allclose(clf.predict_proba(X), 1 / 3)
    clf.coefs_[0] = np.ones_like(zeros[0])  # item assignment writes the weights too
    assert clf.net_.module_.linear_layers[0].weight.detach().numpy().min() == 1
    clf.coefs_[1][:] = 2.0  # and so does editing the arrays in place (CPU)
    assert clf.net_.module_.linear_layers[1].weight.detach().numpy().min() == 2
    with pytest.raises(ValueError, match="shape"):
        clf.coefs_[0] = np.ones((3, 3))
    assert clf.n_layers_ == 3


def test_partial_fit_steps_equal_one_fit_of_as_many_epochs(clf_data):
    """The random state, shuffles and optimizer continue across partial_fit calls."""
    X, y = clf_data
    fit = MLPClassifier(max_iter=4, n_iter_no_change=np.inf, dropout=0.2, **FAST).fit(X, y)
    steps = MLPClassifier(dropout=0.2, **FAST)
    for _ in range(4):
        steps.partial_fit(X, y, classes=np.unique(y))
    np.testing.assert_allclose(steps.predict_proba(X), fit.predict_proba(X), rtol=1e-10)


def test_partial_fit_refuses_early_stopping_like_sklearn(clf_data):
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        MLPClassifier(early_stopping=True).partial_fit(*clf_data, classes=[0, 1, 2])
