"""Classification and regression on top of :class:`~sktune._base.BaseNeuralEstimator`.

Each task decides how targets are encoded, which loss trains the network, how the
validation score is computed (accuracy or R², as scikit-learn's ``score``) and how raw
outputs become predictions. Every model family reuses these two bases.
"""

from functools import partial
from numbers import Real

import numpy as np
import torch
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import column_or_1d
from torch import nn

from sktune._base import BaseNeuralEstimator


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
    return float(_weighted_mean(correct.float(), weight))


def _r2(output, y, weight, poisson):
    """Validation R² averaged over outputs, as ``RegressorMixin.score``."""
    pred = output.exp() if poisson else output
    w = torch.ones(len(y), 1, device=y.device) if weight is None else weight[:, None]
    mean = (w * y).sum(0) / w.sum()
    ss_res = (w * (y - pred) ** 2).sum(0)
    ss_tot = (w * (y - mean) ** 2).sum(0)
    r2 = torch.where(ss_tot > 0, 1 - ss_res / ss_tot.clamp_min(1e-30),
                     (ss_res == 0).float())
    return float(r2.mean())


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

    def _prepare_targets(self, y, *, reset, classes=None):
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if reset:
            self._set_classes(y, classes)
        if self._target_kind_ == "multilabel":
            if y.ndim != 2 or y.shape[1] != len(self.classes_):
                raise ValueError(f"y has {y.shape[1] if y.ndim == 2 else 1} label columns but "
                                 f"the estimator was fitted with {len(self.classes_)}.")
            return np.asarray(y, dtype=np.float32), None
        y = column_or_1d(y)
        unseen = ~np.isin(y, self.classes_)
        if unseen.any():
            raise ValueError(f"y contains labels not in classes_ {self.classes_.tolist()}: "
                             f"{np.unique(y[unseen]).tolist()}.")
        idx = np.searchsorted(self.classes_, y)
        if self._target_kind_ == "binary":
            return idx.astype(np.float32)[:, None], idx
        return idx.astype(np.int64), idx

    def _set_classes(self, y, classes):
        target_type = type_of_target(y)
        if target_type == "multilabel-indicator":
            self._target_kind_ = "multilabel"
            self.classes_ = np.arange(y.shape[1])
            self.n_outputs_ = y.shape[1]
            return
        if target_type not in ("binary", "multiclass"):
            raise ValueError(f"{type(self).__name__} does not support {target_type!r} targets; "
                             "use a 1-D label vector or a multilabel indicator matrix.")
        self.classes_ = np.unique(y if classes is None else np.asarray(classes))
        if len(self.classes_) < 2:
            raise ValueError(f"Classifier can't train when only one class is present: "
                             f"{self.classes_.tolist()}.")
        self._target_kind_ = "binary" if len(self.classes_) == 2 else "multiclass"
        self.n_outputs_ = 1 if self._target_kind_ == "binary" else len(self.classes_)

    def _class_sample_weight(self, y):
        if self.class_weight is None:
            return None
        return compute_sample_weight(self.class_weight, y)

    def _criterion(self):
        if self._target_kind_ == "multiclass":
            return nn.CrossEntropyLoss()
        return nn.BCEWithLogitsLoss()

    def _score_fn(self):
        return partial(_accuracy, kind=self._target_kind_)

    def _transform_output(self, output):
        if self._target_kind_ == "multiclass":
            return torch.softmax(output, dim=1)
        proba = torch.sigmoid(output)
        if self._target_kind_ == "binary":
            return torch.cat([1 - proba, proba], dim=1)
        return proba

    @property
    def out_activation_(self):
        """Output activation, named as in scikit-learn: ``'softmax'`` or ``'logistic'``."""
        return "softmax" if self._target_kind_ == "multiclass" else "logistic"

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
        """Logarithm of :meth:`predict_proba`."""
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

    def _prepare_targets(self, y, *, reset, classes=None):
        y = np.asarray(y, dtype=np.float32)
        y = y.reshape(-1, 1) if y.ndim == 1 else y
        if reset:
            self.n_outputs_ = y.shape[1]
        elif y.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {y.shape[1]} outputs but the estimator was fitted with "
                             f"{self.n_outputs_}.")
        if self.loss == "poisson" and (y < 0).any():
            raise ValueError("loss='poisson' requires non-negative y.")
        return y, None

    def _criterion(self):
        if self.loss == "absolute_error":
            return nn.L1Loss()
        if self.loss == "huber":
            return nn.HuberLoss(delta=self.huber_delta)
        if self.loss == "poisson":
            return nn.PoissonNLLLoss(log_input=True, full=False)
        return nn.MSELoss()

    def _score_fn(self):
        return partial(_r2, poisson=self.loss == "poisson")

    def _transform_output(self, output):
        return output.exp() if self.loss == "poisson" else output

    @property
    def out_activation_(self):
        """Output activation, named as in scikit-learn: ``'identity'`` or ``'exp'``."""
        return "exp" if self.loss == "poisson" else "identity"

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
