"""Pure ``torch.nn.Module`` builders, usable without the sklearn estimators."""

from sktune.nn._cnn import Augment, CNNModule, ConvBlock
from sktune.nn._finetune import FineTuneModule, PixelShift, strip_head
from sktune.nn._layers import ACTIVATIONS, make_activation
from sktune.nn._members import MemberEnsemble, mean_of_members
from sktune.nn._mlp import MLPModule
from sktune.nn._protocols import (
    Embedder,
    Freezable,
    Headed,
    LayerwiseLR,
    SparseInput,
    Stackable,
)
from sktune.nn._rnn import ConvFrontEnd, RNNModule, StridedFrontEnd
from sktune.nn._stacked import StackedMLP, StackedModule
from sktune.nn._stacked_cnn import StackedCNN
from sktune.nn._tabular import PeriodicEmbedding, StackedTabularMLP, TabularMLPModule
from sktune.nn._text_encoder import TextEncoderModule

__all__ = ["ACTIVATIONS", "Augment", "CNNModule", "ConvBlock", "ConvFrontEnd", "Embedder",
           "FineTuneModule", "Freezable", "Headed", "LayerwiseLR", "MLPModule", "MemberEnsemble",
           "PeriodicEmbedding", "PixelShift", "RNNModule", "SparseInput", "Stackable",
           "StackedCNN", "StackedMLP", "StackedModule", "StackedTabularMLP", "StridedFrontEnd",
           "TabularMLPModule", "TextEncoderModule", "make_activation", "mean_of_members",
           "strip_head"]
