"""Tabular MLP parts: periodic numeric embeddings and parameter-efficient ensembles.

Two ideas of the strongest deep tabular models, as plain torch modules:

* :class:`PeriodicEmbedding` (PLR "lite", Gorishniy et al., NeurIPS 2022): each
  feature ``x_j`` becomes ``ReLU(W [cos(2 pi c_j x_j), sin(2 pi c_j x_j)])`` with
  trainable frequencies ``c_j`` and a linear map ``W`` shared by the features; the MLP
  then sees ``n_features * d_embedding`` inputs, and can fit sharp or periodic
  dependencies a ReLU MLP on raw values learns slowly.
* :class:`TabularMLPModule` with ``n_ensemble=K > 1`` (TabM-mini, Gorishniy et al.,
  ICLR 2025): K members share one MLP; member k multiplies its input by its own
  vector ``r_k`` (initialised to random signs) and has its own output layer. In
  training the output is ``(batch, K, n_outputs)`` and the loss is the mean of the
  members' losses (:class:`~sktune.engine.SampleLoss` reads a 3-D output so); in
  evaluation the members' predictions are averaged — probabilities for a classifier,
  values for a regressor — and returned as one output in the estimator's link, so
  predicting is unchanged for the estimator.
"""

import math

import torch
from torch import nn

from sktune.nn._members import LINKS, mean_of_members
from sktune.nn._mlp import hidden_layers
from sktune.nn._stacked import (
    StackedModule,
    dense_plan,
    layer_signature,
    run_dense,
    stacked_linear,
    tensor_signature,
)


class PeriodicEmbedding(nn.Module):
    """Numeric features as learned periodic embeddings (PLR lite).

    Each feature ``x_j`` becomes ``relu(W [cos(2 pi c_j x_j), sin(2 pi c_j x_j)])``
    with learned frequencies ``c_j`` and one linear layer shared by the features
    (Gorishniy et al., "On embeddings for numerical features in tabular deep
    learning", 2022); the embeddings of all features are concatenated.

    Parameters
    ----------
    n_features : int
        Number of input features.
    n_frequencies : int, default=16
        Frequencies per feature (``c_j`` has this many entries).
    d_embedding : int, default=16
        Output width per feature.
    sigma : float, default=0.1
        Standard deviation of the initial frequencies: on inputs of unit scale, 0.1
        starts from smooth functions of each feature (Gorishniy et al. tune it in
        [0.01, 100]; RealMLP's default is 0.1).
    random_state : int, default=0
        Seed of the initial frequencies.

    Examples
    --------
    >>> import torch
    >>> from sktune.nn import PeriodicEmbedding
    >>> PeriodicEmbedding(3, d_embedding=4)(torch.zeros(5, 3)).shape
    torch.Size([5, 12])
    """

    def __init__(self, n_features, n_frequencies=16, d_embedding=16, sigma=0.1,
                 random_state=0):
        super().__init__()
        generator = torch.Generator().manual_seed(int(random_state))
        self.frequencies = nn.Parameter(
            torch.randn(n_features, n_frequencies, generator=generator) * sigma)
        self.linear = nn.Linear(2 * n_frequencies, d_embedding)
        self.n_outputs = n_features * d_embedding

    def forward(self, x):
        angles = 2 * math.pi * self.frequencies * x.unsqueeze(-1)    # (n, features, k)
        periodic = torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)
        return torch.relu(self.linear(periodic)).flatten(1)           # (n, features * d)


