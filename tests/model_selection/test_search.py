"""sktune's searches give scikit-learn's results, with sktune networks trained fused
(sktune/model_selection/_search.py, _evaluate.py, _fusion.py)."""

import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from scipy.stats import loguniform
from sklearn import model_selection as sk
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from sktune import MLPClassifier, MLPRegressor, RNNClassifier, TrainingDivergedError
from sktune.model_selection import (
    GridSearchCV,
    HalvingGridSearchCV,
    HalvingRandomSearchCV,
    RandomizedSearchCV,
    _evaluate,
    fusion_config,
)

X, Y = make_classification(n_samples=150, n_features=6, n_informative=4, n_classes=3,
                           random_state=0)
X_R, Y_R = make_regression(n_samples=120, n_features=5, noise=1.0, random_state=0)
NET = dict(hidden_layer_sizes=(8,), max_iter=4, batch_size=32, random_state=0,
           device="cpu", learning_rate_init=0.01)
SPACE = {"learning_rate_init": loguniform(1e-3, 1e-1), "alpha": loguniform(1e-6, 1e-1),
         "solver": ["adam", "sgd", "rmsprop"], "early_stopping": [False, True],
         "random_state": [0, 1]}


def _same_results(ours, theirs, rtol=1e-7):
    """Every key scikit-learn produces, equal values (times apart)."""
    a, b = ours.cv_results_, theirs.cv_results_
    assert sorted(a) == sorted(b)
    for key in b:
        if key.endswith("_time"):
            assert np.all(np.asarray(a[key]) >= 0)
        elif key == "params":
            assert a[key] == b[key]
        elif isinstance(b[key], np.ma.MaskedArray):
            assert list(a[key]) == list(b[key])
        else:
            np.testing.assert_allclose(np.asarray(a[key], float), np.asarray(b[key], float),
                                       rtol=rtol, atol=1e-9, err_msg=key)
    for attr in ("best_index_", "best_params_", "n_splits_", "multimetric_"):
        if hasattr(theirs, attr):
            assert getattr(ours, attr) == getattr(theirs, attr), attr
    if hasattr(theirs, "best_score_"):
        assert ours.best_score_ == pytest.approx(theirs.best_score_)


@pytest.fixture
def fused_calls(monkeypatch):
    """How many fused chunks ran, and how many pairs each held."""
    calls = []
    original = _evaluate.train_stacked

    def spy(runs, on_done=None):
        calls.append(len(runs))
        return original(runs, on_done)

    monkeypatch.setattr(_evaluate, "train_stacked", spy)
    return calls


def test_randomized_search_equals_scikit_learns(fused_calls):
    args = (MLPClassifier(**NET), SPACE)
    kw = dict(n_iter=6, cv=2, random_state=0, return_train_score=True)
    ours = RandomizedSearchCV(*args, **kw).fit(X, Y)
    theirs = sk.RandomizedSearchCV(*args, **kw).fit(X, Y)
    _same_results(ours, theirs)
    assert sum(fused_calls) == 12 and len(fused_calls) <= 3  # one group per solver
    assert type(ours.best_estimator_) is MLPClassifier
    assert ours.best_estimator_.n_iter_ >= 1 and hasattr(ours, "refit_time_")
    assert ours.score(X, Y) == theirs.score(X, Y)


def test_grid_search_multimetric_regression_equals_scikit_learns():
    grid = {"alpha": [1e-4, 1e-1], "learning_rate": ["constant", "cosine"],
            "max_iter": [2, 5]}
    kw = dict(cv=2, scoring=["r2", "neg_mean_squared_error"], refit="r2",
              return_train_score=True)
    y = Y_R / Y_R.std()
    ours = GridSearchCV(MLPRegressor(**NET), grid, **kw).fit(X_R, y)
    theirs = sk.GridSearchCV(MLPRegressor(**NET), grid, **kw).fit(X_R, y)
    _same_results(ours, theirs)
    assert ours.scorer_.keys() == theirs.scorer_.keys()


