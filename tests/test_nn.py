"""The plain torch module builders, used without any estimator."""

import pytest
import torch
from torch import nn

from sktune.nn import ACTIVATIONS, MLPModule, make_activation


def test_mlp_module_layout():
    net = MLPModule(5, (8, 4), 2, activation="tanh", dropout=0.5, batch_norm=True)
    assert [type(m).__name__ for m in net] == [
        "Linear", "BatchNorm1d", "Tanh", "Dropout", "Linear", "BatchNorm1d", "Tanh", "Dropout",
        "Linear"]
    assert net(torch.randn(3, 5)).shape == (3, 2)
    assert [lin.out_features for lin in net.linear_layers] == [8, 4, 2]


def test_linear_model_when_no_hidden_layers():
    net = MLPModule(5, (), 1)
    assert len(net) == 1 and isinstance(net[0], nn.Linear)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_every_activation_builds(name):
    assert isinstance(make_activation(name), nn.Module)


def test_unknown_activation():
    with pytest.raises(ValueError, match="Unknown activation 'swish'"):
        make_activation("swish")
