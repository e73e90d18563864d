"""Classification and regression on top of :class:`~sktune._base.BaseNeuralEstimator`.

Each task decides how targets are encoded, which loss trains the network (scikit-learn's
definitions, :class:`~sktune.engine.SampleLoss`), how the validation score is computed
(accuracy or R², as scikit-learn's ``score``) and how raw outputs become predictions.
Every model family reuses these two bases.
"""

from functools import partial
from numbers import Real

import numpy as np
import torch
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    check_classification_targets,
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import column_or_1d

from sktune._base import BaseNeuralEstimator
from sktune._compat import Interval, StrOptions
from sktune.engine import SampleLoss


def _weighted_mean(values, weight):
    if weight is None:
        return values.mean()
    return (values * weight).sum() / weight.sum()


def _accuracy(output, y, weight, kind):
    """Validation accuracy (subset accuracy for multilabel), computed on the device."""
    if kind == "multiclass":
        correct = output.argmax(dim=1) == y
    else:
        correct = ((output > 0).to(y.dtype) == y).all(dim=1)
    return float(_weighted_mean(correct.to(output.dtype), weight))


def _r2(output, y, weight, poisson):
    """Validation R² averaged over outputs, as ``RegressorMixin.score``."""
    pred = output.exp() if poisson else output
    w = torch.ones(len(y), 1, device=y.device, dtype=y.dtype) if weight is None \
        else weight[:, None]
    mean = (w * y).sum(0) / w.sum()
    ss_res = (w * (y - pred) ** 2).sum(0)
    ss_tot = (w * (y - mean) ** 2).sum(0)
    r2 = torch.where(ss_tot > 0, 1 - ss_res / ss_tot.clamp_min(1e-30),
                     (ss_res == 0).to(y.dtype))
    return float(r2.mean())


class ClassifierOutputs:
    """How a classifier of ``kind`` ("multiclass", "binary", "single", "multilabel")
    reads its network's outputs: probabilities (the columns of ``predict_proba``),
    predictions in the encoded label space (class indices, or an indicator matrix), and
    the encoded targets as scorers take them (the engine's :class:`TaskOutputs`)."""

    estimator_type = "classifier"

    def __init__(self, kind, n_classes):
        self.kind = kind
        self.classes = np.arange(2 if kind in ("binary", "single") else n_classes)

    def proba(self, output):
        if self.kind == "multiclass":
            return torch.softmax(output, dim=1)
        if self.kind == "single":
            return torch.ones_like(output)
        proba = torch.sigmoid(output)
        if self.kind == "binary":
            return torch.cat([1 - proba, proba], dim=1)
        return proba

    def predict(self, output):
        if self.kind == "multiclass":
            return output.argmax(dim=1)
        if self.kind == "single":
            return torch.zeros(len(output), dtype=torch.long, device=output.device)
        labels = (output > 0).long()
        return labels[:, 0] if self.kind == "binary" else labels

    def targets(self, y):
        if self.kind in ("binary", "single"):
            return y[:, 0].long()
        return y.long() if self.kind == "multilabel" else y


class RegressorOutputs:
    """How a regressor reads its network's outputs (``exp`` for the Poisson loss's log
    link) and targets: one column is returned 1-D, as ``predict`` returns it. With
    ``shift`` and ``scale`` (per output) the network learned standardised targets:
    outputs and targets are mapped back to the original units."""

    estimator_type = "regressor"
    classes = None

    def __init__(self, poisson, shift=None, scale=None):
        self.poisson, self.shift, self.scale = poisson, shift, scale

    def _original_units(self, values):
        if self.scale is None:
            return values
        if isinstance(values, torch.Tensor):
            like = dict(dtype=values.dtype, device=values.device)
            return values * torch.as_tensor(self.scale, **like) + torch.as_tensor(
                self.shift, **like)
        return values * self.scale.astype(values.dtype) + self.shift.astype(values.dtype)

    def proba(self, output):
        return self._original_units(output.exp() if self.poisson else output)

    def predict(self, output):
        values = self.proba(output)
        return values[:, 0] if values.shape[1] == 1 else values

    def targets(self, y):
        y = self._original_units(y)
        return y[:, 0] if y.ndim == 2 and y.shape[1] == 1 else y