class TabularMLPModule(nn.Module):
    """An MLP with optional periodic numeric embeddings and a TabM-mini ensemble.

    With ``n_ensemble=K`` the K members share the hidden layers; each scales the input
    by its own fixed random sign vector and has its own output layer (TabM-mini,
    Gorishniy et al., ICLR 2025). In training mode the module returns every member's
    output, ``(n, K, n_outputs)``, so that the loss is the mean of the members';
    in evaluation mode it returns their average on the link's scale.

    Parameters
    ----------
    n_inputs : int
        Number of input features.
    hidden_layer_sizes : sequence of int
        Width of each hidden layer (shared by the members).
    n_outputs : int
        Output units of each member.
    activation : str, default="relu"
        As :class:`~sktune.nn.MLPModule`.
    dropout : float, default=0.0
        As :class:`~sktune.nn.MLPModule`.
    batch_norm : bool, default=False
        As :class:`~sktune.nn.MLPModule`.
    numeric_embedding : {None, "periodic"}, default=None
        Embed input features with :class:`PeriodicEmbedding` first.
    embedded_features : sequence of int, default=None
        With an embedding, the inputs it embeds (None: all); the others enter the
        hidden layers as they are, after the embedded ones.
    n_ensemble : int, default=1
        Members trained as one network (see the module docstring).
    link : {"identity", "softmax", "sigmoid", "exp"}, default="identity"
        How the estimator turns an output into a prediction: members are averaged on
        that scale (mean probabilities, mean values) and the mean is returned as an
        output on the link's input scale (e.g. ``log`` of the mean probabilities).
    random_state : int, default=0
        Seed of the embedding's frequencies and the members' sign vectors.

    Examples
    --------
    >>> import torch
    >>> from sktune.nn import TabularMLPModule
    >>> net = TabularMLPModule(4, (8,), 3, numeric_embedding="periodic", n_ensemble=4,
    ...                        link="softmax")
    >>> net.train()(torch.zeros(5, 4)).shape   # each member's output, for the loss
    torch.Size([5, 4, 3])
    >>> net.eval()(torch.zeros(5, 4)).shape    # the members' mean
    torch.Size([5, 3])
    """

    def __init__(self, n_inputs, hidden_layer_sizes, n_outputs, activation="relu",
                 dropout=0.0, batch_norm=False, numeric_embedding=None, n_ensemble=1,
                 link="identity", random_state=0, embedded_features=None):
        super().__init__()
        if link not in LINKS:
            raise ValueError(f"link must be one of {LINKS}; got {link!r}.")
        embedded = tuple(range(n_inputs)) if embedded_features is None else \
            tuple(sorted(int(j) for j in embedded_features))
        self.embedding = None
        if numeric_embedding == "periodic" and embedded:
            self.embedding = PeriodicEmbedding(len(embedded), random_state=random_state)
        self.embedded_features = embedded if self.embedding is not None else ()
        passed = tuple(j for j in range(n_inputs) if j not in set(self.embedded_features))
        self.partial = bool(self.embedded_features) and bool(passed)
        self.register_buffer("embedded_index", torch.tensor(self.embedded_features,
                                                            dtype=torch.long), persistent=False)
        self.register_buffer("passed_index", torch.tensor(passed, dtype=torch.long),
                             persistent=False)
        width = n_inputs if self.embedding is None else \
            self.embedding.n_outputs + len(passed)
        self.n_ensemble, self.link = int(n_ensemble), link
        if self.n_ensemble > 1:
            generator = torch.Generator().manual_seed(int(random_state) + 1)
            signs = torch.randint(0, 2, (self.n_ensemble, width), generator=generator)
            self.adapters = nn.Parameter(2.0 * signs - 1.0)
        layers, width = hidden_layers(width, hidden_layer_sizes, activation, dropout,
                                      batch_norm)
        self.body = nn.Sequential(*layers)
        self.heads = nn.ModuleList(nn.Linear(width, n_outputs)
                                   for _ in range(self.n_ensemble))

    @property
    def linear_layers(self):
        """The ``nn.Linear`` layers of the shared body, then the first member's head."""
        return [m for m in self.body if isinstance(m, nn.Linear)] + [self.heads[0]]

    def stack_signature(self):
        """Shapes, layer kinds, link, dtype and device: what copies must share to train
        as one network (:class:`~sktune.nn.Stackable`); dropout rates may differ.

        Returns
        -------
        tuple or None
            The signature, or None when a layer cannot be stacked.
        """
        try:
            body = tuple(s for s in map(layer_signature, self.body) if s is not None)
        except TypeError:
            return None
        embedding = None if self.embedding is None else tuple(
            self.embedding.frequencies.shape) + (self.embedding.linear.out_features,
                                                 self.embedded_features)
        return ("tabular_mlp", embedding, self.n_ensemble, self.link, body,
                self.heads[0].out_features, tensor_signature(self))

    def stack(self, copies):
        """The copies as one :class:`StackedTabularMLP` (:class:`~sktune.nn.Stackable`).

        Parameters
        ----------
        copies : sequence of TabularMLPModule
            Networks with equal ``stack_signature()``, this one among them.

        Returns
        -------
        StackedTabularMLP
            Their tensors stacked along a leading copy axis.
        """
        return StackedTabularMLP(copies)

    def forward(self, x):
        if self.partial:
            x = torch.cat([self.embedding(x[:, self.embedded_index]),
                           x[:, self.passed_index]], dim=1)
        elif self.embedding is not None:
            x = self.embedding(x)
        K = self.n_ensemble
        if K == 1:
            return self.heads[0](self.body(x))
        n = x.shape[0]
        h = self.body((x.unsqueeze(0) * self.adapters.unsqueeze(1)).reshape(K * n, -1))
        h = h.view(K, n, -1)
        out = torch.stack([head(h[k]) for k, head in enumerate(self.heads)], dim=1)
        return out if self.training else mean_of_members(out, self.link)


