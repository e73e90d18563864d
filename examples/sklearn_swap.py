"""The import swap: the same script with scikit-learn's MLPClassifier and with sktune's.

Only the import changes; every parameter keeps its scikit-learn meaning — including
``solver="lbfgs"``, whose path from the same ``random_state`` follows scikit-learn's
(same initial weights, same objective), and float64 training of float64 data.
Run: python examples/sklearn_swap.py [--quick]
"""

import sys
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SklearnMLP
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktune import MLPClassifier as SktuneMLP

QUICK = "--quick" in sys.argv
warnings.simplefilter("ignore", ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

for solver in ["adam", "lbfgs"]:
    params = dict(hidden_layer_sizes=(128,), alpha=1e-4, solver=solver,
                  max_iter=10 if QUICK else 200, early_stopping=solver == "adam",
                  random_state=0)
    models = {}
    for name, MLPClassifier in [("scikit-learn", SklearnMLP), ("sktune", SktuneMLP)]:
        start = time.perf_counter()
        clf = make_pipeline(StandardScaler(), MLPClassifier(**params)).fit(X_train, y_train)
        models[name] = clf
        print(f"{solver:5s} {name:13s} test accuracy {clf.score(X_test, y_test):.3f}  "
              f"iterations {clf[-1].n_iter_:3d}  coefs_ {clf[-1].coefs_[0].dtype}  "
              f"fit {time.perf_counter() - start:.1f} s")
    gap = np.abs(models["sktune"].predict_proba(X_test) -
                 models["scikit-learn"].predict_proba(X_test)).max()
    print(f"      largest probability difference between the two: {gap:.3g}")
