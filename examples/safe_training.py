"""Fits you can trust: divergence, interruption, callbacks and compact pickles.

- A candidate whose loss explodes raises TrainingDivergedError; in a search it scores
  ``error_score`` and the other candidates go on.
- Ctrl-C (simulated here by a callback raising KeyboardInterrupt) keeps the best weights
  so far; in the first epoch it leaves the previous model untouched.
- ``callbacks=`` takes skorch callbacks or your own (a custom stopping rule here).
- A pickle holds the weights once.
Run: python examples/safe_training.py [--quick]
"""

import pickle
import sys
import warnings

import numpy as np
from sklearn.datasets import load_wine
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback

from sktune import MLPClassifier

QUICK = "--quick" in sys.argv
X, y = load_wine(return_X_y=True)
warnings.simplefilter("ignore")


class CtrlCAtEpoch(Callback):
    """Stands in for a user pressing Ctrl-C during epoch ``epoch``."""

    def __init__(self, epoch=5):
        self.epoch = epoch

    def on_epoch_begin(self, net, **kwargs):
        if len(net.history) == self.epoch:
            raise KeyboardInterrupt


class StopAtAccuracy(Callback):
    """A custom stopping rule: stop once the validation accuracy reaches ``target``."""

    def __init__(self, target=0.95):
        self.target = target

    def on_epoch_end(self, net, **kwargs):
        if net.history[-1, "valid_score"] >= self.target:
            net.request_stop(f"validation accuracy reached {self.target}")


# 1. a diverging candidate in a search
search = GridSearchCV(
    make_pipeline(StandardScaler(), MLPClassifier(solver="sgd", max_iter=20, random_state=0)),
    {"mlpclassifier__learning_rate_init": [0.01, 1e6]}, cv=3, error_score=np.nan).fit(X, y)
for lr, score in zip([1e-2, 1e6], search.cv_results_["mean_test_score"]):
    print(f"learning_rate_init={lr:g}: mean CV accuracy {score:.3f}")

# 2. an interrupted fit keeps the best weights so far
model = make_pipeline(StandardScaler(), MLPClassifier(
    max_iter=200, callbacks=[CtrlCAtEpoch(3 if QUICK else 20)], random_state=0)).fit(X, y)
print(f"interrupted: stop_reason_={model[-1].stop_reason_!r} after {model[-1].n_iter_} "
      f"epochs, training accuracy {model.score(X, y):.3f}")

# 3. a custom stopping rule
model = make_pipeline(StandardScaler(), MLPClassifier(
    max_iter=200, early_stopping=True, callbacks=[StopAtAccuracy(0.9)],
    random_state=0)).fit(X, y)
print(f"custom rule: {model[-1].stop_reason_} (epoch {model[-1].n_iter_})")

# 4. a pickle holds the weights once (and no optimizer state unless asked)
big = MLPClassifier((512, 512), max_iter=2, random_state=0).fit(X, y)
weights = sum(t.nbytes for t in big.coefs_ + big.intercepts_)
print(f"pickle {len(pickle.dumps(big)) / 1e6:.2f} MB for {weights / 1e6:.2f} MB of weights; "
      f"with keep_optimizer_state=True "
      f"{len(pickle.dumps(big.set_params(keep_optimizer_state=True))) / 1e6:.2f} MB")
