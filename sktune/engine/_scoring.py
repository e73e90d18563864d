"""What skorch's own callbacks see of the engine, so that they work as skorch documents.

skorch's scoring callbacks (``EpochScoring``, ``BatchScoring``) score a net with
scikit-learn scorers: ``net.predict`` / ``net.predict_proba`` on the epoch's cached
outputs, compared with the targets of skorch-convention ``(X, y)`` batches. The engine's
batches carry ``(y, sample_weight)`` and its network outputs logits; :class:`SkorchScoring`
gives the engine the task's reading of both (:class:`TaskOutputs`), and the estimator
type and classes that scikit-learn's scorers look for (``"roc_auc"`` reads the positive
class's column). skorch's ``EarlyStopping`` ends training by raising KeyboardInterrupt;
:func:`skorch_early_stop` tells it from Ctrl-C.
"""

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class TaskOutputs(Protocol):
    """How a task reads a network's outputs, for skorch callbacks that score the net: the
    estimators' ``ClassifierOutputs`` and ``RegressorOutputs`` (sktune._supervised).

    ``proba(output)`` -> probabilities or values; ``predict(output)`` -> predictions in
    the encoded label space (class indices); ``targets(y)`` -> the engine's encoded
    targets as scorers compare them with ``predict`` (1-D class indices...);
    ``estimator_type`` ("classifier" or "regressor") and ``classes`` (the encoded
    classes, or None) make the engine look to scikit-learn's scorers like the task's
    estimator, so that ``"roc_auc"`` reads the positive class's column.
    """

    estimator_type: str
    classes: object

    def proba(self, output): ...

    def predict(self, output): ...

    def targets(self, y): ...


class SkorchScoring:
    """The engine's side of skorch's scoring callbacks (a mixin of
    :class:`~sktune.engine.Engine`; ``self.outputs`` is its :class:`TaskOutputs`)."""

    def _skorch_batch(self, batch):
        """A batch as skorch's callbacks expect it, ``(X, y)``: the targets alone (the
        engine's batches carry ``(y, sample_weight)``), as the task's scorers read them."""
        Xi, (yi, _) = batch
        if yi is not None and self.outputs is not None:
            yi = self.outputs.targets(yi)
        return Xi, yi

    @property
    def classes_(self):
        """The encoded classes (``0 .. n_classes - 1``) of a classifier's engine."""
        classes = getattr(self.outputs, "classes", None)
        if classes is None:
            raise AttributeError("classes_: this engine does not classify")
        return classes

    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags, InputTags, RegressorTags, Tags, TargetTags

        kind = getattr(self.outputs, "estimator_type", None)
        return Tags(estimator_type=kind, target_tags=TargetTags(required=True),
                    input_tags=InputTags(),
                    classifier_tags=ClassifierTags() if kind == "classifier" else None,
                    regressor_tags=RegressorTags() if kind == "regressor" else None)

    def predict_proba(self, X):
        """The task's probabilities (or values) of ``X``, as numpy: what a skorch scoring
        callback's scorer reads. The estimators' own ``predict_proba`` is theirs."""
        if self.outputs is None:
            return super().predict_proba(X)
        return np.concatenate([self.outputs.proba(out).detach().cpu().numpy()
                               for out in self.forward_iter(X)])

    def predict(self, X):
        """Predictions of ``X`` in the engine's encoded label space (class indices) or the
        target's units, as numpy, for skorch's scoring callbacks."""
        if self.outputs is None:
            return super().predict(X)
        return np.concatenate([self.outputs.predict(out).detach().cpu().numpy()
                               for out in self.forward_iter(X)])


def skorch_early_stop(net):
    """The reason skorch's ``EarlyStopping`` gives when it is what ended training (it
    raises KeyboardInterrupt once ``patience`` epochs missed), else None."""
    from skorch.callbacks import EarlyStopping

    for _, callback in net.callbacks_:
        if isinstance(callback, EarlyStopping) and \
                getattr(callback, "misses_", 0) >= callback.patience:
            return (f"skorch EarlyStopping: {callback.monitor} did not improve for "
                    f"{callback.patience} epochs.")
    return None
