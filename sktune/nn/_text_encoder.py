"""A Hugging Face transformer encoder, pooled, under a new head."""

from torch import nn

from sktune.nn._layers import make_head


class TextEncoderModule(nn.Module):
    """``encoder(input_ids, attention_mask) -> pooling -> head``.

    An :class:`~sktune.nn.Embedder` (``embed`` is the pooled encoder output), a
    :class:`~sktune.nn.Freezable` network of blocks (the token embeddings, then each
    transformer layer) and a :class:`~sktune.nn.LayerwiseLR` one (encoder and head).

    Parameters
    ----------
    encoder : transformers.PreTrainedModel
        An encoder returning ``last_hidden_state`` (BERT, MiniLM, RoBERTa...).
    n_outputs : int
        Output units of the head.
    pooling : {"mean", "cls"}, default="mean"
        Masked mean of the token states, or the first token's state.
    hidden_layer_sizes : sequence of int, default=()
        Dense layers of the head.
    dropout : float, default=0.0
        Dropout before each head layer.
    activation : str, default="relu"
        Activation of the head's hidden layers, a key of :data:`ACTIVATIONS`.

    Examples
    --------
    A stand-in for a Hugging Face encoder (``config.hidden_size``, ``embeddings``,
    a list of layers, outputs with ``last_hidden_state``):

    >>> from types import SimpleNamespace
    >>> import torch
    >>> from torch import nn
    >>> from sktune.nn import TextEncoderModule
    >>> class Encoder(nn.Module):
    ...     config = SimpleNamespace(hidden_size=8)
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.embeddings = nn.Embedding(20, 8)
    ...         self.layers = nn.ModuleList([nn.Linear(8, 8), nn.Linear(8, 8)])
    ...     def forward(self, input_ids, attention_mask):
    ...         h = self.embeddings(input_ids)
    ...         for layer in self.layers:
    ...             h = layer(h)
    ...         return SimpleNamespace(last_hidden_state=h)
    >>> module = TextEncoderModule(Encoder(), n_outputs=2)
    >>> ids, mask = torch.randint(0, 20, (3, 5)), torch.ones(3, 5, dtype=torch.long)
    >>> module.embed(ids, mask).shape, module(ids, mask).shape
    (torch.Size([3, 8]), torch.Size([3, 2]))
    >>> module.freeze(2)
    >>> module.frozen_blocks, len(module.blocks)
    (2, 3)
    """

    def __init__(self, encoder, n_outputs, pooling="mean", hidden_layer_sizes=(), dropout=0.0,
                 activation="relu"):
        super().__init__()
        self.encoder = encoder
        self.pooling = pooling
        self.head = make_head(encoder.config.hidden_size, hidden_layer_sizes, n_outputs,
                              dropout, activation)
        self.frozen_blocks = 0

    @property
    def blocks(self):
        """Units of freezing, bottom up (:class:`~sktune.nn.Freezable`): the token
        embeddings (an empty Identity for an encoder without them), then each
        transformer layer."""
        embeddings = getattr(self.encoder, "embeddings", None)
        return [nn.Identity() if embeddings is None else embeddings,
                *_encoder_layers(self.encoder)]

    def freeze(self, n_blocks):
        """Freeze the first ``n_blocks`` blocks (all of them if larger); unfreeze the rest.

        Frozen layers keep their dropout in training: a transformer has no batch
        statistics to keep.

        Parameters
        ----------
        n_blocks : int
            Blocks of :attr:`blocks` to freeze, from the token embeddings up.
        """
        blocks = self.blocks
        self.frozen_blocks = min(int(n_blocks), len(blocks))
        for i, block in enumerate(blocks):
            for p in block.parameters():
                p.requires_grad_(i >= self.frozen_blocks)

    def lr_group(self, name):
        """Parameter groups for discriminative learning rates: 'backbone' or 'head'.

        Parameters
        ----------
        name : str
            A parameter's name, as in ``named_parameters()``.

        Returns
        -------
        str
            ``"backbone"`` for the encoder's parameters, else ``"head"``.
        """
        return "backbone" if name.startswith("encoder.") else "head"

    def embed(self, input_ids, attention_mask):
        """The pooled sentence embeddings of a batch (:class:`~sktune.nn.Embedder`).

        Parameters
        ----------
        input_ids : torch.Tensor of shape (n, seq_len)
            Token ids.
        attention_mask : torch.Tensor of shape (n, seq_len)
            1 for real tokens, 0 for padding (left out of the mean).

        Returns
        -------
        torch.Tensor of shape (n, hidden_size)
            The masked mean of the token states, or the first token's state.
        """
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        if self.pooling == "cls":
            return states[:, 0]
        mask = attention_mask.unsqueeze(-1).to(states.dtype)
        return (states * mask).sum(1) / mask.sum(1).clamp_min(1.0)

    def forward(self, input_ids, attention_mask):
        return self.head(self.embed(input_ids, attention_mask))


def _encoder_layers(encoder):
    """The stack of transformer layers (BERT-style ``encoder.layer`` and common variants)."""
    for path in ("encoder.layer", "transformer.layer", "layers", "encoder.layers"):
        module = encoder
        for part in path.split("."):
            module = getattr(module, part, None)
            if module is None:
                break
        if isinstance(module, (nn.ModuleList, nn.Sequential)):
            return list(module)
    raise ValueError(f"cannot find the transformer layers of {type(encoder).__name__}.")

