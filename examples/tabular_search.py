"""Tune the tabular recipe with a fused search, then keep what the search learned.

``sktune.tabular_mlp`` is an MLP with strong defaults for tables (periodic numeric
embeddings, 256x256, AdamW, dropout, early stopping with the best epoch restored,
float32); ``search_space(..., recipe="tabular", n_iter=...)`` is its search space sized
to the budget. The fused search trains its candidates as one stacked network, then
either refits the best few for the epochs their cross-validation chose and averages
them (``refit_ensemble``), or averages their cross-validation fits with no refit at all
(``average_folds=True``). The untuned MLP is printed alongside.

Run: python examples/tabular_search.py [--quick]
"""

import sys
import time
import warnings

from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktune import MLPRegressor, search_space, tabular_mlp
from sktune.model_selection import RandomizedSearchCV

QUICK = "--quick" in sys.argv
warnings.simplefilter("ignore", ConvergenceWarning)  # one summary line per search instead

X, y = load_diabetes(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)


def on_tables(network):
    """Scaled features in, a standardised target learned, predictions in the target's
    units (networks train poorly on targets far from unit scale)."""
    return TransformedTargetRegressor(make_pipeline(StandardScaler(), network),
                                      transformer=StandardScaler())


untuned = on_tables(MLPRegressor(random_state=0, max_iter=5 if QUICK else 200))
print(f"untuned MLPRegressor: test R2 {untuned.fit(X_train, y_train).score(X_test, y_test):.3f}")

model = on_tables(tabular_mlp("regression", random_state=0, max_iter=5 if QUICK else 200))
n_iter, cv = (2, 2) if QUICK else (6, 3)  # the command line's budget
space = search_space(model, X_train, cv=cv, recipe="tabular", n_iter=n_iter)
print("searched:", sorted(name.rsplit("__", 1)[1] for name in space))
for average_folds in (False, True):
    start = time.process_time()
    search = RandomizedSearchCV(model, space, n_iter=n_iter, cv=cv, random_state=0,
                                refit_ensemble=2 if QUICK else 3,
                                average_folds=average_folds).fit(X_train, y_train)
    how = ("cross-validation fits averaged" if average_folds else
           f"refitted for {search.refit_max_iter_} epochs, averaged")
    print(f"fused search, best {len(search.refit_indices_)} {how}: CV R2 "
          f"{search.best_score_:.3f}, test R2 {search.score(X_test, y_test):.3f} "
          f"({time.process_time() - start:.1f} s CPU)")
