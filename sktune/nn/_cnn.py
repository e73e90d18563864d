"""Convolutional networks for 1-D signals and 2-D images, and their data augmentation."""

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn

from sktune.nn import _layers
from sktune.nn._layers import image_layout, length_mask, make_activation, piecewise_mean
from sktune.nn._stacked_cnn import StackedCNN, cnn_signature

_CONV = {1: nn.Conv1d, 2: nn.Conv2d}


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

    Examples
    --------
    >>> import torch
    >>> from sktune.nn import Augment
    >>> augment = Augment(2, flip=True, shift=1.0)
    >>> x = torch.rand(4, 1, 8, 8)
    >>> augment(x).shape
    torch.Size([4, 1, 8, 8])
    >>> torch.equal(augment.eval()(x), x), Augment(2).active
    (True, False)
    """

    def __init__(self, dims, flip=False, shift=0.0, rotation=0.0, scale=0.0, noise=0.0):
        super().__init__()
        if dims == 1 and (flip or rotation):
            raise ValueError("flip and rotation augmentations apply to images, not 1-D signals.")
        self.dims, self.flip, self.shift, self.rotation = dims, flip, shift, rotation
        self.scale, self.noise = scale, noise

    @property
    def active(self):
        """Whether any perturbation is enabled (else the input always passes through)."""
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


class MaskedBatchNorm1d(nn.BatchNorm1d):
    """Batch norm over ``(n, C, L)`` whose training statistics ignore padded steps.

    With ``mask=None`` it is :class:`torch.nn.BatchNorm1d`. With a boolean mask
    ``(n, 1, L)``, the batch mean and variance (and so the running statistics) are taken
    over the valid steps only; in evaluation mode the running statistics are used, so a
    sample's output never depends on the rest of its batch.
    """

    def forward(self, x, mask=None):
        if mask is None or not self.training:
            return super().forward(x)
        m = mask.to(x.dtype)
        count = m.sum().clamp_min(2.0)
        mean = (x * m).sum(dim=(0, 2)) / count
        var = (((x - mean[None, :, None]) * m) ** 2).sum(dim=(0, 2)) / count
        with torch.no_grad():
            self.num_batches_tracked += 1
            momentum = self.momentum if self.momentum is not None else \
                1.0 / float(self.num_batches_tracked)
            # in the running statistics' dtype: under bfloat16 autocast the batch's are
            running = self.running_mean.dtype
            self.running_mean.lerp_(mean.detach().to(running), momentum)
            self.running_var.lerp_((var.detach() * count / (count - 1)).to(running), momentum)
        out = (x - mean[None, :, None]) / torch.sqrt(var[None, :, None] + self.eps)
        return out * self.weight[None, :, None] + self.bias[None, :, None]


def _same_pad(dims, kernel_size):
    """Zero padding that keeps the length, for odd and even kernels alike.

    torch's ``padding="same"`` copies the input for even kernels (and warns); an
    explicit pad (one more step on the right for even kernels, as torch does) avoids it.
    """
    left, right = (kernel_size - 1) // 2, kernel_size // 2
    if left == right:
        return None, left
    pad = (left, right) if dims == 1 else (left, right, left, right)
    return pad, 0


class ConvBlock(nn.Module):
    """Convolution, batch norm and activation; two of them around a skip if ``residual``.

    ``forward(x, mask=None)``: with a mask ``(n, 1, L)`` (1-D signals of different
    lengths), padded steps are zeroed before every convolution and left out of the
    batch-norm statistics, so each sample is convolved exactly as if it were alone.

    Parameters
    ----------
    dims : {1, 2}
        Spatial dimensions of the input ``(n, C, L)`` or ``(n, C, H, W)``.
    in_channels : int
        Channels of the input.
    out_channels : int
        Channels of each convolution's output.
    kernel_size : int
        Kernel size; the padding keeps the length (or height and width).
    batch_norm : bool
        Batch norm after each convolution (which then has no bias).
    activation : str
        A key of :data:`ACTIVATIONS`.
    residual : bool
        Two convolutions around a skip connection (a 1x1 convolution when the channels
        differ).

    Examples
    --------
    >>> import torch
    >>> from sktune.nn import ConvBlock
    >>> block = ConvBlock(1, 2, 4, kernel_size=3, batch_norm=True, activation="relu",
    ...                   residual=True)
    >>> block(torch.randn(3, 2, 10)).shape
    torch.Size([3, 4, 10])
    """

    def __init__(self, dims, in_channels, out_channels, kernel_size, batch_norm, activation,
                 residual):
        super().__init__()
        conv = _CONV[dims]
        self.pad, padding = _same_pad(dims, kernel_size)

        def unit(c_in):
            layers = nn.ModuleList([conv(c_in, out_channels, kernel_size, padding=padding,
                                         bias=not batch_norm)])
            if batch_norm:
                layers.append(MaskedBatchNorm1d(out_channels) if dims == 1
                              else nn.BatchNorm2d(out_channels))
            return layers

        self.residual = residual
        self.first = unit(in_channels)
        self.second = unit(out_channels) if residual else None
        self.mid_act = make_activation(activation) if residual else None
        self.skip = (None if not residual or in_channels == out_channels
                     else conv(in_channels, out_channels, 1))
        self.act = make_activation(activation)

    def _unit(self, layers, x, mask):
        if mask is not None:
            x = x * mask
        if self.pad is not None:
            x = F.pad(x, self.pad)
        x = layers[0](x)
        if len(layers) > 1:
            x = layers[1](x, mask) if isinstance(layers[1], MaskedBatchNorm1d) else layers[1](x)
        return x

    def forward(self, x, mask=None):
        out = self._unit(self.first, x, mask)
        if self.residual:
            out = self._unit(self.second, self.mid_act(out), mask)
            out = out + (x if self.skip is None else self.skip(x))
        out = self.act(out)
        return out if mask is None else out * mask


def _pool(kind, x, mask):
    """2x max or average pooling along the last axis (or both image axes), mask-aware."""
    if x.ndim == 4:
        return (F.max_pool2d if kind == "max" else F.avg_pool2d)(x, 2), None
    if mask is None:
        return (F.max_pool1d if kind == "max" else F.avg_pool1d)(x, 2), None
    if kind == "max":
        out = F.max_pool1d(x.masked_fill(~mask, float("-inf")), 2, ceil_mode=True)
        new_mask = F.max_pool1d(mask.float(), 2, ceil_mode=True) > 0
        return out.masked_fill(~new_mask, 0.0), new_mask
    m = mask.to(x.dtype)
    total = F.avg_pool1d(x * m, 2, ceil_mode=True) * 2
    count = F.avg_pool1d(m, 2, ceil_mode=True) * 2
    new_mask = count > 0
    return total / count.clamp_min(1.0), new_mask


def _global_pool(x, mask):
    """Global average over positions; over the valid steps only when masked."""
    if mask is None:
        return x.flatten(2).mean(dim=2)
    m = mask.to(x.dtype)
    return (x * m).sum(dim=2) / m.sum(dim=2).clamp_min(1.0)


class CNNModule(nn.Module):
    """Conv blocks (each optionally followed by 2x pooling while the map is large enough),
    then a head.

    ``forward(x, lengths=None)``: ``lengths`` (1-D signals only) gives each sample's true
    length in a zero-padded batch; padded steps are masked out of every convolution,
    batch-norm statistic, pooling and the global average, so a prediction does not
    depend on how much padding its batch has.

    Parameters
    ----------
    input_shape : tuple
        Shape of one sample, channels first: ``(C, L)`` or ``(C, H, W)``.
    n_outputs : int
        Output units.
    channels : sequence of int, default=(32, 64)
        Output channels of each conv block.
    kernel_size : int or sequence of int, default=3
        One kernel size for every block, or one per block.
    pooling : {"max", "avg", None}, default="max"
        2x pooling after each block while the map is large enough; None for none.
    batch_norm : bool, default=True
        Batch norm after each convolution.
    dropout : float, default=0.0
        Dropout after each block and between head layers.
    activation : str, default="relu"
        Activation of the blocks and head, a key of :data:`ACTIVATIONS`.
    global_pool : bool, default=True
        Global average pooling before the head (else flatten).
    hidden_layer_sizes : sequence of int, default=()
        Dense layers of the head.
    residual : bool, default=False
        Residual blocks (two convolutions and a skip connection).
    input_stride : int, default=1
        1-D signals: the blocks read the mean of each window of this many input steps
        (:func:`piecewise_mean`), a series ``input_stride`` times shorter.
    augment : Augment, default=None
        Training-time augmentation applied to the input.
    vocab_size : int, default=None
        With it, the input is ``(n, T)`` token rows (0 = padding), embedded into
        ``input_shape[0]`` channels: a text CNN.

    Examples
    --------
    >>> import torch
    >>> from sktune.nn import CNNModule
    >>> CNNModule((1, 8, 8), 10)(torch.zeros(4, 1, 8, 8)).shape
    torch.Size([4, 10])
    >>> net = CNNModule((2, 50), 3, channels=(8, 16), kernel_size=(8, 5), pooling=None)
    >>> net(torch.zeros(4, 2, 50), torch.tensor([50, 20, 7, 1])).shape
    torch.Size([4, 3])
    """

    #: networks pickled before ``input_stride`` existed read every step
    input_stride = 1

    def __init__(self, input_shape, n_outputs, channels=(32, 64), kernel_size=3, pooling="max",
                 batch_norm=True, dropout=0.0, activation="relu", global_pool=True,
                 hidden_layer_sizes=(), residual=False, input_stride=1, augment=None,
                 vocab_size=None):
        super().__init__()
        dims = len(input_shape) - 1
        if dims not in (1, 2):
            raise ValueError(f"input_shape {input_shape} is neither (C, L) nor (C, H, W).")
        if input_stride != 1 and dims != 1:
            raise ValueError(f"input_stride={input_stride} shortens 1-D signals; "
                             f"input_shape {input_shape} is an image.")
        self.input_stride = int(input_stride)
        kernels = ([int(kernel_size)] * len(channels) if isinstance(kernel_size, int)
                   else [int(k) for k in kernel_size])
        if len(kernels) != len(channels):
            raise ValueError(f"kernel_size {tuple(kernels)} gives {len(kernels)} kernels for "
                             f"{len(channels)} conv blocks.")
        self.embedding = (nn.Embedding(vocab_size, input_shape[0], padding_idx=0)
                          if vocab_size is not None else None)
        self.augment = augment if augment is not None else nn.Identity()
        self.blocks = nn.ModuleList()
        self.pools = []
        c_in, spatial = input_shape[0], list(input_shape[1:])
        if self.input_stride > 1 and spatial[0] is not None:
            spatial = [-(-spatial[0] // self.input_stride)]
        for c_out, k in zip(channels, kernels):
            self.blocks.append(ConvBlock(dims, c_in, c_out, k, batch_norm, activation,
                                         residual))
            pool = bool(pooling) and min(spatial) >= 2
            self.pools.append(pooling if pool else None)
            spatial = [s // 2 for s in spatial] if pool else spatial
            c_in = c_out
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.global_pool = global_pool
        width = c_in if global_pool else c_in * math.prod(spatial)
        self.block_widths = list(channels)
        head = []
        for size in hidden_layer_sizes:
            head += [nn.Linear(width, size), make_activation(activation)]
            if dropout > 0:
                head.append(nn.Dropout(dropout))
            width = size
        head.append(nn.Linear(width, n_outputs))
        self.head = nn.Sequential(*head)
        if dims == 2:
            self.to(memory_format=_layers.IMAGE_LAYOUT)

    def feature_maps(self, x, lengths=None):
        """Yield ``(feature_map, mask)`` after each conv block (mask None unless masked).

        Parameters
        ----------
        x : torch.Tensor
            A batch of inputs, as ``forward`` takes it.
        lengths : torch.Tensor of shape (n,), default=None
            True lengths of zero-padded 1-D signals.

        Yields
        ------
        feature_map : torch.Tensor
            The block's output, after its pooling and dropout.
        mask : torch.Tensor or None
            ``(n, 1, L)``, 1 at valid steps; None without ``lengths``.
        """
        yield from _feature_maps(self, x, lengths)

    def embed(self, x, lengths=None):
        """The representation the head reads (:class:`~sktune.nn.Embedder`): the pooled
        (or flattened) last feature map.

        Parameters
        ----------
        x : torch.Tensor
            A batch of inputs, as ``forward`` takes it.
        lengths : torch.Tensor of shape (n,), default=None
            True lengths of zero-padded 1-D signals.

        Returns
        -------
        torch.Tensor of shape (n, d)
            One embedding per sample.
        """
        *_, (out, mask) = self.feature_maps(x, lengths)  # the last block's
        return _global_pool(out, mask) if self.global_pool else out.flatten(1)

    def forward(self, x, lengths=None):
        return self.head(self.embed(x, lengths))

    def stack_signature(self):
        """Layer kinds and shapes, dtype and device: what copies must share to be
        stacked (:class:`~sktune.nn.Stackable`); dropout rates may differ. None for text
        CNNs and with augmentation.

        Returns
        -------
        tuple or None
            The signature, or None when this network cannot be stacked.
        """
        return cnn_signature(self)

    def stack(self, copies):
        """The copies as one :class:`~sktune.nn.StackedCNN` (grouped convolutions).

        Parameters
        ----------
        copies : sequence of CNNModule
            Networks with equal ``stack_signature()``, this one among them.

        Returns
        -------
        StackedCNN
            Their tensors stacked along a leading copy axis.
        """
        return StackedCNN(copies)

    def without_head(self):
        """The network up to its head, for transfer: the features of *every* conv block,
        average-pooled and concatenated. Early blocks keep generic, low-level features
        that the last block, shaped by the source classes, may have discarded. Image maps
        are pooled to a 2x2 grid (where a stroke is matters for a new class as much as
        what it is); signals and token sequences are pooled globally, as their network
        reads them.

        Returns
        -------
        torch.nn.Module
            A new module (this network is left intact) taking ``forward``'s inputs and
            returning ``(n, d)`` embeddings.
        """
        return _MultiScale(copy.deepcopy(self))


def _feature_maps(net, x, lengths):
    if net.embedding is not None:  # (n, T) rows -> (n, embedding_dim, T)
        x = net.embedding(x.long()).transpose(1, 2)
    x = image_layout(net.augment(x))
    mask = None
    if lengths is not None:
        mask = length_mask(lengths, x.shape[-1], x.device)
    if net.input_stride > 1:
        x, mask = piecewise_mean(x, mask, net.input_stride)
    for block, pool in zip(net.blocks, net.pools):
        x = block(x, mask)
        if pool is not None:
            x, mask = _pool(pool, x, mask)
        x = net.dropout(x)
        yield x, mask


class _MultiScale(nn.Module):
    """A :class:`CNNModule` without its head: concatenated pooled block features."""

    def __init__(self, cnn):
        super().__init__()
        self.embedding, self.augment = cnn.embedding, cnn.augment
        self.input_stride = cnn.input_stride
        self.blocks, self.pools, self.dropout = cnn.blocks, cnn.pools, cnn.dropout

    def forward(self, x, lengths=None):
        return torch.cat([_global_pool(out, mask) if out.ndim == 3
                          else F.adaptive_avg_pool2d(out, 2).flatten(1)
                          for out, mask in _feature_maps(self, x, lengths)], dim=1)
