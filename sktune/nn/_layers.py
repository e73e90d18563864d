"""Small building blocks shared by every network family."""

import torch
import torch.nn.functional as F
from torch import nn

#: Activation names accepted by every sktune estimator, mapped to torch classes.
#: ``logistic`` and ``identity`` are scikit-learn's names for sigmoid and no-op.
ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "logistic": nn.Sigmoid,
    "identity": nn.Identity,
    "gelu": nn.GELU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "silu": nn.SiLU,
}


def make_activation(name):
    """Return a fresh activation module for ``name`` (a key of ``ACTIVATIONS``).

    Parameters
    ----------
    name : str
        An activation name, such as ``"relu"`` or scikit-learn's ``"logistic"``.

    Returns
    -------
    torch.nn.Module
        A new instance of ``ACTIVATIONS[name]``.

    Examples
    --------
    >>> from sktune.nn import make_activation
    >>> make_activation("logistic")
    Sigmoid()
    """
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(
            f"Unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}."
        ) from None


#: Multiply-accumulates of one matrix product below which it computes faster in float32
#: than in bfloat16 on the CPU, even under ``precision="bf16-mixed"``: the casts and
#: oneDNN's reorders cost more than AMX saves on small products. Measured on 2 threads
#: (AMX, ``python benchmarks/bench_precision.py --sections kernels``): a stacked
#: 24 x 128 x 40 -> 128 product (16M MACs) 2.2x faster in bfloat16, 24 x 128 x 64 -> 4
#: (0.8M) 1.5x slower forward and backward, 200 x 40 -> 256 (2M) 1.3x slower.
BF16_MIN_MACS = 4_000_000


def in_full_precision(x, macs):
    """Whether a matrix product of ``macs`` multiply-accumulates on ``x`` should run in
    float32 although autocast to bfloat16 is on (a product too small to gain)."""
    # autocast first: without it no shape is compared, so torch.export traces the
    # network with a symbolic batch size instead of guarding on it
    return cpu_bf16_autocast(x) and macs < BF16_MIN_MACS


def cpu_bf16_autocast(x):
    """Whether ``x`` is on the CPU under autocast to bfloat16."""
    return torch.is_autocast_enabled("cpu") and x.device.type == "cpu" and \
        torch.get_autocast_dtype("cpu") == torch.bfloat16


def batch_statistics(module):
    """Whether ``module`` normalises with batch statistics (has a batch-norm layer): its
    training batches then need at least two rows."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())


def make_head(width, hidden_layer_sizes, n_outputs, dropout=0.0, activation="relu"):
    """Dense head ``[Dropout] -> Linear -> activation`` per hidden size, then the output
    ``[Dropout] -> Linear``; the layer that fine-tuning replaces."""
    layers = []
    for size in hidden_layer_sizes:
        layers += [nn.Dropout(dropout)] if dropout > 0 else []
        layers += [nn.Linear(width, size), make_activation(activation)]
        width = size
    layers += [nn.Dropout(dropout)] if dropout > 0 else []
    layers.append(nn.Linear(width, n_outputs))
    return nn.Sequential(*layers)


#: Memory layout of image CNNs' inputs, feature maps and convolution weights. oneDNN's
#: CPU convolutions, batch norm and pooling run fastest channels-last: a training step
#: of the default CNN took 1.6x less time than in torch's default (contiguous) layout on
#: 8x8 images, 1.4x on 28x28, 1.3x on 32x32 RGB, 1.5x for 24 fused copies on 8x8 images
#: (``python benchmarks/bench_fused.py --sections layout``); torch recommends it for
#: CUDA convolutions too. A module reads it when built, :func:`image_layout` at each call.
IMAGE_LAYOUT = torch.channels_last


def image_layout(x):
    """A batch of images ``(n, C, H, W)`` in :data:`IMAGE_LAYOUT`; other tensors as they
    are."""
    if x.ndim == 4:
        return x.contiguous(memory_format=IMAGE_LAYOUT)
    return x


def length_mask(lengths, steps, device):
    """``(n, 1, steps)`` booleans: True at each zero-padded sequence's valid steps."""
    positions = torch.arange(steps, device=device)
    return (positions[None, :] < lengths.to(device)[:, None]).unsqueeze(1)


def shorter_lengths(lengths, stride):
    """Valid steps after reading ``stride`` steps at a time: ``ceil(lengths / stride)``."""
    return torch.div(lengths + stride - 1, stride, rounding_mode="floor")


def piecewise_mean(x, mask, size):
    """The mean of each window of ``size`` steps along the last axis (the piecewise
    aggregate approximation of a series; the last window may be shorter).

    Parameters
    ----------
    x : torch.Tensor of shape (n, C, T)
        Zero-padded signals.
    mask : torch.Tensor of shape (n, 1, T) or None
        Valid steps; with it, a window's mean is over its valid steps and the new mask
        marks windows holding at least one.
    size : int
        Steps per window.

    Returns
    -------
    x : torch.Tensor of shape (n, C, ceil(T / size))
    mask : torch.Tensor of shape (n, 1, ceil(T / size)) or None

    Examples
    --------
    >>> import torch
    >>> from sktune.nn._layers import piecewise_mean
    >>> piecewise_mean(torch.arange(5.0).view(1, 1, 5), None, 2)[0].tolist()
    [[[0.5, 2.5, 4.0]]]
    """
    steps = x.shape[-1]
    extra = (-steps) % size
    valid = x.new_ones((1, 1, steps)) if mask is None else mask.to(x.dtype)
    if mask is not None:
        x = x * valid
    if extra:  # zeros: the last window's sum is over its real steps only
        x, valid = F.pad(x, (0, extra)), F.pad(valid, (0, extra))
    windows = x.shape[-1] // size
    total = x.reshape(x.shape[0], x.shape[1], windows, size).sum(-1)
    count = valid.reshape(valid.shape[0], 1, windows, size).sum(-1)
    out = total / count.clamp_min(1.0)
    return out, (None if mask is None else count > 0)
