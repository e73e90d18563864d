"""Tune an sktune MLP inside a Pipeline with RandomizedSearchCV (the core issue's example).

Run: python examples/pipeline_search.py [--quick]
"""

import sys
import warnings

from scipy.stats import loguniform
from sklearn.datasets import load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import RandomizedSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktune import MLPClassifier, search_space

QUICK = "--quick" in sys.argv
# Candidates that use their whole epoch budget warn one by one (scikit-learn's
# ConvergenceWarning); for a search, one line at the end says it instead.
warnings.simplefilter("ignore", ConvergenceWarning)

X, y = load_wine(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

pipe = make_pipeline(StandardScaler(), MLPClassifier(early_stopping=True, random_state=0,
                                                     max_iter=10 if QUICK else 100))
search = RandomizedSearchCV(pipe, {
    "mlpclassifier__solver": ["adam", "adamw", "sgd", "rmsprop"],
    "mlpclassifier__learning_rate_init": loguniform(1e-4, 1e-1),
    "mlpclassifier__alpha": loguniform(1e-6, 1e-2),        # L2
    "mlpclassifier__l1": [0.0, 1e-5, 1e-4],
    "mlpclassifier__dropout": [0.0, 0.2, 0.5],
    "mlpclassifier__batch_norm": [False, True],
    "mlpclassifier__learning_rate": ["constant", "step", "exponential", "cosine", "plateau"],
}, n_iter=3 if QUICK else 30, cv=3, n_jobs=1 if QUICK else 2,  # --quick: no worker start-up
    random_state=0).fit(X_train, y_train)

print(f"best CV accuracy {search.best_score_:.3f}, test accuracy "
      f"{search.score(X_test, y_test):.3f}")
print("best parameters:", {k.split("__")[1]: v for k, v in search.best_params_.items()})

# The same search in one line, with sktune's default distributions, sized to the data
# (no batch larger than half of the rows a fit trains on):
quick = RandomizedSearchCV(pipe, search_space(pipe, X_train, cv=3), n_iter=2 if QUICK else 20,
                           cv=3, random_state=0).fit(X_train, y_train)
print(f"default search space: best CV accuracy {quick.best_score_:.3f}")
print("(ConvergenceWarnings of candidates that used their whole epoch budget were silenced)")
