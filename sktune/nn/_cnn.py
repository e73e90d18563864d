"""Convolutional networks for 1-D signals and 2-D images, and their data augmentation."""

import math

import torch
import torch.nn.functional as F
from torch import nn

from sktune.nn._fused_cnn import StackedCNN, cnn_signature
from sktune.nn._layers import make_activation

_CONV = {1: nn.Conv1d, 2: nn.Conv2d}
_NORM = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d}
_POOL = {("max", 1): nn.MaxPool1d, ("max", 2): nn.MaxPool2d,
         ("avg", 1): nn.AvgPool1d, ("avg", 2): nn.AvgPool2d}
_GLOBAL_POOL = {1: nn.AdaptiveAvgPool1d, 2: nn.AdaptiveAvgPool2d}


class Augment(nn.Module):
    """Random, label-preserving perturbations applied in training mode only.

    In ``eval()`` mode (prediction, validation) the input passes through unchanged.
    Flips, shifts and rotations are one affine resampling per batch; ``scale``
    multiplies each sample by a factor in ``[1 - scale, 1 + scale]``; ``noise`` adds
    Gaussian noise of that standard deviation.

    Parameters
    ----------
    dims : {1, 2}
        Spatial dimensions of the input ``(n, C, L)`` or ``(n, C, H, W)``.
    flip : bool, default=False
        Random horizontal flips (images only).
    shift : float, default=0.0
        Largest translation, in pixels or time steps.
    rotation : float, default=0.0
        Largest rotation in degrees (images only).
    scale : float, default=0.0
        Largest relative amplitude change.
    noise : float, default=0.0
        Standard deviation of additive Gaussian noise.
    """

    def __init__(self, dims, flip=False, shift=0.0, rotation=0.0, scale=0.0, noise=0.0):
        super().__init__()
        if dims == 1 and (flip or rotation):
            raise ValueError("flip and rotation augmentations apply to images, not 1-D signals.")
        self.dims, self.flip, self.shift, self.rotation = dims, flip, shift, rotation
        self.scale, self.noise = scale, noise

    @property
    def active(self):
        return bool(self.flip or self.shift or self.rotation or self.scale or self.noise)

    def forward(self, x):
        if not self.training or not self.active:
            return x
        if self.flip or self.shift or self.rotation:
            x = self._resample(x)
        if self.scale:
            shape = (len(x),) + (1,) * (x.ndim - 1)
            x = x * (1 + self.scale * (2 * torch.rand(shape, device=x.device) - 1))
        if self.noise:
            x = x + self.noise * torch.randn_like(x)
        return x

    def _resample(self, x):
        n = len(x)
        image = x if self.dims == 2 else x.unsqueeze(2)  # a signal is a 1-pixel-high image
        height, width = image.shape[-2:]
        angle = math.radians(self.rotation) * (2 * torch.rand(n, device=x.device) - 1)
        sign = torch.ones(n, device=x.device)
        if self.flip:
            sign = torch.where(torch.rand(n, device=x.device) < 0.5, -sign, sign)
        theta = torch.zeros(n, 2, 3, device=x.device, dtype=x.dtype)
        theta[:, 0, 0] = torch.cos(angle) * sign
        theta[:, 0, 1] = -torch.sin(angle)
        theta[:, 1, 0] = torch.sin(angle) * sign
        theta[:, 1, 1] = torch.cos(angle)
        shift = self.shift * (2 * torch.rand(n, 2, device=x.device) - 1)
        theta[:, 0, 2] = 2 * shift[:, 0] / width
        theta[:, 1, 2] = 2 * shift[:, 1] / height if self.dims == 2 else 0.0
        grid = F.affine_grid(theta, list(image.shape), align_corners=False)
        out = F.grid_sample(image, grid, align_corners=False, padding_mode="zeros")
        return out if self.dims == 2 else out.squeeze(2)


