"""The import swap: the same script with scikit-learn's MLPClassifier and with sktune's.

Only the import changes; every parameter keeps its scikit-learn meaning.
Run: python examples/sklearn_swap.py [--quick]
"""

import sys
import time
import warnings

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

params = dict(hidden_layer_sizes=(128,), alpha=1e-4, learning_rate_init=1e-3,
              max_iter=10 if QUICK else 200, early_stopping=True, n_iter_no_change=10,
              random_state=0)
for name, MLPClassifier in [("scikit-learn", SklearnMLP), ("sktune", SktuneMLP)]:
    start = time.perf_counter()
    clf = make_pipeline(StandardScaler(), MLPClassifier(**params)).fit(X_train, y_train)
    print(f"{name:13s} test accuracy {clf.score(X_test, y_test):.3f}  epochs "
          f"{clf[-1].n_iter_:3d}  fit {time.perf_counter() - start:.1f} s")
