"""Stacked ("horizontally fused") networks: K structurally identical copies run as one.

A :class:`StackedModule` holds the parameters and buffers of K copies of a network
stacked along a new leading axis, and runs every layer once for all copies: linear
layers as one batched matmul (``baddbmm``) over ``(K, batch, features)``, convolutions
as one grouped convolution over ``(batch, K * channels, ...)``, batch norm with
per-copy statistics, dropout with a per-copy rate. Each copy's own tensors become views
of the stacked ones while the stacked module exists, so a copy's module always holds
its current weights (its callbacks can snapshot and restore them) and
:meth:`StackedModule.release` hands each copy its own storage back.

Families opt in through :class:`~sktune.nn.Stackable` (``stack_signature``/``stack``);
this module holds the shared building blocks and the MLP's stacked network. Training a
stacked network — per-copy data order, optimizer state, schedules and stopping — is
:mod:`sktune.model_selection`'s fused search.
"""

import torch
from torch import nn

from sktune.nn._layers import ACTIVATIONS, in_full_precision

_ACTIVATION_TYPES = tuple(ACTIVATIONS.values())


class StackedModule(nn.Module):
    """Base of stacked networks: K copies' tensors stacked along a leading axis.

    Subclasses call :meth:`share` for every parameter and buffer of the copies, then
    implement ``forward(x, mask=None)`` (see :class:`~sktune.nn.Stackable`).

    Parameters
    ----------
    copies : sequence of nn.Module
        The modules to stack; their tensors become views of the stacked ones.

    Examples
    --------
    >>> from torch import nn
    >>> from sktune.nn import StackedModule
    >>> copies = [nn.Linear(3, 2) for _ in range(4)]
    >>> stacked = StackedModule(copies)
    >>> stacked.share("weight", [c.weight for c in copies]).shape
    torch.Size([4, 2, 3])
    >>> stacked.members("weight")[1] is copies[1].weight
    True
    >>> stacked.release()
    """

    #: whether a training batch of one row is an error (batch norm over rows alone, which
    #: ``nn.BatchNorm1d`` refuses): such a copy then fails, as its unstacked fit does
    needs_two_rows = False

    def __init__(self, copies):
        super().__init__()
        self.n_copies = len(copies)
        self._members = {}
        self._formats = {}

    def share(self, name, tensors, *, buffer=False):
        """Register ``torch.stack(tensors)`` as parameter (or buffer) ``name`` and make
        each of ``tensors`` a view of its slice.

        Parameters
        ----------
        name : str
            Name of the stacked parameter or buffer.
        tensors : sequence of torch.Tensor
            One tensor per copy, in copy order, all of one shape.
        buffer : bool, default=False
            Register a buffer instead of a parameter.

        Returns
        -------
        torch.Tensor of shape (K, ...)
            The stacked parameter or buffer.
        """
        stacked = torch.stack([t.detach() for t in tensors]).contiguous()  # (channels-last
        # weights would stack into a strided tensor; the optimizer's kernels want rows)
        self._formats[name] = [_memory_format(t) for t in tensors]
        for k, tensor in enumerate(tensors):
            tensor.data = stacked[k]
        if buffer:
            self.register_buffer(name, stacked)
        else:
            self.register_parameter(name, nn.Parameter(stacked))
        self._members[name] = list(tensors)
        return getattr(self, name)

    def members(self, name):
        """The copies' own tensors behind stacked tensor ``name``, in copy order.

        Parameters
        ----------
        name : str
            A name given to :meth:`share`.

        Returns
        -------
        list of torch.Tensor
            The copies' tensors.
        """
        return self._members[name]

    def release(self, copies=None):
        """Give copies their own storage again (their current values): all of them, or
        those at the positions in ``copies``. Released copies no longer follow the
        stacked tensors; after releasing all, the stacked module must not be used.

        Parameters
        ----------
        copies : sequence of int, default=None
            Positions of the copies to release; None releases every copy.
        """
        for name, tensors in self._members.items():
            for k in range(len(tensors)) if copies is None else copies:
                tensors[k].data = tensors[k].data.clone(
                    memory_format=self._formats[name][k])
        if copies is None:
            self._members = {}


def _memory_format(tensor):
    """The layout a released copy gets back: channels-last where it had it."""
    if tensor.ndim == 4 and not tensor.is_contiguous() and \
            tensor.is_contiguous(memory_format=torch.channels_last):
        return torch.channels_last
    return torch.contiguous_format