class ConvBlock(nn.Module):
    """Convolution, batch norm and activation; two of them around a skip if ``residual``."""

    def __init__(self, dims, in_channels, out_channels, kernel_size, batch_norm, activation,
                 residual):
        super().__init__()
        conv, norm = _CONV[dims], _NORM[dims]

        def unit(c_in):
            layers = [conv(c_in, out_channels, kernel_size, padding="same", bias=not batch_norm)]
            if batch_norm:
                layers.append(norm(out_channels))
            return layers

        self.residual = residual
        if residual:
            self.body = nn.Sequential(*unit(in_channels), make_activation(activation),
                                      *unit(out_channels))
            self.skip = (nn.Identity() if in_channels == out_channels
                         else conv(in_channels, out_channels, 1))
        else:
            self.body = nn.Sequential(*unit(in_channels))
        self.act = make_activation(activation)

    def forward(self, x):
        out = self.body(x)
        return self.act(out + self.skip(x) if self.residual else out)


class CNNModule(nn.Module):
    """Conv blocks (each followed by 2x pooling while the map is large enough), then a head.

    Parameters
    ----------
    input_shape : tuple
        Shape of one sample, channels first: ``(C, L)`` or ``(C, H, W)``.
    n_outputs : int
        Output units.
    channels : sequence of int, default=(32, 64)
        Output channels of each conv block.
    kernel_size : int, default=3
    pooling : {"max", "avg", None}, default="max"
    batch_norm : bool, default=True
    dropout : float, default=0.0
        Dropout after each block and between head layers.
    activation : str, default="relu"
    global_pool : bool, default=True
        Global average pooling before the head (else flatten).
    hidden_layer_sizes : sequence of int, default=()
        Dense layers of the head.
    residual : bool, default=False
        Residual blocks (two convolutions and a skip connection).
    augment : Augment, default=None
        Training-time augmentation applied to the input.
    vocab_size : int, default=None
        With it, the input is ``(n, T)`` token ids (0 = padding), embedded into
        ``input_shape[0]`` channels: a text CNN.

    Examples
    --------
    >>> import torch
    >>> from sktune.nn import CNNModule
    >>> CNNModule((1, 8, 8), 10)(torch.zeros(4, 1, 8, 8)).shape
    torch.Size([4, 10])
    """

    def __init__(self, input_shape, n_outputs, channels=(32, 64), kernel_size=3, pooling="max",
                 batch_norm=True, dropout=0.0, activation="relu", global_pool=True,
                 hidden_layer_sizes=(), residual=False, augment=None, vocab_size=None):
        super().__init__()
        dims = len(input_shape) - 1
        self.embedding = (nn.Embedding(vocab_size, input_shape[0], padding_idx=0)
                          if vocab_size is not None else None)
        if dims not in (1, 2):
            raise ValueError(f"input_shape {input_shape} is neither (C, L) nor (C, H, W).")
        self.augment = augment if augment is not None else nn.Identity()
        blocks, c_in, spatial = [], input_shape[0], list(input_shape[1:])
        for c_out in channels:
            blocks.append(ConvBlock(dims, c_in, c_out, kernel_size, batch_norm, activation,
                                    residual))
            if pooling and min(spatial) >= 2:
                blocks.append(_POOL[pooling, dims](2))
                spatial = [s // 2 for s in spatial]
            if dropout > 0:
                blocks.append(nn.Dropout(dropout))
            c_in = c_out
        self.features = nn.Sequential(*blocks)
        if global_pool:
            self.pool, width = nn.Sequential(_GLOBAL_POOL[dims](1), nn.Flatten()), c_in
        else:
            self.pool, width = nn.Flatten(), c_in * math.prod(spatial)
        head = []
        for size in hidden_layer_sizes:
            head += [nn.Linear(width, size), make_activation(activation)]
            if dropout > 0:
                head.append(nn.Dropout(dropout))
            width = size
        head.append(nn.Linear(width, n_outputs))
        self.head = nn.Sequential(*head)

    def stack_signature(self):
        """Layer kinds and shapes, dtype and device: what copies must share to be
        stacked (:class:`~sktune.nn.Stackable`); dropout rates may differ. None for text
        CNNs and with augmentation."""
        return cnn_signature(self)

    def stack(self, copies):
        """The copies as one :class:`~sktune.nn.StackedCNN` (grouped convolutions)."""
        return StackedCNN(copies)

    def forward(self, x):
        if self.embedding is not None:  # (n, T) ids -> (n, embedding_dim, T)
            x = self.embedding(x.long()).transpose(1, 2)
        return self.head(self.pool(self.features(self.augment(x))))
