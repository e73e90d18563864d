"""Fused searches: the same search, with its networks trained together.

`from sktune.model_selection import RandomizedSearchCV` instead of scikit-learn's is the
only change. The candidates of the search (8 settings of the learning rate, L2, dropout
and solver, times 3 folds) train as one stacked network; the results are scikit-learn's
— the same cv_results_ keys, and without dropout the same scores up to float rounding.

Run: python examples/fused_search.py [--quick]
"""

import sys
import time
import warnings

import numpy as np
from scipy.stats import loguniform
from sklearn import model_selection as sklearn_search
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktune import MLPClassifier, leaderboard
from sktune import model_selection as sktune_search

QUICK = "--quick" in sys.argv
warnings.simplefilter("ignore", ConvergenceWarning)

X, y = load_digits(return_X_y=True)
if QUICK:
    X, y = X[:400], y[:400]
pipe = make_pipeline(StandardScaler(), MLPClassifier(
    hidden_layer_sizes=(128, 64), batch_size=64, max_iter=3 if QUICK else 20,
    random_state=0, dtype="float32"))
space = {
    "mlpclassifier__learning_rate_init": loguniform(1e-4, 1e-2),
    "mlpclassifier__alpha": loguniform(1e-6, 1e-2),
    "mlpclassifier__solver": ["adam", "adamw"],
    "mlpclassifier__early_stopping": [False, True],
}
results = {}
for name, module in [("scikit-learn", sklearn_search), ("sktune (fused)", sktune_search)]:
    start = time.perf_counter()
    search = module.RandomizedSearchCV(pipe, space, n_iter=8, cv=3, random_state=0).fit(X, y)
    results[name] = search
    print(f"{name:15s} {time.perf_counter() - start:6.1f} s   best CV accuracy "
          f"{search.best_score_:.4f}   best {search.best_params_}")

ours, theirs = results["sktune (fused)"], results["scikit-learn"]
gap = np.abs(ours.cv_results_["mean_test_score"] - theirs.cv_results_["mean_test_score"])
print(f"same cv_results_ keys: {sorted(ours.cv_results_) == sorted(theirs.cv_results_)}; "
      f"largest per-candidate score difference: {gap.max():.2e}")
print(leaderboard(ours, top=3).to_string(index=False))