def layer_signature(layer):
    """What must match between copies for ``layer`` to be stacked; None for a dropout
    layer (its rate may differ per copy). Raises ``TypeError`` for an unsupported layer."""
    if isinstance(layer, nn.Linear):
        return ("linear", layer.in_features, layer.out_features, layer.bias is not None)
    if isinstance(layer, nn.modules.batchnorm._BatchNorm):
        if not (layer.affine and layer.track_running_stats) or layer.momentum is None:
            raise TypeError("batch norm without affine parameters, running statistics or "
                            "a momentum")
        return (type(layer).__name__, layer.num_features, layer.eps, layer.momentum)
    if isinstance(layer, nn.Dropout):
        return None
    if isinstance(layer, _ACTIVATION_TYPES):
        return ("activation", repr(layer))
    raise TypeError(f"{type(layer).__name__} layers cannot be stacked")


def tensor_signature(module):
    """dtype and device of a module's parameters (stacked copies must agree)."""
    p = next(module.parameters())
    return (str(p.dtype), str(p.device))


def without_dropout(layers):
    """``(layers without the dropout ones, {position: rate})``: the rate of the dropout
    that follows the layer at that position of the shortened list."""
    kept, rates = [], {}
    for layer in layers:
        if isinstance(layer, nn.Dropout):
            rates[len(kept) - 1] = float(layer.p)
        else:
            kept.append(layer)
    return kept, rates


# ---- stacked operations -------------------------------------------------------------------
def stacked_linear(x, weight, bias):
    """``x (K, b, in) -> (K, b, out)`` with weights ``(K, out, in)`` and biases ``(K, out)``.
    Under bfloat16 autocast a product too small to gain runs in float32
    (:func:`~sktune.nn._layers.in_full_precision`)."""
    if in_full_precision(x, x.shape[0] * x.shape[1] * weight.shape[1] * weight.shape[2]):
        with torch.autocast("cpu", enabled=False):
            return stacked_linear(x.float(), weight, bias)
    if bias is None:
        return torch.bmm(x, weight.transpose(1, 2))
    return torch.baddbmm(bias.unsqueeze(1), x, weight.transpose(1, 2))


def activate(activation, x):
    """``activation(x)``; a ReLU runs in place (``x`` is always a fresh intermediate)."""
    return torch.relu_(x) if type(activation) is nn.ReLU else activation(x)


def stacked_dropout(x, p, training):
    """Dropout with copy ``k``'s rate ``p[k]`` on ``x[k]``; ``p`` None means no dropout."""
    if not training or p is None:
        return x
    shape = (-1,) + (1,) * (x.ndim - 1)
    keep = torch.rand_like(x) >= p.view(shape)
    return x * keep / (1 - p).view(shape)


def stacked_batch_norm(x, bn, training, mask=None):
    """Batch norm of ``x (K, b, C)`` over the rows of each copy, with copy ``k``'s
    parameters and running statistics (``bn``: a :class:`StackedBatchNorm`). ``mask``
    ``(K, b)`` marks the real rows: padding is left out of the statistics, and a copy
    without rows keeps its running statistics."""
    if not training:
        scale = torch.rsqrt(bn.running_var + bn.eps) * bn.weight
        return torch.addcmul((bn.bias - bn.running_mean * scale).unsqueeze(1), x,
                             scale.unsqueeze(1))
    if mask is None:
        count = x.new_full((x.shape[0], 1), x.shape[1])
        mean = x.mean(1)
        centered = x - mean.unsqueeze(1)
        var = centered.square().mean(1)
    else:
        weights = mask.unsqueeze(-1).to(x.dtype)
        count = weights.sum(1)
        mean = (x * weights).sum(1) / count.clamp_min(1)
        centered = x - mean.unsqueeze(1)
        var = (centered.square() * weights).sum(1) / count.clamp_min(1)
    out = centered * (torch.rsqrt(var + bn.eps) * bn.weight).unsqueeze(1) + bn.bias.unsqueeze(1)
    bn.update_running(mean.detach(), var.detach(), count.squeeze(1), mask is not None)
    return out