def test_pipeline_preprocessing_is_fitted_once_per_split_and_setting(fused_calls):
    counts = []
    pipe = Pipeline([("scale", _CountingScaler(counts)), ("mlp", MLPClassifier(**NET))])
    grid = {"scale__with_mean": [True, False], "mlp__learning_rate_init": [1e-3, 1e-2, 0.1]}
    ours = GridSearchCV(pipe, grid, cv=2).fit(X, Y)
    assert len(counts) == 2 * 2 + 1  # 2 settings x 2 splits, then the refit
    assert fused_calls == [12]      # one stacked network for all six candidates
    theirs = sk.GridSearchCV(pipe, grid, cv=2).fit(X, Y)
    _same_results(ours, theirs)
    assert ours.best_estimator_.named_steps["mlp"].n_iter_ >= 1


def test_pipeline_searching_over_steps_and_sample_weights():
    w = np.random.RandomState(0).uniform(0.2, 1.5, len(X))
    pipe = make_pipeline(StandardScaler(), MLPClassifier(**NET))
    grid = {"standardscaler": [StandardScaler(), MinMaxScaler()],
            "mlpclassifier__class_weight": [None, "balanced"]}
    ours = GridSearchCV(pipe, grid, cv=2).fit(X, Y, mlpclassifier__sample_weight=w)
    theirs = sk.GridSearchCV(pipe, grid, cv=2).fit(X, Y, mlpclassifier__sample_weight=w)
    _same_results(ours, theirs)


def test_errors_in_one_copy_give_error_score_and_the_others_go_on():
    grid = {"learning_rate_init": [1e-2, 1e5], "momentum": [0.0]}
    est = MLPClassifier(solver="sgd", **{**NET, "learning_rate_init": 1e-2})
    Xs = X * 100
    with pytest.warns(FitFailedWarning, match="TrainingDivergedError"):
        ours = GridSearchCV(est, grid, cv=2).fit(Xs, Y)
    with pytest.warns(FitFailedWarning):
        theirs = sk.GridSearchCV(est, grid, cv=2).fit(Xs, Y)
    _same_results(ours, theirs)
    assert np.isnan(ours.cv_results_["mean_test_score"][1])
    with pytest.raises(TrainingDivergedError):
        GridSearchCV(est, grid, cv=2, error_score="raise").fit(Xs, Y)
    with pytest.warns(FitFailedWarning):
        ours = GridSearchCV(est, grid, cv=2, error_score=-1).fit(Xs, Y)
    assert ours.cv_results_["mean_test_score"][1] == -1


@pytest.mark.parametrize("estimator, data", [
    (LogisticRegression(max_iter=50), (X, Y)),                       # not sktune
    (MLPClassifier(solver="lbfgs", **{**NET, "max_iter": 10}), (X, Y)),  # one network each
    (RNNClassifier(hidden_size=4, max_iter=2, random_state=0, device="cpu"),
     (X[:, :, None], Y)),                                               # not stackable
], ids=["logistic", "lbfgs", "rnn"])
def test_other_estimators_fall_back_to_scikit_learns_path(estimator, data, fused_calls):
    grid = {"C": [0.1, 1.0]} if isinstance(estimator, LogisticRegression) else \
        {"alpha": [1e-4, 1e-2]}
    ours = GridSearchCV(estimator, grid, cv=2).fit(*data)
    theirs = sk.GridSearchCV(estimator, grid, cv=2).fit(*data)
    _same_results(ours, theirs)
    assert fused_calls == []


def test_fusion_can_be_turned_off(fused_calls):
    with fusion_config(enabled=False):
        GridSearchCV(MLPClassifier(**NET), {"alpha": [1e-4, 1e-2]}, cv=2).fit(X, Y)
    assert fused_calls == []


# Each class and each resource once: the two classes differ only in their __init__ (the
# rounds are scikit-learn's, the fits the fused path's), so the resource (epochs passed
# as max_iter, or rows subsampled) is what takes a different path through the fits
@pytest.mark.parametrize("resource, cls, sk_cls, params", [
    ("max_iter", HalvingGridSearchCV, sk.HalvingGridSearchCV,
     {"learning_rate_init": [1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3]}),
    ("n_samples", HalvingRandomSearchCV, sk.HalvingRandomSearchCV,
     {"alpha": loguniform(1e-6, 1e-1)}),
], ids=["max_iter-HalvingGridSearchCV", "n_samples-HalvingRandomSearchCV"])
def test_halving_searches_equal_scikit_learns(cls, sk_cls, params, resource, fused_calls):
    kw = dict(factor=3, cv=2, random_state=0)
    if resource == "max_iter":
        kw.update(resource="max_iter", min_resources=1, max_resources=9)
    else:
        kw.update(min_resources=40)
    if cls is HalvingRandomSearchCV:
        kw["n_candidates"] = 6
    est = MLPClassifier(**{**NET, "max_iter": 3})
    ours = cls(est, params, **kw).fit(X, Y)
    theirs = sk_cls(est, params, **kw).fit(X, Y)
    _same_results(ours, theirs)
    assert ours.n_resources_ == theirs.n_resources_
    assert len(fused_calls) == len(ours.n_resources_)  # each round's survivors together


