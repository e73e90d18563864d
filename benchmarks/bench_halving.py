"""Successive halving on epochs against a full random search with the same candidates.

Task: scikit-learn's digits (flat pixels -> StandardScaler -> MLPClassifier), 3-fold CV.
Both searches draw the same 27 candidates (same distributions, same random_state); the
random search trains each for the full 81 epochs, HalvingRandomSearchCV gives 3, 9, 27
and 81 epochs to successively fewer of them (factor 3). ``n_iter_no_change=inf`` so the
epoch budget is exactly what each fit gets. Prints best CV scores, their gap in
points and the wall-time ratio (targets: gap <= 0.5 points, time <= 35%).

Run: ``python benchmarks/bench_halving.py [--candidates 27] [--epochs 81]``
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import HalvingRandomSearchCV, RandomizedSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktune import MLPClassifier, search_space


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--candidates", type=int, default=27)
    parser.add_argument("--epochs", type=int, default=81)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    X, y = load_digits(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), MLPClassifier(n_iter_no_change=np.inf,
                                                         random_state=0, device="cpu"))
    space = search_space(pipe, include=["learning_rate_init", "alpha", "dropout",
                                        "hidden_layer_sizes", "batch_norm", "solver"])
    common = dict(cv=3, random_state=0, n_jobs=1)

    start = time.perf_counter()
    full = RandomizedSearchCV(pipe.set_params(mlpclassifier__max_iter=args.epochs), space,
                              n_iter=args.candidates, **common).fit(X, y)
    full_time = time.perf_counter() - start

    start = time.perf_counter()
    halving = HalvingRandomSearchCV(pipe, space, n_candidates=args.candidates, factor=3,
                                    resource="mlpclassifier__max_iter",
                                    min_resources=max(1, args.epochs // 27),
                                    max_resources=args.epochs, **common).fit(X, y)
    halving_time = time.perf_counter() - start

    same = [dict(p, mlpclassifier__max_iter=None) for p in halving.cv_results_["params"]
            if p["mlpclassifier__max_iter"] == min(halving.cv_results_["n_resources"])]
    print(f"digits, {args.candidates} candidates x 3 folds, up to {args.epochs} epochs")
    print(f"  full random search: best CV accuracy {full.best_score_:.4f} in {full_time:.1f} s")
    budgets = sorted(int(b) for b in set(halving.cv_results_["n_resources"]))
    print(f"  successive halving: best CV accuracy {halving.best_score_:.4f} in "
          f"{halving_time:.1f} s (budgets {budgets})")
    print(f"  score gap {100 * (full.best_score_ - halving.best_score_):+.2f} points "
          "(target <= 0.5)")
    print(f"  time ratio {halving_time / full_time:.2f} (target <= 0.35)")
    searched = [dict(p, mlpclassifier__max_iter=None) for p in full.cv_results_["params"]]
    print(f"  same candidates as the random search: "
          f"{len(same) == args.candidates and all(c in searched for c in same)}")


if __name__ == "__main__":
    main()