class StackedBatchNorm:
    """The stacked tensors of one batch-norm layer (K copies), and its running-statistics
    update (``torch.nn.BatchNorm``'s rule: ``momentum`` blend, unbiased variance)."""

    def __init__(self, owner, prefix, layers):
        self.eps, self.momentum = layers[0].eps, layers[0].momentum
        self.weight = owner.share(f"{prefix}_weight", [m.weight for m in layers])
        self.bias = owner.share(f"{prefix}_bias", [m.bias for m in layers])
        self.running_mean = owner.share(f"{prefix}_running_mean",
                                        [m.running_mean for m in layers], buffer=True)
        self.running_var = owner.share(f"{prefix}_running_var",
                                       [m.running_var for m in layers], buffer=True)
        self.num_batches_tracked = owner.share(
            f"{prefix}_num_batches_tracked", [m.num_batches_tracked for m in layers],
            buffer=True)

    @torch.no_grad()
    def update_running(self, mean, var, count, masked):
        """Blend batch statistics ``(K, C)`` of ``count`` rows per copy into the running ones."""
        n = count.unsqueeze(1)
        unbiased = var * n / (n - 1).clamp_min(1)
        new_mean = torch.lerp(self.running_mean, mean, self.momentum)
        new_var = torch.lerp(self.running_var, unbiased, self.momentum)
        if masked:
            seen = (count > 0).unsqueeze(1)
            new_mean = torch.where(seen, new_mean, self.running_mean)
            new_var = torch.where(seen, new_var, self.running_var)
            self.num_batches_tracked.add_((count > 0).to(self.num_batches_tracked.dtype))
        else:
            self.num_batches_tracked.add_(1)
        self.running_mean.copy_(new_mean)
        self.running_var.copy_(new_var)


class StackedMLP(StackedModule):
    """K copies of an :class:`~sktune.nn.MLPModule` as one network over ``(K, b, F)``.

    Linear layers are batched matmuls, batch norm keeps per-copy statistics, and each
    copy's dropout rate applies to its own slice (copies without dropout get rate 0).

    Parameters
    ----------
    copies : sequence of MLPModule
        Modules with equal ``stack_signature()``; usually built by ``copies[0].stack``.

    Examples
    --------
    >>> import torch
    >>> from sktune.nn import MLPModule
    >>> copies = [MLPModule(4, (8,), 3, dropout=p) for p in (0.0, 0.5)]
    >>> stacked = copies[0].stack(copies)
    >>> x = torch.randn(2, 5, 4)                    # copy k's batch is x[k]
    >>> out = stacked.eval()(x)
    >>> out.shape
    torch.Size([2, 5, 3])
    >>> torch.allclose(out[1], copies[1].eval()(x[1]), atol=1e-6)
    True
    >>> stacked.release()
    """

    def __init__(self, copies):
        super().__init__(copies)
        self._plan = dense_plan(self, [list(c) for c in copies], "")

    def forward(self, x, mask=None):
        return run_dense(self._plan, x, mask, self.training)


def dense_plan(owner, sequences, prefix):
    """The steps of K copies of a dense stack (Linear, BatchNorm1d, activations, dropout),
    their tensors shared into ``owner`` under names starting with ``prefix``; for
    :func:`run_dense`. ``sequences[k]`` lists copy ``k``'s layers."""
    split = [without_dropout(layers) for layers in sequences]
    plan = []
    n_linear = n_norm = 0
    for i, layer in enumerate(split[0][0]):
        column = [layers[i] for layers, _ in split]
        if isinstance(layer, nn.Linear):
            weight = owner.share(f"{prefix}weight{n_linear}", [m.weight for m in column])
            bias = (owner.share(f"{prefix}bias{n_linear}", [m.bias for m in column])
                    if layer.bias is not None else None)
            plan.append(("linear", weight, bias))
            n_linear += 1
        elif isinstance(layer, nn.modules.batchnorm._BatchNorm):
            plan.append(("norm", StackedBatchNorm(owner, f"{prefix}norm{n_norm}", column)))
            owner.needs_two_rows = True
            n_norm += 1
        else:
            plan.append(("activation", layer))
        rates = [r.get(i, 0.0) for _, r in split]
        if any(rates):
            like = next(owner.parameters())
            p = torch.tensor(rates, dtype=like.dtype, device=like.device)
            owner.register_buffer(f"{prefix}dropout{i}", p)
            plan.append(("dropout", p))
    return plan


def run_dense(plan, x, mask, training):
    """``x (K, b, F)`` through the steps of :func:`dense_plan`."""
    for step in plan:
        kind = step[0]
        if kind == "linear":
            x = stacked_linear(x, step[1], step[2])
        elif kind == "activation":
            x = activate(step[1], x)
        elif kind == "norm":
            x = stacked_batch_norm(x, step[1], training, mask)
        else:
            x = stacked_dropout(x, step[1], training)
    return x
