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


def test_image_cnns_run_channels_last_with_the_same_outputs(monkeypatch):
    from sktune.nn import CNNModule, _layers

    torch.manual_seed(0)
    net = CNNModule((3, 8, 8), 4, channels=(4, 8)).train()
    assert net.blocks[0].first[0].weight.is_contiguous(memory_format=torch.channels_last)
    x = torch.randn(6, 3, 8, 8)
    fast = net(x)
    monkeypatch.setattr(_layers, "IMAGE_LAYOUT", torch.contiguous_format)
    plain = CNNModule((3, 8, 8), 4, channels=(4, 8)).train()
    plain.load_state_dict(net.state_dict())
    assert plain.blocks[0].first[0].weight.is_contiguous()
    torch.testing.assert_close(plain(x), fast, rtol=1e-5, atol=1e-6)
    signal = CNNModule((3, 20), 4, channels=(4,))  # 1-D signals keep torch's layout
    assert signal.blocks[0].first[0].weight.is_contiguous()


def test_under_bf16_autocast_only_products_that_gain_compute_in_bfloat16():
    """nn._layers.BF16_MIN_MACS: small products (an output layer of 4 units) stay float32,
    large ones (256 x 256 at batch 200) compute in bfloat16, stacked or not."""
    from sktune.nn import MLPModule
    from sktune.nn._stacked import stacked_linear

    net = MLPModule(40, (256, 256), 4)
    seen = []
    for layer in net.linear_layers:
        layer.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = net(torch.randn(200, 40))
        big = stacked_linear(torch.randn(24, 128, 128), torch.randn(24, 64, 128), None)
        small = stacked_linear(torch.randn(24, 128, 64), torch.randn(24, 4, 64), None)
    assert seen == [torch.float32, torch.bfloat16, torch.float32] and out.dtype == torch.float32
    assert big.dtype == torch.bfloat16 and small.dtype == torch.float32
