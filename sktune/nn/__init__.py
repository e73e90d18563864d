"""Pure ``torch.nn.Module`` builders, usable without the sklearn estimators."""

from sktune.nn._layers import ACTIVATIONS, make_activation
from sktune.nn._mlp import MLPModule

__all__ = ["ACTIVATIONS", "MLPModule", "make_activation"]
