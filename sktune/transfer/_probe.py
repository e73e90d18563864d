"""LP-FT's first stage: fit the new linear head on frozen embeddings, then fine-tune.

Kumar et al. (ICLR 2022, "Fine-Tuning can Distort Pretrained Features and Underperform
Out-of-Distribution") show that fine-tuning a pretrained network under a *random* head
sends large, uninformed gradients into the features it should keep; fitting the head
first (a linear probe) and fine-tuning from there keeps them. The probe is a convex
problem, so it is solved by scikit-learn rather than by epochs of SGD.
"""

import numpy as np
import torch
from skorch.callbacks import Callback
from torch import nn


class LinearProbe(Callback):
    """Before the first epoch of a new network, set its output layer to a linear probe.

    ``fit_head(Z, y, sample_weight) -> (coef, intercept)`` (numpy, shapes ``(k, d)`` and
    ``(k,)``, rows for output units) is given the embeddings of the training rows (the
    validation rows of ``early_stopping`` excluded) and the encoded targets. Later
    epochs, ``warm_start`` and ``partial_fit`` continuations never probe again.
    """

    def __init__(self, fit_head):
        self.fit_head = fit_head

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        if len(net.history) != 1 or dataset_train is None:
            return
        module = net.module_
        layer = module.head[-1]
        if not isinstance(layer, nn.Linear):
            return
        was_training = module.training
        module.eval()
        with torch.no_grad():
            Z = torch.cat(list(net.map_batches(
                dataset_train, lambda x: module.embed(*(x if isinstance(x, tuple) else (x,))))))
        module.train(was_training)
        y = dataset_train.y.cpu().numpy()
        weight = (None if dataset_train.sample_weight is None
                  else dataset_train.sample_weight.cpu().numpy())
        coef, intercept = _standardized(self.fit_head, Z.double().numpy(), y, weight)
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


def probe_classifier(Z, y, weight, kind, n_classes):
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


def probe_regressor(Z, y, weight):
    """Ridge-regression head (one row per output)."""
    from sklearn.linear_model import Ridge

    ridge = Ridge().fit(Z, y, sample_weight=weight)
    return np.atleast_2d(ridge.coef_), np.atleast_1d(ridge.intercept_)


class StartingPointPenalty(Callback):
    """L2-SP (Li et al., ICML 2018, "Explicit Inductive Bias for Transfer Learning with
    Convolutional Networks"): pull the backbone's weights towards their pretrained
    values instead of towards zero.

    Adds ``strength * (w - w0)`` to the gradient of every backbone weight matrix or
    kernel (the gradient of ``strength / 2 * ||w - w0||^2``), ``w0`` the weights the
    first training call started from; biases and normalisation layers are left free,
    as the paper does.
    """

    def __init__(self, strength, prefix="backbone."):
        self.strength = strength
        self.prefix = prefix

    def initialize(self):
        self.reference_ = None
        return self

    def on_train_begin(self, net, **kwargs):
        if self.reference_ is None:
            self.reference_ = {
                name: p.detach().clone() for name, p in net.module_.named_parameters()
                if name.startswith(self.prefix) and p.ndim > 1}

    def on_grad_computed(self, net, named_parameters, **kwargs):
        with torch.no_grad():
            for name, p in named_parameters:
                start = self.reference_.get(name)
                if start is not None and p.grad is not None:
                    p.grad.add_(p - start, alpha=self.strength)


class WeightInterpolation(Callback):
    """WiSE-FT (Wortsman et al., CVPR 2022, "Robust fine-tuning of zero-shot models"):
    end training at ``(1 - mix) * start + mix * fine_tuned``, weights and batch-norm
    statistics alike, ``start`` the network as the first epoch began (after the linear
    probe). Only a fresh fit interpolates; continuations keep their weights.
    """

    def __init__(self, mix):
        self.mix = mix

    def initialize(self):
        self.start_ = None
        return self

    def on_epoch_begin(self, net, **kwargs):
        if len(net.history) == 1:
            self.start_ = {k: v.detach().clone() for k, v in net.module_.state_dict().items()}

    def on_train_end(self, net, **kwargs):
        if self.start_ is None:
            return
        with torch.no_grad():
            for k, v in net.module_.state_dict().items():
                if v.is_floating_point():
                    v.copy_(torch.lerp(self.start_[k], v, self.mix))
        self.start_ = None