def test_fit_times_share_the_group_time():
    search = GridSearchCV(MLPClassifier(**{**NET, "max_iter": 3}),
                          {"max_iter": [1, 6]}, cv=2).fit(X, Y)
    times = search.cv_results_["mean_fit_time"]
    assert np.all(times > 0) and times[1] > times[0]  # 6 epochs cost more than 1


def test_one_convergence_warning_per_search_and_a_progress_line(capsys):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        GridSearchCV(MLPClassifier(**NET), {"alpha": [1e-4, 1e-3]}, cv=3, verbose=1).fit(X, Y)
    convergence = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert len(convergence) == 1  # the refit's own included
    assert "6 of 6 fits reached max_iter" in str(convergence[0].message)
    assert "and the refit of the best candidate" in str(convergence[0].message)
    assert convergence[0].filename == __file__  # it points at the caller
    out = capsys.readouterr().out
    assert "Fitting 3 folds for each of 2 candidates, totalling 6 fits" in out
    assert "fits 6/6 | best mean score" in out and "\r" not in out


def test_verbose_lines_match_scikit_learns(capsys):
    grid = {"alpha": [1e-4]}
    GridSearchCV(MLPClassifier(**NET), grid, cv=2, verbose=3, refit=False).fit(X, Y)
    ours = [line for line in capsys.readouterr().out.splitlines() if "END" in line]
    sk.GridSearchCV(MLPClassifier(**NET), grid, cv=2, verbose=3, refit=False).fit(X, Y)
    theirs = [line for line in capsys.readouterr().out.splitlines() if "END" in line]
    strip = lambda lines: sorted(line.split(" total time")[0] for line in lines)  # noqa: E731
    assert strip(ours) == strip(theirs) and len(ours) == 2


# joblib's process pool (loky) starts workers that import torch once per test process: the
# tests that use it share one test process, and so one pool
@pytest.mark.xdist_group("loky")
def test_parallel_workers_get_fused_chunks(fused_calls):
    """Each of the two workers trains one fused chunk of half the fits (seen in-process
    with joblib's threading backend), and worker processes give the same results."""
    from joblib import parallel_config

    kw = dict(n_iter=4, cv=2, random_state=0)
    one = RandomizedSearchCV(MLPClassifier(**NET), SPACE, n_jobs=1, **kw).fit(X, Y)
    assert fused_calls == [8]
    with parallel_config(backend="threading"):
        threads = RandomizedSearchCV(MLPClassifier(**NET), SPACE, n_jobs=2, **kw).fit(X, Y)
    assert sorted(fused_calls[1:]) == [4, 4]
    two = RandomizedSearchCV(MLPClassifier(**NET), SPACE, n_jobs=2, **kw).fit(X, Y)
    _same_results(two, one)
    _same_results(threads, one)


class _CountingScaler(TransformerMixin, BaseEstimator):
    """StandardScaler that records each fit in a shared list."""

    def __init__(self, counts=None, with_mean=True):
        self.counts = counts
        self.with_mean = with_mean

    def fit(self, X, y=None):
        self.counts.append(len(X))
        self.scaler_ = StandardScaler(with_mean=self.with_mean).fit(X)
        return self

    def transform(self, X):
        return self.scaler_.transform(X)

    def __sklearn_clone__(self):  # the counter is shared, not copied
        return _CountingScaler(self.counts, self.with_mean)


