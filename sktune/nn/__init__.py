"""Pure ``torch.nn.Module`` builders, usable without the sklearn estimators."""

from sktune.nn._cnn import Augment, CNNModule, ConvBlock
from sktune.nn._finetune import FineTuneModule, PixelShift, strip_head
from sktune.nn._fused import StackedMLP, StackedModule
from sktune.nn._fused_cnn import StackedCNN
from sktune.nn._layers import ACTIVATIONS, make_activation
from sktune.nn._mlp import MLPModule
from sktune.nn._protocols import Freezable, Headed, LayerwiseLR, SparseInput, Stackable
from sktune.nn._rnn import RNNModule, StridedFrontEnd
from sktune.nn._tabular import PeriodicEmbedding, TabularMLPModule

__all__ = ["ACTIVATIONS", "Augment", "CNNModule", "ConvBlock", "FineTuneModule", "Freezable", "Headed",
           "LayerwiseLR", "MLPModule", "PeriodicEmbedding", "PixelShift", "RNNModule", "SparseInput", "Stackable", "StackedCNN",
           "StackedMLP", "StackedModule", "StridedFrontEnd", "TabularMLPModule", "make_activation", "strip_head"]
