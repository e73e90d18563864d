"""K copies of a :class:`~sktune.nn.CNNModule` as one network: grouped convolutions.

The copies' feature maps travel side by side as the channels of one batch,
``(batch, K * C, H, W)`` (or ``(batch, K * C, L)``): a convolution is one grouped
convolution with ``groups=K`` whose weights are the copies' weights stacked, batch norm
runs over the ``K * C`` channels (each copy's channels keep their own statistics), and
pooling, activations and dropout act per channel anyway. After the global pooling (or
flattening) the features become ``(K, batch, F)`` and the dense head runs as in
:class:`~sktune.nn.StackedMLP`.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from sktune.nn._layers import image_layout, piecewise_mean
from sktune.nn._stacked import (
    StackedBatchNorm,
    StackedModule,
    activate,
    dense_plan,
    layer_signature,
    run_dense,
    tensor_signature,
)

_CONVS = {1: F.conv1d, 2: F.conv2d}


def cnn_signature(module):
    """What copies of a CNNModule must share to be stacked, or None (text CNNs and
    augmentation are not stacked)."""
    if module.embedding is not None or not isinstance(module.augment, nn.Identity):
        return None
    parts = []
    for layer in module.modules():
        if list(layer.children()) or isinstance(layer, (nn.Dropout, nn.Identity)):
            continue
        if isinstance(layer, nn.modules.conv._ConvNd):
            if layer.groups != 1 or layer.padding_mode != "zeros" or \
                    isinstance(layer.padding, str):
                return None
            parts.append(("conv", type(layer).__name__, layer.in_channels,
                          layer.out_channels, layer.kernel_size, layer.stride,
                          layer.padding, layer.dilation, layer.bias is not None))
        else:
            try:
                parts.append(layer_signature(layer))
            except TypeError:
                return None
    blocks = tuple((b.residual, b.skip is None, b.pad, len(b.first)) for b in module.blocks)
    return ("cnn", tuple(parts), blocks, tuple(module.pools), bool(module.global_pool),
            module.input_stride, tensor_signature(module))


class StackedCNN(StackedModule):
    """K copies of a :class:`~sktune.nn.CNNModule` as one network over
    ``(K, batch, C, ...)`` inputs (see the module docstring).

    Parameters
    ----------
    copies : sequence of CNNModule
        Modules with equal ``stack_signature()``; usually built by ``copies[0].stack``.

    Examples
    --------
    >>> import torch
    >>> from sktune.nn import CNNModule
    >>> copies = [CNNModule((1, 8, 8), 3, channels=(4, 8), hidden_layer_sizes=(6,),
    ...                     dropout=p) for p in (0.0, 0.3)]
    >>> stacked = copies[0].stack(copies)
    >>> x = torch.randn(2, 5, 1, 8, 8)               # copy k's batch is x[k]
    >>> out = stacked.eval()(x)
    >>> out.shape
    torch.Size([2, 5, 3])
    >>> torch.allclose(out[1], copies[1].eval()(x[1]), atol=1e-6)
    True
    >>> stacked.release()
    """

    def __init__(self, copies):
        super().__init__(copies)
        first = copies[0]
        counter = [0]
        self._blocks = [self._block([c.blocks[i] for c in copies], counter)
                        for i in range(len(first.blocks))]
        self._pools = list(first.pools)
        self.input_stride = first.input_stride
        rates = [float(c.dropout.p) if isinstance(c.dropout, nn.Dropout) else 0.0
                 for c in copies]
        self._dropout = None
        if any(rates):
            like = next(self.parameters())
            self.register_buffer("feature_dropout",
                                 torch.tensor(rates, dtype=like.dtype, device=like.device))
            self._dropout = self.feature_dropout
        self.global_pool = bool(first.global_pool)
        self._head = dense_plan(self, [list(c.head) for c in copies], "head_")

    def _block(self, blocks, counter):
        """A ConvBlock's steps: its units, its skip connection, its activations."""
        b = blocks[0]
        units = [self._unit([blk.first for blk in blocks], counter)]
        if b.residual:
            units.append(self._unit([blk.second for blk in blocks], counter))
        skip = None
        if b.skip is not None:
            skip = self._conv([blk.skip for blk in blocks], counter)
        return units, skip, b.residual, b.mid_act, b.act, b.pad

    def _unit(self, units, counter):
        conv = self._conv([u[0] for u in units], counter)
        norm = None
        if len(units[0]) > 1:
            norm = StackedBatchNorm(self, f"norm{counter[0] - 1}", [u[1] for u in units])
        return conv, norm

    def _conv(self, column, counter):
        n = counter[0]
        counter[0] += 1
        weight = self.share(f"conv{n}_weight", [m.weight for m in column])
        bias = (self.share(f"conv{n}_bias", [m.bias for m in column])
                if column[0].bias is not None else None)
        return weight, bias, column[0]

    # ---- forward ------------------------------------------------------------------------
    def forward(self, x, mask=None):
        K, b = x.shape[:2]
        h = image_layout(x.transpose(0, 1).reshape((b, K * x.shape[2]) + tuple(x.shape[3:])))
        rows = None if mask is None else mask.t()  # (b, K): real rows, batch first
        if self.input_stride > 1:  # a mean per window of each channel: copies stay apart
            h = piecewise_mean(h, None, self.input_stride)[0]
        for block, pool in zip(self._blocks, self._pools):
            h = self._run_block(h, block, rows, K)
            if pool is not None:
                h = (F.max_pool1d if pool == "max" else F.avg_pool1d)(h, 2) if h.ndim == 3 \
                    else (F.max_pool2d if pool == "max" else F.avg_pool2d)(h, 2)
            if self._dropout is not None:
                h = _channel_dropout(h, self._dropout, K, self.training)
        h = h.mean(tuple(range(2, h.ndim))) if self.global_pool else h.reshape(b, K, -1)
        h = h.view(b, K, -1).transpose(0, 1)
        return run_dense(self._head, h, mask, self.training)

    def _run_block(self, h, block, rows, K):
        units, skip, residual, mid_act, act, pad = block
        out = self._run_unit(h, units[0], pad, rows, K)
        if residual:
            out = self._run_unit(activate(mid_act, out), units[1], pad, rows, K)
            out = out + (h if skip is None else _grouped_conv(h, skip, K))
        return activate(act, out)

    def _run_unit(self, h, unit, pad, rows, K):
        conv, norm = unit
        if pad is not None:
            h = F.pad(h, pad)
        h = _grouped_conv(h, conv, K)
        return h if norm is None else grouped_batch_norm(h, norm, self.training, rows, K)


