"""Leaderboards and plots tell the truth (sktune/model_selection/_results.py): best first
means rank order, halving candidates are ranked by their final round, plots mark the best
and order numbers and tuples numerically."""

import numpy as np
import pytest
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import HalvingRandomSearchCV, RandomizedSearchCV

from sktune import (
    MLPClassifier,
    leaderboard,
    plot_learning_curves,
    plot_scores,
    search_space,
)
from sktune.model_selection._results import _natural_key
from tests.conftest import FAST

# one test process runs the module: its module-scoped fitted models are built once
pytestmark = pytest.mark.xdist_group("results")


@pytest.fixture(scope="module")
def halving(clf_data):
    """9 candidates on 2, then 3 on 6, then 1 on 18 epochs."""
    X, y = clf_data
    est = MLPClassifier(**FAST)
    space = search_space(est, X, cv=2, include=["learning_rate_init", "alpha",
                                                 "hidden_layer_sizes", "solver"])
    return HalvingRandomSearchCV(est, space, n_candidates=9, resource="max_iter",
                                 min_resources=2, max_resources=18, factor=3, cv=2,
                                 random_state=0).fit(X, y)


@pytest.fixture
def figures(monkeypatch):
    """The matplotlib figures the plotting functions save, for inspection."""
    from matplotlib.figure import Figure

    saved = []
    original = Figure.savefig
    monkeypatch.setattr(Figure, "savefig",
                        lambda fig, path, **kw: (saved.append(fig), original(fig, path, **kw)))
    return saved


def test_halving_leaderboard_is_in_rank_order_with_final_round_first(halving):
    table = leaderboard(halving)
    assert len(table) == 9  # each candidate once, on the last round it reached
    assert list(table["rank"]) == sorted(table["rank"]) and table["rank"].iloc[0] == 1
    assert table["n_resources"].is_monotonic_decreasing
    assert table.index[0] == halving.best_index_
    for _, rows in table.groupby("n_resources", sort=False):
        assert rows["mean_test_score"].is_monotonic_decreasing
    assert table["max_iter"].iloc[0] == 18
    assert list(leaderboard(halving, top=3)["rank"]) == list(table["rank"][:3])


def test_learning_curves_refit_the_best_candidates_on_the_final_budget(halving, clf_data,
                                                                       tmp_path, figures):
    X, y = clf_data
    models = plot_learning_curves(halving, X, y, tmp_path / "curves.png", top=3)
    table = leaderboard(halving, top=3)
    assert [m.max_iter for m in models] == list(table["max_iter"])  # 18, 6, 6
    assert models[0].get_params()["learning_rate_init"] == \
        halving.best_params_["learning_rate_init"]
    texts = [t.get_text() for ax in figures[0].axes for t in ax.texts]
    assert any("early_stopping was off" in t for t in texts)  # the empty panel says why


def test_plot_scores_marks_the_best_and_orders_tuples_by_depth(halving, tmp_path, figures):
    plot_scores(halving, tmp_path / "scores.png")
    assert (tmp_path / "scores.png").read_bytes()[:4] == b"\x89PNG"
    axes = {ax.get_xlabel(): ax for ax in figures[0].axes}
    labels = [t.get_text() for t in axes["hidden_layer_sizes"].get_xticklabels()]
    sizes = [tuple(int(v) for v in lab.strip("(),").split(", ")) for lab in labels]
    assert sizes == sorted(sizes, key=lambda s: (len(s), s))
    best = [c for c in axes["alpha"].collections if c.get_label() == "best"]
    assert len(best) == 1 and len(best[0].get_offsets()) == 1
    assert best[0].get_offsets()[0][1] == pytest.approx(halving.best_score_)
    assert axes["alpha"].get_xscale() in ("log", "linear")


def test_natural_order_of_values():
    values = [(256, 128), (64,), "adam", 1e-3, None, (128,), True, 32, (64, 32, 16)]
    assert sorted(values, key=_natural_key) == [
        None, True, 1e-3, 32, (64,), (128,), (256, 128), (64, 32, 16), "adam"]


def test_random_search_leaderboard_and_learning_curves_with_validation(clf_data, tmp_path,
                                                                       figures):
    X, y = clf_data
    est = MLPClassifier(max_iter=4, early_stopping=True, **FAST)
    search = RandomizedSearchCV(est, search_space(est, include=["alpha", "solver",
                                                                "hidden_layer_sizes"]),
                                n_iter=4, cv=2, random_state=0).fit(X, y)
    table = leaderboard(search)
    assert list(table["rank"]) == sorted(search.cv_results_["rank_test_score"])
    assert table["mean_test_score"].is_monotonic_decreasing
    models = plot_learning_curves(search, X, y, tmp_path / "curves.png", top=2)
    assert models[0].get_params()["alpha"] == search.best_params_["alpha"]
    score_ax = figures[0].axes[1]
    assert score_ax.get_ylabel() == "validation score" and len(score_ax.lines) == 2


def test_optuna_leaderboard_lists_completed_trials_first(clf_data, tmp_path):
    optuna = pytest.importorskip("optuna")
    from optuna_integration import OptunaSearchCV

    from sktune.model_selection import optuna_distributions

    X, y = clf_data
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    est = MLPClassifier(**FAST)
    search = OptunaSearchCV(
        est, optuna_distributions(search_space(est, include=["learning_rate_init",
                                                             "hidden_layer_sizes"])),
        enable_pruning=True, max_iter=4, n_trials=8, cv=2, random_state=0,
        study=optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(
            seed=0), pruner=optuna.pruners.MedianPruner(n_startup_trials=2,
                                                        n_warmup_steps=1))).fit(X, y)
    table = leaderboard(search)
    assert len(table) == 8 and table["rank"].iloc[0] == 1
    complete = table["state"] == "complete"
    assert complete.iloc[:complete.sum()].all()  # completed trials first
    assert table.index[0] == search.best_trial_.number
    assert table["hidden_layer_sizes"].map(type).eq(tuple).all()  # searched, as tuples
    plot_scores(search, tmp_path / "scores.png")
    assert np.isfinite(table["mean_test_score"].iloc[0])
