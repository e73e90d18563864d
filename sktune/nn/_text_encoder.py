"""A Hugging Face transformer encoder, pooled, under a new head."""

from torch import nn

from sktune.nn._layers import make_head


class TextEncoderModule(nn.Module):
    """``encoder(input_ids, attention_mask) -> pooling -> head``.

    Parameters
    ----------
    encoder : transformers.PreTrainedModel
        An encoder returning ``last_hidden_state`` (BERT, MiniLM, RoBERTa...).
    n_outputs : int
        Output units of the head.
    pooling : {"mean", "cls"}, default="mean"
        Masked mean of the token states, or the first token's state.
    hidden_layer_sizes : sequence of int, default=()
    dropout : float, default=0.0
    activation : str, default="relu"
    """

    def __init__(self, encoder, n_outputs, pooling="mean", hidden_layer_sizes=(), dropout=0.0,
                 activation="relu"):
        super().__init__()
        self.encoder = encoder
        self.pooling = pooling
        self.head = make_head(encoder.config.hidden_size, hidden_layer_sizes, n_outputs,
                              dropout, activation)

    def freeze_lower_layers(self, n_layers):
        """Freeze the embeddings and the first ``n_layers`` transformer layers."""
        layers = _encoder_layers(self.encoder)
        frozen = [getattr(self.encoder, "embeddings", None)] + list(layers[:n_layers])
        for module in filter(None, frozen if n_layers > 0 else []):
            for p in module.parameters():
                p.requires_grad_(False)

    def lr_group(self, name):
        """Parameter groups for discriminative learning rates: 'backbone' or 'head'."""
        return "backbone" if name.startswith("encoder.") else "head"

    def embed(self, input_ids, attention_mask):
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

