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

from sktune.nn._fused import (
    StackedBatchNorm, StackedModule, activate, dense_plan, layer_signature, run_dense, tensor_signature,
    without_dropout,
)

_CONVS = {1: F.conv1d, 2: F.conv2d}
_POOLS = (nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d)


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
            if layer.groups != 1 or layer.padding_mode != "zeros":
                return None
            parts.append(("conv", type(layer).__name__, layer.in_channels,
                          layer.out_channels, layer.kernel_size, layer.stride,
                          layer.padding, layer.dilation, layer.bias is not None))
        elif isinstance(layer, _POOLS):
            parts.append(("pool", repr(layer)))
        elif isinstance(layer, (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.Flatten)):
            parts.append(("reshape", repr(layer)))
        else:
            try:
                parts.append(layer_signature(layer))
            except TypeError:
                return None
    blocks = tuple((b.residual, isinstance(getattr(b, "skip", None), nn.Identity))
                   if hasattr(b, "residual")
                   else None for b in module.features if not isinstance(b, nn.Dropout))
    return ("cnn", tuple(parts), blocks, tensor_signature(module))


class StackedCNN(StackedModule):
    """K copies of a :class:`~sktune.nn.CNNModule` as one network over
    ``(K, batch, C, ...)`` inputs (see the module docstring).

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
        split = [without_dropout(list(c.features)) for c in copies]
        self._features = []
        counter = [0]
        for i, layer in enumerate(split[0][0]):
            column = [layers[i] for layers, _ in split]
            if isinstance(layer, nn.Module) and hasattr(layer, "body"):
                self._features.append(("block", self._block(column, counter)))
            else:
                self._features.append(("pool", layer))
            rates = [r.get(i, 0.0) for _, r in split]
            if any(rates):
                self._features.append(("dropout", self._rates(rates, f"feature_dropout{i}")))
        self.global_pool = not isinstance(first.pool, nn.Flatten)
        self._head = dense_plan(self, [list(c.head) for c in copies], "head_")

    def _rates(self, rates, name):
        like = next(self.parameters())
        p = torch.tensor(rates, dtype=like.dtype, device=like.device)
        self.register_buffer(name, p)
        return p

    def _block(self, blocks, counter):
        """A ConvBlock's steps: its body, its skip connection, its activation."""
        body = []
        for j, layer in enumerate(blocks[0].body):
            column = [b.body[j] for b in blocks]
            body.append(self._conv_step(layer, column, counter))
        skip = None
        if blocks[0].residual and not isinstance(blocks[0].skip, nn.Identity):
            skip = self._conv_step(blocks[0].skip, [b.skip for b in blocks], counter)
        return body, skip, blocks[0].residual, blocks[0].act

    def _conv_step(self, layer, column, counter):
        n = counter[0]
        counter[0] += 1
        if isinstance(layer, nn.modules.conv._ConvNd):
            weight = self.share(f"conv{n}_weight", [m.weight for m in column])
            bias = (self.share(f"conv{n}_bias", [m.bias for m in column])
                    if layer.bias is not None else None)
            return ("conv", weight, bias, layer)
        if isinstance(layer, nn.modules.batchnorm._BatchNorm):
            return ("norm", StackedBatchNorm(self, f"norm{n}", column))
        return ("activation", layer)

    # ---- forward ------------------------------------------------------------------------
    def forward(self, x, mask=None):
        K, b = x.shape[:2]
        h = x.transpose(0, 1).reshape((b, K * x.shape[2]) + tuple(x.shape[3:]))
        rows = None if mask is None else mask.t()  # (b, K): real rows, batch first
        for kind, step in self._features:
            if kind == "block":
                h = self._run_block(h, step, rows, K)
            elif kind == "pool":
                h = step(h)
            else:
                h = _channel_dropout(h, step, K, self.training)
        h = h.mean(tuple(range(2, h.ndim))) if self.global_pool else h.reshape(b, -1)
        h = h.view(b, K, -1).transpose(0, 1)
        return run_dense(self._head, h, mask, self.training)

    def _run_block(self, h, block, rows, K):
        body, skip, residual, act = block
        out = h
        for step in body:
            out = self._run_conv_step(out, step, rows, K)
        if residual:
            out = out + (h if skip is None else self._run_conv_step(h, skip, rows, K))
        return activate(act, out)

    def _run_conv_step(self, h, step, rows, K):
        kind = step[0]
        if kind == "conv":
            _, weight, bias, layer = step
            w = weight.reshape((-1,) + tuple(weight.shape[2:]))
            return _CONVS[h.ndim - 2](h, w, None if bias is None else bias.reshape(-1),
                                      layer.stride, layer.padding, layer.dilation, K)
        if kind == "norm":
            return grouped_batch_norm(h, step[1], self.training, rows, K)
        return activate(step[1], h)


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
