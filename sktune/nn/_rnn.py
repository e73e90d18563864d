"""Recurrent networks over (padded, variable-length) sequences."""

import copy
from contextlib import nullcontext

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from sktune._compat import cpu_has_native_bf16
from sktune.nn._cnn import ConvBlock
from sktune.nn._layers import (
    cpu_bf16_autocast,
    length_mask,
    make_activation,
    shorter_lengths,
)

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
POOLINGS = ("last", "mean", "max", "last_mean_max", "attention")
#: how many vectors of ``hidden_size * directions`` each pooling concatenates
POOLED_VECTORS = {"last_mean_max": 3}
FRONTENDS = ("conv", "strided")
#: kernel sizes of the convolutional front-end's blocks: the FCN's (Wang et al., 2017)
CONV_KERNELS = (8, 5, 3)


class StridedFrontEnd(nn.Module):
    """A strided convolution that shortens sequences ``stride`` times before the RNN.

    ``forward(x, lengths)`` maps ``(n, T, F)`` to ``(n, ceil(T / stride), channels)``
    (ReLU) and the lengths accordingly. Each output step summarises ``2 * stride``
    input steps (windows overlap by half); padded steps are zeroed first, so the last
    valid window of a short sequence sees exactly what it would see alone.

    Parameters
    ----------
    n_features : int
        Features per input step.
    channels : int
        Features per output step.
    stride : int
        Input steps per output step.

    Examples
    --------
    >>> import torch
    >>> from sktune.nn import StridedFrontEnd
    >>> out, lengths = StridedFrontEnd(3, 8, stride=2)(torch.randn(4, 9, 3),
    ...                                                torch.tensor([9, 6, 3, 1]))
    >>> out.shape, lengths.tolist()
    (torch.Size([4, 5, 8]), [5, 3, 2, 1])
    """

    def __init__(self, n_features, channels, stride):
        super().__init__()
        self.stride = stride
        self.conv = nn.Conv1d(n_features, channels, 2 * stride, stride=stride)
        self.act = nn.ReLU()

    def forward(self, x, lengths=None):
        if lengths is not None:
            steps = torch.arange(x.shape[1], device=x.device)
            x = x * (steps[None, :] < lengths[:, None]).unsqueeze(-1).to(x.dtype)
        s = self.stride
        padded = nn.functional.pad(x.transpose(1, 2), (s // 2, s + s // 2))
        out = self.act(self.conv(padded)).transpose(1, 2)
        steps = (x.shape[1] + s - 1) // s  # ceil(T / s), with no negative division
        if torch.jit.is_tracing():  # exporters: a traced slice keeps the example's length
            out = out.index_select(1, torch.arange(steps, device=out.device))
        else:
            out = out[:, :steps]
        if lengths is not None:
            lengths = shorter_lengths(lengths, s)
        return out, lengths


class ConvFrontEnd(nn.Module):
    """Convolution blocks at full resolution, then max pooling by ``stride``, before the RNN.

    ``forward(x, lengths)`` maps ``(n, T, F)`` to ``(n, ceil(T / stride), channels)``
    and the lengths accordingly. Three blocks (convolution, batch norm, ReLU; kernels
    8, 5 and 3, the FCN's) see every input step, so a short event anywhere becomes a
    feature before the sequence is shortened; the max pooling keeps it (a CNN-LSTM,
    as DeepConvLSTM and LSTM-FCN read signals). Padded steps are zeroed before every
    convolution and left out of the batch-norm statistics and the pooling, so each
    sequence is read exactly as if it were alone.

    Parameters
    ----------
    n_features : int
        Features per input step.
    channels : int
        Channels of each block, and features per output step.
    stride : int, default=1
        Input steps per output step (max pooling over non-overlapping windows).
    kernel_sizes : sequence of int, default=(8, 5, 3)
        One block per kernel size.

    Examples
    --------
    >>> import torch
    >>> from sktune.nn import ConvFrontEnd
    >>> out, lengths = ConvFrontEnd(3, 8, stride=2)(torch.randn(4, 9, 3),
    ...                                            torch.tensor([9, 6, 3, 1]))
    >>> out.shape, lengths.tolist()
    (torch.Size([4, 5, 8]), [5, 3, 2, 1])
    """

    def __init__(self, n_features, channels, stride=1, kernel_sizes=CONV_KERNELS):
        super().__init__()
        self.stride = int(stride)
        widths = [n_features] + [channels] * len(kernel_sizes)
        self.blocks = nn.ModuleList(
            ConvBlock(1, c_in, c_out, k, batch_norm=True, activation="relu", residual=False)
            for c_in, c_out, k in zip(widths, widths[1:], kernel_sizes))

    def forward(self, x, lengths=None):
        x = x.transpose(1, 2)
        mask = None if lengths is None else length_mask(lengths, x.shape[-1], x.device)
        for block in self.blocks:
            x = block(x, mask)  # ReLU outputs, zero at padded steps
        s = self.stride
        if s > 1:  # non-negative features: a padded zero never wins a window's max
            x = nn.functional.max_pool1d(x, s, s, ceil_mode=True)
            if lengths is not None:
                lengths = shorter_lengths(lengths, s)
        return x.transpose(1, 2), lengths


class RNNModule(nn.Module):
    """An LSTM/GRU/RNN encoder, a pooling over time and a dense head.

    ``forward(x, lengths=None)`` takes ``x`` of shape ``(n, T, F)`` (or ``(n, T)`` token
    rows when ``vocab_size`` is set) and optionally the true length of each sequence;
    padded steps are packed away, never seen by the recurrence nor the pooling.

    Parameters
    ----------
    n_features : int
        Features per time step (ignored with an embedding).
    n_outputs : int
        Output units.
    cell : {"lstm", "gru", "rnn"}, default="lstm"
        The recurrent layer: ``nn.LSTM``, ``nn.GRU`` or ``nn.RNN``.
    hidden_size : int, default=64
        Features of the recurrent state (per direction).
    num_layers : int, default=1
        Stacked recurrent layers.
    bidirectional : bool, default=False
        Run the recurrence in both directions and concatenate their states.
    dropout : float, default=0.0
        Between recurrent layers and before the head.
    pooling : {"last", "mean", "max", "last_mean_max", "attention"}, default="last"
        How the per-step outputs become one vector: the final hidden state, the mean or
        max over valid steps, the three concatenated (ULMFiT's "concat pooling"), or a
        learned attention-weighted sum.
    vocab_size : int, default=None
        Number of token rows (row 0 is padding); enables an embedding layer.
    embedding_dim : int, default=None
        Width of the token embedding.
    hidden_layer_sizes : sequence of int, default=()
        Dense layers of the head.
    activation : str, default="relu"
        Activation of the head.
    batch_norm : bool, default=False
        Batch normalisation of the pooled representation.
    downsample : int, default=1
        Steps of the input per step of the recurrence: the stride of the front-end.
    frontend : {"strided", "conv"}, default="strided"
        What reads the input before the recurrence: "strided", one
        :class:`StridedFrontEnd` convolution when ``downsample > 1`` (none otherwise);
        "conv", a :class:`ConvFrontEnd` (three convolution blocks at full resolution,
        then max pooling by ``downsample``). Both have ``hidden_size`` channels.

    Examples
    --------
    >>> import torch
    >>> from sktune.nn import RNNModule
    >>> net = RNNModule(3, 2, cell="gru", pooling="mean")
    >>> net(torch.zeros(4, 7, 3), torch.tensor([7, 5, 2, 1])).shape
    torch.Size([4, 2])
    """

    def __init__(self, n_features, n_outputs, cell="lstm", hidden_size=64, num_layers=1,
                 bidirectional=False, dropout=0.0, pooling="last", vocab_size=None,
                 embedding_dim=None, hidden_layer_sizes=(), activation="relu", batch_norm=False,
                 downsample=1, frontend="strided"):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling={pooling!r}; choose one of {POOLINGS}.")
        if frontend not in FRONTENDS:
            raise ValueError(f"frontend={frontend!r}; choose one of {FRONTENDS}.")
        self.embedding = None
        if vocab_size is not None:
            self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
            n_features = embedding_dim
        self.frontend = None
        if frontend == "conv":
            self.frontend = ConvFrontEnd(n_features, hidden_size, int(downsample))
            n_features = hidden_size
        elif downsample > 1:
            self.frontend = StridedFrontEnd(n_features, hidden_size, int(downsample))
            n_features = hidden_size
        self.rnn = CELLS[cell](n_features, hidden_size, num_layers=num_layers, batch_first=True,
                               bidirectional=bidirectional,
                               dropout=dropout if num_layers > 1 else 0.0)
        self.directions = 2 if bidirectional else 1
        self.pooling = pooling
        width = hidden_size * self.directions * POOLED_VECTORS.get(pooling, 1)
        self.attention = (nn.Linear(width, 1) if pooling == "attention" else None)
        head = [nn.BatchNorm1d(width)] if batch_norm else []
        head += [nn.Dropout(dropout)] if dropout > 0 else []
        for size in hidden_layer_sizes:
            head += [nn.Linear(width, size), make_activation(activation)]
            width = size
        head.append(nn.Linear(width, n_outputs))
        self.head = nn.Sequential(*head)

    def embed(self, x, lengths=None):
        """The pooled representation of each sequence: what the head reads
        (:class:`~sktune.nn.Embedder`).

        Parameters
        ----------
        x : torch.Tensor
            ``(n, T, F)`` steps, or ``(n, T)`` token rows with an embedding.
        lengths : torch.Tensor of shape (n,), default=None
            True length of each zero-padded sequence; None: all ``T`` steps are valid.

        Returns
        -------
        torch.Tensor of shape (n, hidden_size * directions)
            One embedding per sequence (three times as wide with
            ``pooling="last_mean_max"``).
        """
        return _encode(self, x, lengths)

    def forward(self, x, lengths=None):
        return self.head(self.embed(x, lengths))

    def without_head(self):
        """The network up to its head (the pooled recurrent states), for transfer.

        Returns
        -------
        torch.nn.Module
            A new module (this network is left intact) taking ``forward``'s inputs and
            returning :meth:`embed`'s output.
        """
        return _RNNBody(copy.deepcopy(self))


def _encode(net, x, lengths):
    if net.embedding is not None:
        x = net.embedding(x.long())
    if net.frontend is not None:
        x, lengths = net.frontend(x, lengths)
    in_float32 = isinstance(net.rnn, nn.LSTM) and cpu_bf16_autocast(x) and \
        not cpu_has_native_bf16()
    if in_float32:  # oneDNN's bfloat16 LSTM needs AVX512-BF16 or AMX: float32 elsewhere
        x = x.float()
    with torch.autocast("cpu", enabled=False) if in_float32 else nullcontext():
        if lengths is None:
            out, hidden = net.rnn(x)
            mask = None
        else:
            steps = int(lengths.max())
            x = x[:, :steps]
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True,
                                          enforce_sorted=False)
            out, hidden = net.rnn(packed)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=steps)
            mask = torch.arange(steps, device=x.device)[None, :] < \
                lengths.to(x.device)[:, None]
    return _pool(net, out, hidden, mask)


