"""Recurrent networks over (padded, variable-length) sequences."""

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from sktune.nn._layers import make_activation

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
POOLINGS = ("last", "mean", "max", "attention")


class RNNModule(nn.Module):
    """An LSTM/GRU/RNN encoder, a pooling over time and a dense head.

    ``forward(x, lengths=None)`` takes ``x`` of shape ``(n, T, F)`` (or ``(n, T)`` token
    ids when ``vocab_size`` is set) and optionally the true length of each sequence;
    padded steps are packed away, never seen by the recurrence nor the pooling.

    Parameters
    ----------
    n_features : int
        Features per time step (ignored with an embedding).
    n_outputs : int
        Output units.
    cell : {"lstm", "gru", "rnn"}, default="lstm"
    hidden_size : int, default=64
    num_layers : int, default=1
    bidirectional : bool, default=False
    dropout : float, default=0.0
        Between recurrent layers and before the head.
    pooling : {"last", "mean", "max", "attention"}, default="last"
        How the per-step outputs become one vector: the final hidden state, the mean or
        max over valid steps, or a learned attention-weighted sum.
    vocab_size : int, default=None
        Number of token ids (id 0 is padding); enables an embedding layer.
    embedding_dim : int, default=None
        Width of the token embedding.
    hidden_layer_sizes : sequence of int, default=()
        Dense layers of the head.
    activation : str, default="relu"
        Activation of the head.
    batch_norm : bool, default=False
        Batch normalisation of the pooled representation.

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
                 embedding_dim=None, hidden_layer_sizes=(), activation="relu", batch_norm=False):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling={pooling!r}; choose one of {POOLINGS}.")
        self.embedding = None
        if vocab_size is not None:
            self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
            n_features = embedding_dim
        self.rnn = CELLS[cell](n_features, hidden_size, num_layers=num_layers, batch_first=True,
                               bidirectional=bidirectional,
                               dropout=dropout if num_layers > 1 else 0.0)
        self.directions = 2 if bidirectional else 1
        self.pooling = pooling
        width = hidden_size * self.directions
        self.attention = nn.Linear(width, 1) if pooling == "attention" else None
        head = [nn.BatchNorm1d(width)] if batch_norm else []
        head += [nn.Dropout(dropout)] if dropout > 0 else []
        for size in hidden_layer_sizes:
            head += [nn.Linear(width, size), make_activation(activation)]
            width = size
        head.append(nn.Linear(width, n_outputs))
        self.head = nn.Sequential(*head)

    def forward(self, x, lengths=None):
        if self.embedding is not None:
            x = self.embedding(x.long())
        if lengths is None:
            out, hidden = self.rnn(x)
            mask = None
        else:
            steps = int(lengths.max())
            x = x[:, :steps]
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True,
                                          enforce_sorted=False)
            out, hidden = self.rnn(packed)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=steps)
            mask = torch.arange(steps, device=x.device)[None, :] < lengths[:, None]
        return self.head(self._pool(out, hidden, mask))

    def _pool(self, out, hidden, mask):
        if self.pooling == "last":
            h_n = hidden[0] if isinstance(hidden, tuple) else hidden  # LSTM: (h_n, c_n)
            return torch.cat(list(h_n[-self.directions:]), dim=1)
        if mask is None:
            mask = torch.ones(out.shape[:2], dtype=torch.bool, device=out.device)
        m = mask.unsqueeze(-1)
        if self.pooling == "mean":
            return (out * m).sum(1) / m.sum(1).clamp_min(1)
        if self.pooling == "max":
            return out.masked_fill(~m, float("-inf")).max(dim=1).values
        scores = self.attention(out).masked_fill(~m, float("-inf"))
        return (torch.softmax(scores, dim=1) * out).sum(1)
