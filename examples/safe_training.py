"""Fits you can trust: divergence, interruption, callbacks and compact pickles.

- A candidate whose loss explodes raises TrainingDivergedError; in a search it scores
  ``error_score`` and the other candidates go on.
- Ctrl-C (simulated here by a callback raising KeyboardInterrupt) keeps the best weights
  so far; in the first epoch it leaves the previous model untouched.
- ``callbacks=`` takes skorch callbacks or your own (a custom stopping rule here, and
  skorch's EpochScoring and Checkpoint).
- A fused search validates every candidate as ``fit`` does: an invalid one scores NaN
  with a FitFailedWarning, as in scikit-learn's search, and the others train fused.
- ``warm_start`` after an architecture change rebuilds the network it describes with
  the fitted weights, or says why it cannot.
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
from skorch.callbacks import Callback, Checkpoint, EpochScoring

from sktune import MLPClassifier
from sktune.model_selection import GridSearchCV as FusedGridSearchCV

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

# 4. skorch's own callbacks: a metric per epoch, a checkpoint of the best epoch
with __import__("tempfile").TemporaryDirectory() as folder:
    model = make_pipeline(StandardScaler(), MLPClassifier(
        max_iter=10 if QUICK else 50, early_stopping=True, random_state=0, callbacks=[
            EpochScoring("f1_macro", name="valid_f1", lower_is_better=False),
            Checkpoint(dirname=folder)])).fit(X, y)
    saved = sorted(p.name for p in __import__("pathlib").Path(folder).iterdir())
print(f"EpochScoring: validation F1 {model[-1].history_[-1]['valid_f1']:.3f} in the last "
      f"epoch; Checkpoint wrote {saved}")

# 5. a fused search rejects an invalid candidate as scikit-learn's search does
fused = FusedGridSearchCV(make_pipeline(StandardScaler(), MLPClassifier(
    max_iter=5, random_state=0)), {"mlpclassifier__l1": [0.0, 1e-4, -1.0]}, cv=3).fit(X, y)
print("fused search, l1 = 0 / 1e-4 / -1:", np.round(fused.cv_results_["mean_test_score"], 3))

# 6. warm_start after a change of architecture
clf = MLPClassifier((32,), max_iter=5, warm_start=True, random_state=0).fit(X, y)
clf.set_params(activation="tanh").fit(X, y)  # rebuilt as a tanh network, weights kept
print(f"warm start with activation='tanh': {type(clf.net_.module_[1]).__name__} network, "
      f"{len(clf.loss_curve_)} epochs in all")
try:
    clf.set_params(hidden_layer_sizes=(64,)).fit(X, y)
except ValueError as exc:
    print("warm start with hidden_layer_sizes=(64,):", str(exc).split(". ")[0] + ".")

# 7. a pickle holds the weights once (and no optimizer state unless asked)
big = MLPClassifier((512, 512), max_iter=2, random_state=0).fit(X, y)
weights = sum(t.nbytes for t in big.coefs_ + big.intercepts_)
print(f"pickle {len(pickle.dumps(big)) / 1e6:.2f} MB for {weights / 1e6:.2f} MB of weights; "
      f"with keep_optimizer_state=True "
      f"{len(pickle.dumps(big.set_params(keep_optimizer_state=True))) / 1e6:.2f} MB")