class StackedTabularMLP(StackedModule):
    """C copies of a :class:`TabularMLPModule` as one network over ``(C, b, F)``.

    The periodic embeddings run as one batched product per layer over every copy and
    feature, the shared body as :class:`~sktune.nn.StackedMLP`'s dense layers, and a
    TabM-mini ensemble's members as ``K`` extra rows of each copy's batch. In training
    the output is ``(C, b, K, n_outputs)`` with ``K > 1`` (the loss averages the
    members), otherwise and in evaluation ``(C, b, n_outputs)``.

    Parameters
    ----------
    copies : sequence of TabularMLPModule
        Modules with equal ``stack_signature()``; usually built by ``copies[0].stack``.

    Examples
    --------
    >>> import torch
    >>> from sktune.nn import TabularMLPModule
    >>> copies = [TabularMLPModule(3, (8,), 2, numeric_embedding="periodic",
    ...                            n_ensemble=4, random_state=s) for s in (0, 1)]
    >>> stacked = copies[0].stack(copies)
    >>> x = torch.randn(2, 5, 3)                    # copy k's batch is x[k]
    >>> out = stacked.eval()(x)
    >>> out.shape
    torch.Size([2, 5, 2])
    >>> torch.allclose(out[1], copies[1].eval()(x[1]), atol=1e-6)
    True
    >>> stacked.release()
    """

    def __init__(self, copies):
        super().__init__(copies)
        first = copies[0]
        self.link, self.n_members = first.link, first.n_ensemble
        self.embedded, self.partial = first.embedding is not None, first.partial
        self.register_buffer("embedded_index", first.embedded_index.clone(), persistent=False)
        self.register_buffer("passed_index", first.passed_index.clone(), persistent=False)
        if self.embedded:
            self.frequencies = self.share("frequencies",
                                          [c.embedding.frequencies for c in copies])
            self.embedding_weight = self.share("embedding_weight",
                                               [c.embedding.linear.weight for c in copies])
            self.embedding_bias = self.share("embedding_bias",
                                             [c.embedding.linear.bias for c in copies])
        if self.n_members > 1:
            self.adapter = self.share("adapter", [c.adapters for c in copies])
        self._plan = dense_plan(self, [list(c.body) for c in copies], "body_")
        self.head = [(self.share(f"head{j}_weight", [c.heads[j].weight for c in copies]),
                      self.share(f"head{j}_bias", [c.heads[j].bias for c in copies]))
                     for j in range(self.n_members)]

    def forward(self, x, mask=None):
        C, b = x.shape[:2]
        if self.embedded:  # (C, b, F) -> (C, b * F, 2 k) -> (C, b, F * d)
            numbers = x[..., self.embedded_index] if self.partial else x
            angles = 2 * math.pi * self.frequencies.unsqueeze(1) * numbers.unsqueeze(-1)
            periodic = torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)
            embedded = stacked_linear(periodic.reshape(C, -1, periodic.shape[-1]),
                                      self.embedding_weight, self.embedding_bias)
            embedded = torch.relu(embedded).reshape(C, b, -1)
            x = torch.cat([embedded, x[..., self.passed_index]], dim=-1) if self.partial \
                else embedded
        K = self.n_members
        if K == 1:
            h = run_dense(self._plan, x, mask, self.training)
            return stacked_linear(h, *self.head[0])
        x = (x.unsqueeze(1) * self.adapter.unsqueeze(2)).reshape(C, K * b, -1)
        members = None if mask is None else mask.repeat(1, K)
        h = run_dense(self._plan, x, members, self.training).view(C, K, b, -1)
        out = torch.stack([stacked_linear(h[:, j], *self.head[j]) for j in range(K)], dim=2)
        if self.training:
            return out
        return mean_of_members(out.reshape(C * b, K, -1), self.link).view(C, b, -1)