def _target_moments(y):
    """Per-output mean and standard deviation of ``y`` (float64; 1 for a constant
    output), the affine map between the units of y and what the network learns."""
    y = np.asarray(y, dtype=np.float64)
    mean, std = y.mean(axis=0), y.std(axis=0)
    return mean, np.where(std > 1e-12 * np.maximum(np.abs(mean), 1e-300), std, 1.0)


def _has_stochastic_solver(est):
    """partial_fit exists for the mini-batch solvers only, as in scikit-learn."""
    if est.solver == "lbfgs":
        raise AttributeError("partial_fit is only available for stochastic optimizers. "
                             "lbfgs is not stochastic.")
    return True


def _entropy(p):
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


class NeuralClassifierBase(ClassifierMixin, BaseNeuralEstimator):
    """Binary, multiclass and multilabel classification with any sktune network."""

    _parameter_constraints: dict = {
        **BaseNeuralEstimator._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    @available_if(_has_stochastic_solver)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Train for exactly one epoch, keeping the weights and the optimizer state.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
            Labels, or a label indicator matrix for multilabel problems.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the training loss.
        classes : array-like of shape (n_classes,), default=None
            Every class that will ever appear; required on the first call unless ``y``
            is a multilabel indicator matrix.

        Returns
        -------
        self : object
            The estimator, trained for one more epoch.
        """
        if not hasattr(self, "net_") and classes is None and \
                not type_of_target(y).startswith("multilabel"):
            raise ValueError("classes must be passed on the first call to partial_fit.")
        return self._partial_fit(X, y, sample_weight, classes)

    def _prepare_targets(self, y, *, reset, classes=None, incremental=False):
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if reset:
            self._set_classes(y, classes)
        else:
            self._check_classes(y, classes, incremental)
        if self._target_kind_ == "multilabel":
            if y.ndim != 2 or y.shape[1] != len(self.classes_):
                raise ValueError(f"y has {y.shape[1] if y.ndim == 2 else 1} label columns but "
                                 f"the estimator was fitted with {len(self.classes_)}.")
            return np.asarray(y, dtype=self._dtype_), None
        y = column_or_1d(y)
        unseen = ~np.isin(y, self.classes_)
        if unseen.any():
            raise ValueError(f"y contains labels not in classes_ {self.classes_.tolist()}: "
                             f"{np.unique(y[unseen]).tolist()}.")
        idx = np.searchsorted(self.classes_, y)
        if self._target_kind_ in ("binary", "single"):
            return idx.astype(self._dtype_)[:, None], y
        return idx.astype(np.int64), y

    def _check_classes(self, y, classes, incremental):
        """scikit-learn's rules for the classes of a continuing fit."""
        if self._target_kind_ == "multilabel":
            return
        if incremental and classes is not None and \
                not np.array_equal(self.classes_, unique_labels(classes)):
            raise ValueError(f"`classes={classes!r}` is not the same as on last call to "
                             f"partial_fit, was: {self.classes_!r}")
        if not incremental and set(unique_labels(y)) != set(self.classes_):
            raise ValueError("warm_start can only be used where `y` has the same classes as "
                             f"in the previous call to fit. Previously got {self.classes_}, "
                             f"`y` has {unique_labels(y)}")

    def _set_classes(self, y, classes):
        target_type = type_of_target(y)
        if target_type == "multilabel-indicator":
            self._target_kind_ = "multilabel"
            self.classes_ = np.arange(y.shape[1])
            self.n_outputs_ = y.shape[1]
            self.out_activation_ = "logistic"
            return
        if target_type not in ("binary", "multiclass"):
            raise ValueError(f"{type(self).__name__} does not support {target_type!r} targets; "
                             "use a 1-D label vector or a multilabel indicator matrix.")
        self.classes_ = np.unique(y if classes is None else np.asarray(classes))
        # one class (a degenerate fold, say) trains as scikit-learn's MLP does: a binary
        # output that learns "not the other class"; predictions are that one class
        self._target_kind_ = {1: "single", 2: "binary"}.get(len(self.classes_), "multiclass")
        self.n_outputs_ = len(self.classes_) if self._target_kind_ == "multiclass" else 1
        self.out_activation_ = "softmax" if self._target_kind_ == "multiclass" else "logistic"

    def _class_sample_weight(self, y):
        if self.class_weight is None:
            return None
        if isinstance(self.class_weight, dict):
            bad = {k: w for k, w in self.class_weight.items()
                   if not (isinstance(w, Real) and np.isfinite(w) and w >= 0)}
            if bad:
                raise ValueError(f"class_weight must map classes to finite non-negative "
                                 f"numbers; got {bad}.")
        return compute_sample_weight(self.class_weight, y)

    def _criterion(self):
        return SampleLoss("log_loss" if self._target_kind_ == "multiclass"
                          else "binary_log_loss")

    def _loss_floor(self, y_enc):
        """Loss of predicting the class priors: the scale a diverging loss is judged by."""
        if self._target_kind_ == "multiclass":
            return _entropy(np.bincount(y_enc, minlength=len(self.classes_)) / len(y_enc))
        p = np.asarray(y_enc, dtype=np.float64).mean(axis=0)
        return float(sum(_entropy(np.array([q, 1 - q])) for q in p))

    def _score_fn(self):
        return partial(_accuracy, kind=self._target_kind_)

    def _outputs(self):
        return ClassifierOutputs(self._target_kind_, len(self.classes_))

    def _linear_head_fits(self):
        """Task hook: whether a linear model on embeddings can stand for the output layer
        (a fine-tuner's linear probe): not for a single class."""
        return self._target_kind_ != "single"

    def _transform_output(self, output):
        return self._outputs().proba(output)


    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data, processed in batches.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities (independent per label for multilabel problems).
        """
        return self._forward(X)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities, columns in the order of ``classes_`` (``-inf`` where a
            probability is 0).
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """Predicted labels, in the original label type.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Labels from ``classes_``, or an indicator matrix for multilabel problems.
        """
        proba = self.predict_proba(X)
        if self._target_kind_ == "multilabel":
            return (proba > 0.5).astype(int)
        return self.classes_[proba.argmax(axis=1)]


class NeuralRegressorBase(RegressorMixin, BaseNeuralEstimator):
    """Single- and multi-output regression with any sktune network."""

    _y_numeric = True
    _parameter_constraints: dict = {
        **BaseNeuralEstimator._parameter_constraints,
        "loss": [StrOptions({"squared_error", "absolute_error", "huber", "poisson"})],
        "huber_delta": [Interval(Real, 0, None, closed="neither")],
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    @available_if(_has_stochastic_solver)
    def partial_fit(self, X, y, sample_weight=None):
        """Train for exactly one epoch, keeping the weights and the optimizer state.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the training loss.

        Returns
        -------
        self : object
            The estimator, trained for one more epoch.
        """
        return self._partial_fit(X, y, sample_weight)

    def _prepare_targets(self, y, *, reset, classes=None, incremental=False):
        y = np.asarray(y, dtype=self._dtype_)
        y = y.reshape(-1, 1) if y.ndim == 1 else y
        if reset:
            self.n_outputs_ = y.shape[1]
            self.out_activation_ = "exp" if self.loss == "poisson" else "identity"
            self._target_moments_ = _target_moments(y) if self._scales_target() else None
        elif y.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {y.shape[1]} outputs but the estimator was fitted with "
                             f"{self.n_outputs_}.")
        if self.loss == "poisson" and (y < 0).any():
            raise ValueError("loss='poisson' requires non-negative y.")
        moments = getattr(self, "_target_moments_", None)
        if moments is not None:
            y = ((y - moments[0]) / moments[1]).astype(self._dtype_)
        return y, None

    def _scales_target(self):
        """Family hook: whether the network learns standardised targets (``predict``
        answers in the original units); decided at fit."""
        return False

    def _criterion(self):
        return SampleLoss(self.loss, huber_delta=self.huber_delta)

    def _loss_floor(self, y_enc):
        """Loss of predicting zero, where an untrained network starts: the scale a
        diverging loss is judged by."""
        y = np.asarray(y_enc, dtype=np.float64)
        if self.loss == "squared_error":
            return float(0.5 * np.square(y).mean())
        return float(np.abs(y).mean())

    def _score_fn(self):
        return partial(_r2, poisson=self.loss == "poisson")

    def _outputs(self):
        moments = getattr(self, "_target_moments_", None)
        return RegressorOutputs(self.loss == "poisson",
                                *(moments if moments is not None else ()))

    def _linear_head_fits(self):
        """Task hook: whether a linear model on embeddings can stand for the output layer:
        not under the Poisson loss's log link (ridge fits the identity)."""
        return self.loss != "poisson"

    def _transform_output(self, output):
        return self._outputs().proba(output)


    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data, processed in batches.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions; 1-D when the model has a single output.
        """
        out = self._forward(X)
        return out.ravel() if self.n_outputs_ == 1 else out