def test_cnn_pipeline_search_equals_scikit_learns(fused_calls):
    from sklearn.datasets import load_digits

    from sktune import CNNClassifier

    X_d, y_d = load_digits(return_X_y=True)
    X_d, y_d = X_d[:80], y_d[:80]  # folds of 40: a batch of 32 and a ragged one
    pipe = make_pipeline(StandardScaler(), CNNClassifier(
        channels=(4,), hidden_layer_sizes=(8,), input_shape=(8, 8), max_iter=2,
        batch_size=32, random_state=0, device="cpu", dtype="float64"))
    grid = {"cnnclassifier__learning_rate_init": [1e-3, 1e-2],
            "cnnclassifier__dropout": [0.0], "cnnclassifier__alpha": [1e-4, 1e-1]}
    ours = GridSearchCV(pipe, grid, cv=2).fit(X_d, y_d)
    theirs = sk.GridSearchCV(pipe, grid, cv=2).fit(X_d, y_d)
    _same_results(ours, theirs)
    assert fused_calls == [8]


def test_a_memory_budget_splits_groups_into_chunks(fused_calls):
    grid = {"learning_rate_init": [1e-3, 1e-2, 0.1]}
    whole = GridSearchCV(MLPClassifier(**NET), grid, cv=2).fit(X, Y)
    assert fused_calls == [6]
    with fusion_config(max_memory=1):  # one copy per chunk: each fit trains on its own
        split = GridSearchCV(MLPClassifier(**NET), grid, cv=2).fit(X, Y)
    assert fused_calls[1:] == []
    _same_results(split, whole)
    with fusion_config(max_memory=2 * _per_copy_bytes() + 1):  # two copies per chunk
        pairs = GridSearchCV(MLPClassifier(**NET), grid, cv=2).fit(X, Y)
    assert fused_calls[1:] == [2, 2, 2]
    _same_results(pairs, whole)


def _per_copy_bytes():
    from sktune.model_selection._fusion import copy_bytes

    return copy_bytes(MLPClassifier(**NET)._begin_fit(X[:75], Y[:75]))


def test_cpu_chunks_keep_a_steps_activations_within_the_cache(fused_calls, monkeypatch):
    from sktune.model_selection import _fusion

    grid = {"learning_rate_init": [1e-3, 1e-2, 0.1]}
    whole = GridSearchCV(MLPClassifier(**NET), grid, cv=2).fit(X, Y)
    assert fused_calls == [6]
    net = MLPClassifier(**NET).fit(X, Y).net_  # one copy's step: a batch's activations
    run = SimpleNamespace(net=net, dataset=SimpleNamespace(X=torch.as_tensor(X[:1])))
    step = _fusion._activation_bytes(run) * NET["batch_size"]
    assert step >= (8 + 3) * 8 * 32  # at least the two layers' float64 outputs
    monkeypatch.setattr(_fusion, "cache_bytes", lambda: 2 * step + 1)
    split = GridSearchCV(MLPClassifier(**NET), grid, cv=2).fit(X, Y)
    assert fused_calls[1:] == [2, 2, 2]
    _same_results(split, whole)


def test_cache_size_is_read_or_defaults():
    from sktune.model_selection._fusion import cache_bytes

    size = cache_bytes()
    assert isinstance(size, int) and 2**16 <= size <= 2**34


def test_dask_workers_get_fused_chunks(fused_calls):
    distributed = pytest.importorskip("dask.distributed")
    from joblib import parallel_config

    kw = dict(n_iter=4, cv=2, random_state=0)
    one = RandomizedSearchCV(MLPClassifier(**NET), SPACE, **kw).fit(X, Y)
    assert fused_calls == [8]
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2,
                            dashboard_address=None), parallel_config("dask"):
        on_dask = RandomizedSearchCV(MLPClassifier(**NET), SPACE, **kw).fit(X, Y)
    _same_results(on_dask, one)
    assert fused_calls[1:] == [4, 4]  # one fused chunk per Dask worker thread


def test_progress_line_rewrites_itself_on_a_terminal():
    import io

    from sktune.model_selection._progress import SearchProgress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    progress = SearchProgress(1, stream=stream)
    progress.expect(4, [0, 1], 2)
    for i, score in enumerate([0.5, 0.7, 0.9, 0.8]):
        progress.update(i, i // 2, score)
    text = stream.getvalue()
    assert text.startswith("\r") and text.endswith("\n")
    assert "fits 4/4 | best mean score 0.8500" in text
    quiet = SearchProgress(0, stream=Terminal())
    quiet.expect(1, [0], 1)
    quiet.update(0, 0, 1.0)
    assert quiet.stream.getvalue() == ""
