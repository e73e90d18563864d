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


class _TinyEncoder(nn.Module):
    """A Hugging Face-shaped encoder: ``embeddings``, ``encoder.layer``, ``config``."""

    def __init__(self):
        super().__init__()
        from types import SimpleNamespace

        self.config = SimpleNamespace(hidden_size=4)
        self.embeddings = nn.Embedding(10, 4)
        self.encoder = nn.Module()
        self.encoder.layer = nn.ModuleList([nn.Linear(4, 4) for _ in range(3)])

    def forward(self, input_ids, attention_mask):
        from types import SimpleNamespace

        states = self.embeddings(input_ids)
        for layer in self.encoder.layer:
            states = torch.tanh(layer(states))
        return SimpleNamespace(last_hidden_state=states)


def _embedder_cases():
    from sktune.nn import CNNModule, FineTuneModule, RNNModule, TextEncoderModule

    ids = torch.randint(1, 10, (5, 6))
    return {
        "mlp": (lambda: MLPModule(4, (8, 3), 2, batch_norm=True), (torch.randn(5, 4),)),
        "mlp-linear": (lambda: MLPModule(4, (), 2), (torch.randn(5, 4),)),
        "cnn-image": (lambda: CNNModule((1, 8, 8), 3, channels=(4,)), (torch.randn(5, 1, 8, 8),)),
        "cnn-signal": (lambda: CNNModule((2, 16), 3, channels=(4,)),
                       (torch.randn(5, 2, 16), torch.tensor([16, 9, 4, 16, 2]))),
        "rnn": (lambda: RNNModule(3, 2, hidden_size=5),
                (torch.randn(5, 7, 3), torch.tensor([7, 3, 1, 7, 5]))),
        "finetune": (lambda: FineTuneModule(nn.Sequential(nn.Linear(4, 6), nn.ReLU()), 6, 2,
                                            hidden_layer_sizes=(3,)), (torch.randn(5, 4),)),
        "text": (lambda: TextEncoderModule(_TinyEncoder(), 2),
                 (ids, torch.ones_like(ids).index_fill_(1, torch.tensor([5]), 0))),
    }


@pytest.mark.parametrize("case", sorted(_embedder_cases()))
def test_every_family_module_is_an_embedder_whose_head_reads_its_embedding(case):
    """The Embedder contract the fine-tuners, the linear probe and the embedder rely on:
    ``forward == head(embed)``, one embedding per sample, a Linear last head layer."""
    from sktune.nn import Embedder

    make, inputs = _embedder_cases()[case]
    torch.manual_seed(0)
    net = make().eval()
    assert isinstance(net, Embedder)
    with torch.no_grad():
        z = net.embed(*inputs)
        assert z.shape[0] == 5 and z.ndim == 2
        torch.testing.assert_close(net.head(z), net(*inputs))
    assert isinstance(net.head[-1], nn.Linear)
    assert not isinstance(nn.Sequential(nn.Linear(4, 2)), Embedder)


def test_the_text_encoder_freezes_bottom_up_as_a_freezable_and_groups_its_rates():
    from sktune.nn import Freezable, LayerwiseLR, TextEncoderModule

    net = TextEncoderModule(_TinyEncoder(), 2)
    assert isinstance(net, Freezable) and isinstance(net, LayerwiseLR)
    encoder = net.encoder
    assert net.blocks == [encoder.embeddings, *encoder.encoder.layer]
    net.freeze(2)  # the embeddings and the first layer
    trainable = {name for name, p in net.named_parameters() if p.requires_grad}
    assert net.frozen_blocks == 2
    assert not any(name.startswith(("encoder.embeddings", "encoder.encoder.layer.0"))
                   for name in trainable)
    assert {"encoder.encoder.layer.1.weight", "head.0.weight"} <= trainable
    net.freeze(0)
    assert all(p.requires_grad for p in net.parameters())
    assert {net.lr_group(name) for name, _ in net.named_parameters()} == {"backbone", "head"}


@pytest.mark.parametrize("link, predict", [
    ("softmax", lambda out: out.softmax(-1)), ("sigmoid", torch.sigmoid),
    ("identity", lambda out: out), ("exp", torch.exp)])
def test_member_ensembles_train_each_member_and_predict_their_mean(link, predict):
    from sktune.nn import MemberEnsemble

    torch.manual_seed(0)
    net = MemberEnsemble([nn.Linear(4, 3) for _ in range(3)], link=link)
    x = torch.randn(5, 4)
    out = net.train()(x)  # one output per member: the engine's loss averages theirs
    assert out.shape == (5, 3, 3)
    torch.testing.assert_close(out[:, 1], net.members[1](x))
    mean = torch.stack([predict(m(x)) for m in net.members]).mean(0)
    torch.testing.assert_close(predict(net.eval()(x)), mean, atol=1e-6, rtol=1e-5)


def test_member_ensembles_refuse_unknown_links_and_give_their_members_features():
    from sktune.nn import CNNModule, MemberEnsemble

    with pytest.raises(ValueError, match="link must be one of"):
        MemberEnsemble([nn.Linear(2, 1)], link="softplus")
    with pytest.raises(ValueError, match="at least one member"):
        MemberEnsemble([])
    torch.manual_seed(0)
    members = [CNNModule((1, 20), 2, channels=(4, 6), kernel_size=3).eval() for _ in range(2)]
    body = MemberEnsemble(members, link="softmax").without_head()
    x = torch.randn(3, 1, 20)
    expected = torch.cat([m.without_head()(x) for m in members], dim=1)
    torch.testing.assert_close(body(x), expected)
