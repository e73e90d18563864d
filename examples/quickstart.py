"""Quick start: fit an sktune MLP, predict, and read its training history.

Run: python examples/quickstart.py [--quick]
"""

import sys

import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktune import MLPClassifier

QUICK = "--quick" in sys.argv

X, y = load_breast_cancer(return_X_y=True, as_frame=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

model = make_pipeline(
    StandardScaler(),
    MLPClassifier(hidden_layer_sizes=(64, 32), dropout=0.2, batch_norm=True,
                  learning_rate="cosine", early_stopping=True,
                  max_iter=10 if QUICK else 100, random_state=0),
)
model.fit(X_train, y_train)
mlp = model[-1]
print(f"test accuracy: {model.score(X_test, y_test):.3f}")
print(f"epochs trained: {mlp.n_iter_}, best validation accuracy: "
      f"{mlp.best_validation_score_:.3f}")
print("probabilities of the first 3 test rows:\n", model.predict_proba(X_test[:3]).round(3))
print(pd.DataFrame(mlp.history_).tail().to_string(index=False))