def _pool(net, out, hidden, mask):
    h_n = hidden[0] if isinstance(hidden, tuple) else hidden  # LSTM: (h_n, c_n)
    last = torch.cat(list(h_n[-net.directions:]), dim=1)
    if net.pooling == "last":
        return last
    if mask is None:
        mask = torch.ones(out.shape[:2], dtype=torch.bool, device=out.device)
    m = mask.unsqueeze(-1)
    mean = (out * m).sum(1) / m.sum(1).clamp_min(1)
    if net.pooling == "mean":
        return mean
    peak = out.masked_fill(~m, float("-inf")).max(dim=1).values
    if net.pooling == "max":
        return peak
    if net.pooling == "last_mean_max":
        return torch.cat([last, mean, peak], dim=1)
    scores = net.attention(out).masked_fill(~m, float("-inf"))
    return (torch.softmax(scores, dim=1) * out).sum(1)


class _RNNBody(nn.Module):
    """An :class:`RNNModule` without its head: the pooled recurrent representation."""

    def __init__(self, rnn):
        super().__init__()
        self.embedding, self.frontend, self.rnn = rnn.embedding, rnn.frontend, rnn.rnn
        self.attention, self.pooling, self.directions = rnn.attention, rnn.pooling, rnn.directions

    def forward(self, x, lengths=None):
        return _encode(self, x, lengths)