def _grouped_conv(h, conv, K):
    weight, bias, layer = conv
    w = image_layout(weight.reshape((-1,) + tuple(weight.shape[2:])))
    return _CONVS[h.ndim - 2](h, w, None if bias is None else bias.reshape(-1),
                              layer.stride, layer.padding, layer.dilation, K)


def _channel_dropout(h, rates, K, training):
    """Dropout with copy ``k``'s rate on its channels of ``(b, K * C, ...)``."""
    if not training:
        return h
    p = rates.repeat_interleave(h.shape[1] // K).view((1, -1) + (1,) * (h.ndim - 2))
    return h * (torch.rand_like(h) >= p) / (1 - p)


def grouped_batch_norm(h, bn, training, rows, K):
    """Batch norm of ``(b, K * C, ...)`` with copy ``k``'s statistics on its channels;
    ``rows`` ``(b, K)`` marks each copy's real rows (None: all real)."""
    flat = lambda t: t.reshape(-1)  # noqa: E731
    if not training or rows is None:
        out = F.batch_norm(h, flat(bn.running_mean), flat(bn.running_var), flat(bn.weight),
                           flat(bn.bias), training, bn.momentum, bn.eps)
        if training:
            bn.num_batches_tracked.add_(1)
        return out
    b = h.shape[0]
    x = h.reshape(b, K, -1, math.prod(h.shape[2:]))                  # (b, K, C, S)
    weights = rows.to(h.dtype).view(b, K, 1, 1)
    count = weights.sum(0).squeeze(-1) * x.shape[3]                   # (K, 1)
    mean = (x * weights).sum((0, 3)) / count.clamp_min(1)             # (K, C)
    centered = x - mean.view(1, K, -1, 1)
    var = (centered.square() * weights).sum((0, 3)) / count.clamp_min(1)
    scale = torch.rsqrt(var + bn.eps) * bn.weight
    out = centered * scale.view(1, K, -1, 1) + bn.bias.view(1, K, -1, 1)
    bn.update_running(mean.detach(), var.detach(), count.squeeze(1), True)
    return out.reshape(h.shape)
