"""Tuning at scale: halving on epochs, Optuna with pruning, a Dask cluster, the results.

Run: python examples/tuning_at_scale.py [--quick]   (writes PNGs to ./tuning-results)
"""

import sys
import warnings
from pathlib import Path

import numpy as np
from joblib import parallel_config
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import HalvingRandomSearchCV
from sklearn.preprocessing import StandardScaler

from sktune import (
    MLPClassifier,
    dask_client,
    leaderboard,
    plot_learning_curves,
    plot_scores,
    search_space,
)

QUICK = "--quick" in sys.argv


def main():
    # the early rounds stop candidates on purpose: no warning per candidate (one line below)
    warnings.simplefilter("ignore", ConvergenceWarning)
    out = Path("tuning-results")
    out.mkdir(exist_ok=True)

    X, y = load_digits(return_X_y=True)
    if QUICK:
        X, y = X[:300], y[:300]
    X = StandardScaler().fit_transform(X)  # scaled once: Optuna's pruning needs a bare estimator
    budget = 9 if QUICK else 81
    cv = 2 if QUICK else 3
    # max_iter: what a refit trains for (halving sets it per rung; Optuna's refit of the
    # best trial uses the estimator's own, which would otherwise be 200 epochs)
    model = MLPClassifier(max_iter=budget, n_iter_no_change=np.inf, random_state=0)

    # 1. successive halving, epochs as the budget, on a local Dask cluster (2 workers)
    space = search_space(model, X, cv=cv)  # sized to the data: no batch over half a fit's rows
    halving = HalvingRandomSearchCV(model, space, n_candidates=9 if QUICK else 27,
                                    resource="max_iter", min_resources=budget // 9,
                                    max_resources=budget, factor=3, cv=cv, random_state=0)
    if QUICK:  # a smoke test: on one worker joblib would run the fits in this process anyway
        halving.fit(X, y)
    else:
        with dask_client(n_workers=2), parallel_config("dask-resilient"):
            halving.fit(X, y)
    print(leaderboard(halving, top=5)[["rank", "mean_test_score", "n_resources",
                                       "learning_rate_init", "hidden_layer_sizes"]])
    plot_scores(halving, out / "scores.png")
    plot_learning_curves(halving, X, y, out / "learning_curves.png", top=3)

    # 2. Optuna: Bayesian search, pruning trials epoch by epoch through partial_fit
    #    over the same default space (layer sizes included)
    try:
        import optuna
        from optuna_integration import OptunaSearchCV
    except ImportError:
        print("pip install -e '.[tune]' (from the repository) for the Optuna part")
    else:
        from sktune.model_selection import optuna_distributions

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        # optuna-integration still calls optuna.terminator, deprecated in optuna 4.9
        warnings.filterwarnings("ignore", category=FutureWarning, module="optuna")
        bayes = OptunaSearchCV(
            model, optuna_distributions(space), enable_pruning=True, max_iter=budget,
            n_trials=3 if QUICK else 30, cv=cv, random_state=0, study=optuna.create_study(
                direction="maximize", sampler=optuna.samplers.TPESampler(seed=0),
                pruner=optuna.pruners.MedianPruner(n_warmup_steps=2)))
        bayes.fit(X, y)
        pruned = sum(t.state.name == "PRUNED" for t in bayes.study_.trials)
        print(f"Optuna: best CV accuracy {bayes.best_score_:.3f}, {pruned} trials pruned")
        print(leaderboard(bayes, top=3)[["rank", "state", "mean_test_score",
                                         "hidden_layer_sizes"]])
    print("(ConvergenceWarnings of candidates stopped at their epoch budget were silenced)")
    print(f"plots written to {out}/")


if __name__ == "__main__":  # dask spawns worker processes that re-import this file
    main()
