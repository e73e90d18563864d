"""Multi-layer perceptron as a plain torch module."""

import torch
from torch import nn

from sktune.nn._layers import in_full_precision, make_activation
from sktune.nn._stacked import StackedMLP, layer_signature, tensor_signature


def hidden_layers(width, hidden_layer_sizes, activation, dropout, batch_norm):
    """The hidden layers of an MLP over ``width`` inputs: per size, a linear layer,
    batch norm if asked, the activation and dropout if any.

    Parameters
    ----------
    width : int
        Number of inputs.
    hidden_layer_sizes : sequence of int
        Width of each hidden layer.
    activation : str
        A key of :data:`~sktune.nn.ACTIVATIONS`.
    dropout : float
        Dropout rate after each activation (none when 0).
    batch_norm : bool
        Batch normalisation after each linear layer.

    Returns
    -------
    layers : list of torch.nn.Module
        The layers, in order.
    width : int
        The width of the last hidden layer (``width`` when there is none).
    """
    layers = []
    for size in hidden_layer_sizes:
        layers.append(nn.Linear(width, size))
        if batch_norm:
            layers.append(nn.BatchNorm1d(size))
        layers.append(make_activation(activation))
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = size
    return layers, width


class MLPModule(nn.Sequential):
    """Fully connected network:
    ``[Linear -> (BatchNorm) -> activation -> (Dropout)] * k -> Linear``.

    Parameters
    ----------
    n_inputs : int
        Number of input features.
    hidden_layer_sizes : sequence of int
        Width of each hidden layer; empty for a linear model.
    n_outputs : int
        Number of output units (logits or regression targets).
    activation : str, default="relu"
        A key of :data:`sktune.nn.ACTIVATIONS`.
    dropout : float, default=0.0
        Dropout probability after each hidden activation.
    batch_norm : bool, default=False
        Insert ``BatchNorm1d`` after each hidden ``Linear``.

    Examples
    --------
    >>> import torch
    >>> from sktune.nn import MLPModule
    >>> net = MLPModule(4, (8, 8), 3, dropout=0.1, batch_norm=True)
    >>> net(torch.zeros(5, 4)).shape
    torch.Size([5, 3])
    """

    def __init__(self, n_inputs, hidden_layer_sizes, n_outputs, activation="relu",
                 dropout=0.0, batch_norm=False):
        layers, width = hidden_layers(n_inputs, hidden_layer_sizes, activation, dropout,
                                      batch_norm)
        layers.append(nn.Linear(width, n_outputs))
        super().__init__(*layers)

    #: sparse CSR batches go straight into the first layer: TF-IDF-sized inputs are
    #: never densified, and the product costs what the non-zeros cost.
    accepts_sparse = True

    def forward(self, x):
        return self._through(list(self), x)

    def embed(self, x):
        """The last hidden layer's output, what the output layer reads (the input itself
        for a linear model): :class:`~sktune.nn.Embedder`.

        Parameters
        ----------
        x : torch.Tensor of shape (n, n_inputs)
            A dense or sparse CSR batch.

        Returns
        -------
        torch.Tensor of shape (n, d)
            ``d`` the last hidden width, or ``n_inputs`` without hidden layers.
        """
        return self._through(list(self)[:-1], x)

    @property
    def head(self):
        """The output layer, in a one-layer ``nn.Sequential`` (:class:`~sktune.nn.Embedder`)."""
        return nn.Sequential(self[-1])

    def _through(self, layers, x):
        """``x`` through ``layers`` (the first of them taking sparse CSR batches as they
        are), in full precision where a product is too small to gain from bfloat16."""
        if layers and x.layout != torch.strided:
            first = layers.pop(0)
            # sparse products have no reduced-precision kernels: in the weights' dtype,
            # whatever autocast says (mixed precision resumes after the first layer)
            with torch.autocast(x.device.type, enabled=False):
                x = torch.addmm(first.bias, x, first.weight.t())
        for layer in layers:
            if isinstance(layer, nn.Linear) and in_full_precision(
                    x, x.shape[0] * layer.in_features * layer.out_features):
                with torch.autocast("cpu", enabled=False):  # too small to gain in bf16
                    x = layer(x.float())
            else:
                x = layer(x)
        return x

    def stack_signature(self):
        """Layer kinds and shapes, dtype and device: what copies must share to be
        stacked (:class:`~sktune.nn.Stackable`); dropout rates may differ.

        Returns
        -------
        tuple or None
            The signature, or None when a layer cannot be stacked.
        """
        try:
            layers = tuple(s for s in map(layer_signature, self) if s is not None)
        except TypeError:
            return None
        return ("mlp", layers, tensor_signature(self))

    def stack(self, copies):
        """The copies as one :class:`~sktune.nn.StackedMLP` (:class:`~sktune.nn.Stackable`).

        Parameters
        ----------
        copies : sequence of MLPModule
            Networks with equal ``stack_signature()``, this one among them.

        Returns
        -------
        StackedMLP
            Their tensors stacked along a leading copy axis.
        """
        return StackedMLP(copies)

    @property
    def linear_layers(self):
        """The ``nn.Linear`` layers in order; ``coefs_`` and ``intercepts_`` come from them."""
        return [m for m in self if isinstance(m, nn.Linear)]


def glorot_uniform_(module, activation="relu", random_state=None):
    """scikit-learn's MLP initialisation, in place.

    Weights *and* biases of every ``nn.Linear`` are drawn from U(-b, b),
    ``b = sqrt(f / (fan_in + fan_out))``, ``f = 2`` for the logistic activation and 6
    otherwise (Glorot & Bengio, 2010), in scikit-learn's order — per layer the
    ``(fan_in, fan_out)`` weight matrix, then the bias — from
    ``numpy.random.RandomState(random_state)``: with the same int ``random_state``, the
    initial weights are scikit-learn's, to the last bit.
    """
    from sklearn.utils import check_random_state

    rng = check_random_state(random_state)
    factor = 2.0 if activation == "logistic" else 6.0
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, nn.Linear):
                bound = (factor / (layer.in_features + layer.out_features)) ** 0.5
                weight = rng.uniform(-bound, bound, (layer.in_features, layer.out_features))
                layer.weight.copy_(torch.from_numpy(weight.T.copy()))
                bias = rng.uniform(-bound, bound, layer.out_features)
                if layer.bias is not None:
                    layer.bias.copy_(torch.from_numpy(bias))
    return module
