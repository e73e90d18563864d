"""LP-FT's first stage: fit the new linear head on frozen embeddings, then fine-tune.

Kumar et al. (ICLR 2022, "Fine-Tuning can Distort Pretrained Features and Underperform
Out-of-Distribution") show that fine-tuning a pretrained network under a *random* head
sends large, uninformed gradients into the features it should keep; fitting the head
first (a linear probe) and fine-tuning from there keeps them. The probe is a convex
problem, so it is solved by scikit-learn rather than by epochs of SGD.
"""

from functools import partial

import numpy as np
import torch
from skorch.callbacks import Callback
from torch import nn

from sktune.nn import Embedder
from sktune.transfer._inputs import embed_rows


class LinearProbe(Callback):
    """Before the first epoch of a new network, set its output layer to a linear probe.

    The network is an :class:`~sktune.nn.Embedder` whose ``head[-1]`` is an ``nn.Linear``
    (others are left as they are). ``fit_head(Z, y, sample_weight) -> (coef,
    intercept)`` (numpy, shapes ``(k, d)`` and ``(k,)``, rows for output units) is given
    the embeddings of the training rows (the validation rows of ``early_stopping``
    excluded) and the encoded targets. Later epochs, ``warm_start`` and ``partial_fit``
    continuations never probe again.
    """

    def __init__(self, fit_head):
        self.fit_head = fit_head

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        if len(net.history) != 1 or dataset_train is None:
            return
        module = net.module_
        if not isinstance(module, Embedder) or not isinstance(module.head[-1], nn.Linear):
            return
        layer = module.head[-1]
        Z = embed_rows(partial(net.map_batches, dataset_train), module)
        y = dataset_train.y.cpu().numpy()
        weight = (None if dataset_train.sample_weight is None
                  else dataset_train.sample_weight.cpu().numpy())
        coef, intercept = _standardized(self.fit_head, Z, y, weight)
        with torch.no_grad():
            layer.weight.copy_(torch.as_tensor(coef, dtype=layer.weight.dtype))
            layer.bias.copy_(torch.as_tensor(intercept, dtype=layer.bias.dtype))


def _standardized(fit_head, Z, y, weight):
    """Fit the head on standardised embeddings (the probe's default regularisation
    assumes unit-scale features) and fold the scaling into its weights."""
    mean, scale = Z.mean(axis=0), Z.std(axis=0)
    scale = np.where(scale > 1e-12, scale, 1.0)
    coef, intercept = fit_head((Z - mean) / scale, y, weight)
    coef = coef / scale
    return coef, intercept - coef @ mean


def fit_logistic_head(Z, y, weight, kind, n_classes):
    """Logistic-regression head for encoded targets of ``kind`` (see NeuralClassifierBase):
    class indices (multiclass), a 0/1 column (binary) or an indicator matrix (multilabel).
    ``weight`` is the training rows' weight, ``class_weight`` already folded in."""
    from sklearn.linear_model import LogisticRegression

    def logistic(target):
        if len(np.unique(target)) < 2:
            return None
        return LogisticRegression(max_iter=1000).fit(Z, target, sample_weight=weight)

    d = Z.shape[1]
    if kind == "binary":
        lr = logistic(y.ravel().astype(int))
        return (np.zeros((1, d)), np.zeros(1)) if lr is None else (lr.coef_, lr.intercept_)
    if kind == "multilabel":
        coef, intercept = np.zeros((y.shape[1], d)), np.zeros(y.shape[1])
        for j in range(y.shape[1]):
            lr = logistic(y[:, j].astype(int))
            if lr is not None:
                coef[j], intercept[j] = lr.coef_[0], lr.intercept_[0]
        return coef, intercept
    coef, intercept = np.zeros((n_classes, d)), np.full(n_classes, -10.0)
    lr = logistic(y)
    if lr is None:
        return coef, intercept
    seen = lr.classes_.astype(int)
    if len(seen) == 2:  # scikit-learn returns one row for two classes: split it
        coef[seen] = np.stack([-lr.coef_[0] / 2, lr.coef_[0] / 2])
        intercept[seen] = [-lr.intercept_[0] / 2, lr.intercept_[0] / 2]
    else:
        coef[seen], intercept[seen] = lr.coef_, lr.intercept_
    return coef, intercept


def fit_ridge_head(Z, y, weight):
    """Ridge-regression head (one row per output)."""
    from sklearn.linear_model import Ridge

    ridge = Ridge().fit(Z, y, sample_weight=weight)
    return np.atleast_2d(ridge.coef_), np.atleast_1d(ridge.intercept_)
