"""Keeping a fine-tuned network near where fine-tuning started: L2-SP and WiSE-FT.

Both are skorch callbacks the fine-tuners add to the engine: L2-SP pulls the backbone's
weights towards their pretrained values during training, WiSE-FT interpolates the
fitted weights back towards the starting network at the end.
"""

import torch
from skorch.callbacks import Callback


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

