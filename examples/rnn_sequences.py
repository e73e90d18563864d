"""RNNs on variable-length sequences: classify by the order of events, forecast a series.

Run: python examples/rnn_sequences.py [--quick]
"""

import sys
import warnings

import numpy as np
from sklearn.model_selection import GridSearchCV, cross_val_score

from sktune import RNNClassifier, RNNRegressor

QUICK = "--quick" in sys.argv
warnings.simplefilter("ignore")  # ConvergenceWarning of the short --quick runs
rng = np.random.RandomState(0)

# 1. A list of sequences of different lengths, shape (3, T_i) each (3 channels, as aeon
#    holds them): two events in noise; the label is which comes first. Only the order
#    carries the label.
X, y = [], []
for _ in range(120 if QUICK else 800):
    steps = rng.randint(5, 30)
    seq = np.r_[np.zeros((2, steps)), 0.1 * rng.randn(1, steps)]
    a, b = rng.choice(steps, 2, replace=False)
    seq[0, a] = seq[1, b] = 1
    X.append(seq)
    y.append(int(a < b))

clf = RNNClassifier(cell="gru", learning_rate_init=0.01, max_iter=3 if QUICK else 60,
                    random_state=0)
cv = 2 if QUICK else 3
print(f"order task, {cv}-fold accuracy:", cross_val_score(clf, X, y, cv=cv).round(3))

search = GridSearchCV(clf, {"pooling": ["last", "attention"], "hidden_size": [16, 64]}, cv=cv)
search.fit(X, y)
print("best architecture:", search.best_params_, f"({search.best_score_:.3f})")

# 2. Forecasting: windows of 24 steps of a noisy seasonal series -> the next value
t = np.arange(1200) / 8
series = np.sin(t) + 0.5 * np.sin(t / 5) + 0.05 * rng.randn(len(t))
windows = np.stack([series[i:i + 24] for i in range(len(series) - 24)])
target = series[24:]
train = slice(600, 900) if QUICK else slice(900)  # the last 300 windows before the test
reg = RNNRegressor(cell="lstm", learning_rate_init=0.01, max_iter=3 if QUICK else 80,
                   random_state=0).fit(windows[train], target[train])
print(f"next-value forecast, test R^2: {reg.score(windows[900:], target[900:]):.3f}")
