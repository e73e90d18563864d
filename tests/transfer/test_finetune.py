"""Fine-tuning: backbones from sktune estimators, modules and weight files; freezing."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from torch import nn

from sktune import (
    CNNClassifier,
    FineTuneClassifier,
    FineTuneRegressor,
    PretrainedEmbedder,
)

# one test process runs the module: its module-scoped fitted models are built once
pytestmark = pytest.mark.xdist_group("finetune")

FAST = dict(learning_rate_init=0.01, random_state=0, device="cpu")
# Tests of the fine-tuned network's own internals (freezing, learning-rate groups, a
# search over them) leave out the member from scratch (tests/transfer/test_scratch.py): on these
# ~900 rows it would only add a 30-epoch fit to each.
ALONE = dict(FAST, ensemble_scratch=False)


@pytest.fixture(scope="module")
def digits_transfer():
    X, y = load_digits(return_X_y=True)
    source = CNNClassifier(input_shape=(8, 8), max_iter=30, random_state=0,
                           device="cpu").fit(X[y < 5], y[y < 5])
    return X[y >= 5], y[y >= 5], source


def _few(y, k, seed):
    rng = np.random.RandomState(seed)
    return np.concatenate([rng.choice(np.flatnonzero(y == c), k, replace=False)
                           for c in np.unique(y)])


def shapes(n, classes, seed, trend=0.0):
    """Signals of 64 steps holding one 16-step pattern (the class) at a random place, in
    noise; ``trend`` adds a random linear drift (another background than the source's)."""
    rng = np.random.RandomState(seed)
    t = np.linspace(0, 1, 16)
    patterns = [np.sin(4 * np.pi * t), np.sign(np.sin(2 * np.pi * t)), 1 - 2 * np.abs(2 * t - 1),
                np.sin(2 * np.pi * (1 + 3 * t) * t), np.exp(-((t - .5) / .1) ** 2),
                -np.exp(-((t - .5) / .1) ** 2)]
    y = rng.choice(classes, n)
    X = 0.3 * rng.randn(n, 64) + trend * rng.randn(n, 1) * np.linspace(-1, 1, 64)
    for i, c in enumerate(y):
        start = rng.randint(0, 48)
        X[i, start:start + 16] += patterns[c]
    return X, y


@pytest.fixture(scope="module")
def shapes_source():
    X, y = shapes(200, [0, 1, 2, 3], 0)
    # per-channel scaling over the training set, not each series on its own (the default
    # for univariate classifiers since issue #20): the target's random linear drift
    # inflates a series' own standard deviation, so per-series scaling shrinks the
    # patterns by a different factor in every series, which the source never saw. Gains
    # of fine-tuning over scratch, (2, 4 shots) x seeds 0-2: "series" 0.171, -0.017,
    # 0.086, 0.204, -0.004, 0.123; "global" 0.168, 0.175, 0.205, 0.169, 0.035, 0.268;
    # None 0.154, 0.175, 0.205, 0.173, 0.042, 0.275.
    # one network (n_ensemble=1; "auto" averages copies on small signal sets): the
    # comparison below is one pretrained network against one network from scratch
    return CNNClassifier(channels=(8, 16), max_iter=15, random_state=0, device="cpu",
                         normalize="global", n_ensemble=1).fit(X, y)


def _gain_over_scratch(source, X, y, few, seed, max_iter, **scratch_params):
    """Accuracy of FineTuneClassifier(source) minus a CNNClassifier from scratch, both
    with their defaults, fitted on rows ``few`` and scored on the others."""
    rest = np.setdiff1d(np.arange(len(y)), few)
    tuned = FineTuneClassifier(source, max_iter=max_iter, random_state=seed,
                               device="cpu").fit(X[few], y[few])
    scratch = CNNClassifier(max_iter=max_iter, random_state=seed, device="cpu",
                            **scratch_params).fit(X[few], y[few])
    return tuned.score(X[rest], y[rest]) - scratch.score(X[rest], y[rest])


def test_fine_tuning_defaults_beat_scratch_on_a_related_task_at_every_shot_count(
        shapes_source):
    """Source: four patterns. Target: two of them and two new ones, over a drifting
    background, from 2 or 4 examples per class. LP-FT with its defaults against the same
    CNN from scratch, on every (shots, seed): the pretrained pattern detectors must help
    every time (digits, where a from-scratch CNN is already strong, are in
    benchmarks/bench_transfer.py)."""
    gains = []
    for shots in (2, 4):
        for seed in (0, 1, 2):
            X, y = shapes(300, [4, 5, 2, 3], 10 + seed, trend=0.5)
            few = np.concatenate([np.flatnonzero(y == c)[:shots] for c in np.unique(y)])
            gains.append(_gain_over_scratch(shapes_source, X, y, few, seed, 100,
                                            channels=(8, 16), normalize="global",
                                            n_ensemble=1))
    assert min(gains) > 0 and np.mean(gains) > 0.05, gains


def test_freezing_policies_and_gradual_unfreezing(digits_transfer):
    X, y, source = digits_transfer
    X, y = X[:200], y[:200]  # the freezing, not the accuracy, is under test
    head_only = FineTuneClassifier(source, freeze="backbone", max_iter=3, **ALONE).fit(X, y)
    before = [p.clone() for p in head_only.net_.module_.backbone.parameters()]
    assert all(not p.requires_grad for p in head_only.net_.module_.backbone.parameters())
    head_only.partial_fit(X, y)
    after = head_only.net_.module_.backbone.parameters()
    assert all(torch.equal(a, b) for a, b in zip(before, after))
    gradual = FineTuneClassifier(source, freeze="backbone", unfreeze_at=(2, 3), max_iter=4,
                                 n_iter_no_change=np.inf, **ALONE).fit(X, y)
    frozen = [row["frozen_blocks"] for row in gradual.history_]
    assert frozen[0] > frozen[1] > frozen[2] and frozen[2] == frozen[3]
    first_k = FineTuneClassifier(source, freeze=1, max_iter=1, **ALONE).fit(X, y)
    assert first_k.net_.module_.frozen_blocks == 1


def test_frozen_batch_norm_keeps_its_statistics(digits_transfer):
    X, y, source = digits_transfer
    clf = FineTuneClassifier(source, freeze="backbone", max_iter=1, **ALONE)
    clf.fit(X[:200], y[:200])
    bn = next(m for m in clf.net_.module_.backbone.modules() if isinstance(m, nn.BatchNorm2d))
    src_bn = next(m for m in source.net_.module_.modules() if isinstance(m, nn.BatchNorm2d))
    torch.testing.assert_close(bn.running_mean, src_bn.running_mean)


def test_discriminative_learning_rates(digits_transfer):
    X, y, source = digits_transfer
    clf = FineTuneClassifier(source, backbone_lr_scale=0.1, max_iter=1, **ALONE)
    clf.fit(X[:100], y[:100])
    lrs = sorted({g["lr"] for g in clf.net_.optimizer_.param_groups})
    np.testing.assert_allclose(lrs, [0.001, 0.01])


@pytest.mark.parametrize("fmt", ["safetensors", "pt"])
def test_module_backbone_with_weights_file(tmp_path, fmt):
    rng = np.random.RandomState(0)
    X, y = rng.randn(120, 6).astype(np.float32), rng.randn(120)
    trunk = nn.Sequential(nn.Linear(6, 16), nn.ReLU())
    path = tmp_path / f"w.{fmt}"
    if fmt == "safetensors":
        from safetensors.torch import save_file

        save_file(trunk.state_dict(), str(path))
    else:
        torch.save(trunk.state_dict(), path)
    fresh = nn.Sequential(nn.Linear(6, 16), nn.ReLU())
    reg = FineTuneRegressor(fresh, weights=str(path), freeze="backbone", max_iter=2,
                            **FAST).fit(X, y)
    torch.testing.assert_close(reg.net_.module_.backbone[0].weight, trunk[0].weight)
    assert reg.transform(X[:4]).shape == (4, 16)


def test_weights_file_with_pickled_code_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"w": torch.zeros(1), "obj": object()}, path)
    with pytest.raises(ValueError, match="does not unpickle: unpickling can run arbitrary"):
        FineTuneRegressor(nn.Linear(2, 2), weights=str(path), max_iter=1).fit(
            np.zeros((4, 2)), np.zeros(4))


def test_frozen_backbone_plus_logistic_regression_pipeline(digits_transfer):
    X, y, source = digits_transfer
    pipe = make_pipeline(PretrainedEmbedder(source), LogisticRegression(max_iter=500))
    assert pipe.fit(X, y).score(X, y) > 0.8


def test_grid_search_over_freezing_and_learning_rate(digits_transfer):
    X, y, source = digits_transfer
    search = GridSearchCV(FineTuneClassifier(source, max_iter=2, ensemble_scratch=False,
                                             random_state=0, device="cpu"),
                          {"freeze": ["backbone", "none"], "learning_rate_init": [1e-3, 1e-2]},
                          cv=2, error_score="raise").fit(X[:150], y[:150])
    assert len(search.cv_results_["params"]) == 4


def test_backbone_errors():
    X, y = np.zeros((4, 2)), np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match="backbone is required"):
        FineTuneClassifier().fit(X, y)
    with pytest.raises(ValueError, match="unfitted sktune estimator"):
        FineTuneClassifier(CNNClassifier()).fit(X, y)
    with pytest.raises(ValueError, match="looks like a weights file"):
        FineTuneClassifier("model.safetensors").fit(X, y)


def test_named_backbone_resolution_through_torchvision(monkeypatch):
    """The named-model path, with a stand-in for torchvision (not installable next to the
    CPU torch wheel here); weights=None, so nothing is downloaded."""
    import types

    calls = []

    class TinyNet(nn.Module):  # shaped like torchvision's classifiers: features, then fc
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
            self.fc = nn.Linear(4, 1000)

        def forward(self, x):
            return self.fc(self.body(x))

    def get_model(name, weights=None):
        calls.append((name, weights))
        return TinyNet()

    models = types.SimpleNamespace(list_models=lambda: ["tinynet"], get_model=get_model)
    monkeypatch.setitem(__import__("sys").modules, "torchvision",
                        types.SimpleNamespace(models=models))
    rng = np.random.RandomState(0)
    X, y = rng.rand(40, 3, 16, 16).astype(np.float32), np.arange(40) % 2
    clf = FineTuneClassifier("tinynet", max_iter=2, input_size=(8, 8),
                             normalize_mean=(0.5, 0.5, 0.5), normalize_std=(0.2, 0.2, 0.2),
                             **FAST).fit(X, y)
    assert calls == [("tinynet", None)]
    assert isinstance(clf.net_.module_.backbone.fc, nn.Identity)
    assert clf.transform(X[:2]).shape == (2, 4)
    with pytest.raises(ValueError, match="not a torchvision model name"):
        FineTuneClassifier("no-such-net", max_iter=1).fit(X, y)


# ---- LP-FT, RNN backbones, validation ---------------------------------------------------


def test_linear_probe_sets_the_head_to_logistic_regression_on_frozen_features(
        digits_transfer):
    """With the backbone frozen and a learning rate too small to move anything, the
    fitted model is exactly the linear probe: scikit-learn's LogisticRegression on the
    backbone's standardised embeddings (without the member from scratch, which would
    average in its own probabilities)."""
    from sklearn.preprocessing import StandardScaler

    X, y, source = digits_transfer
    clf = FineTuneClassifier(source, freeze="backbone", max_iter=1, learning_rate_init=1e-12,
                             ensemble_scratch=False, random_state=0,
                             device="cpu").fit(X[:200], y[:200])
    Z = clf.transform(X[:200])
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(Z, y[:200])
    np.testing.assert_allclose(clf.predict_proba(X[200:300]),
                               probe.predict_proba(clf.transform(X[200:300])), atol=1e-4)
    off = FineTuneClassifier(source, linear_probe=False, freeze="backbone", max_iter=1,
                             learning_rate_init=1e-12, ensemble_scratch=False,
                             random_state=0, device="cpu")
    assert off.fit(X[:200], y[:200]).score(X[:200], y[:200]) < 0.5  # a random head


def test_linear_probe_weighs_classes_once_and_reads_labels(digits_transfer):
    """class_weight keyed on the labels themselves (not on encoded indices) reaches the
    probe once, through the rows' weights: the probe equals LogisticRegression fitted
    with those weights."""
    from sklearn.preprocessing import StandardScaler
    from sklearn.utils.class_weight import compute_sample_weight

    X, y, source = digits_transfer
    weights = {5: 1.0, 6: 4.0, 7: 1.0, 8: 0.5, 9: 2.0}
    clf = FineTuneClassifier(source, freeze="backbone", max_iter=1, learning_rate_init=1e-12,
                             class_weight=weights, ensemble_scratch=False, random_state=0,
                             device="cpu").fit(X[:200], y[:200])
    Z = clf.transform(X[:200])
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(
        Z, y[:200], logisticregression__sample_weight=compute_sample_weight(weights, y[:200]))
    np.testing.assert_allclose(clf.predict_proba(X[200:300]),
                               probe.predict_proba(clf.transform(X[200:300])), atol=1e-4)


def test_cnn_backbone_lends_every_block(digits_transfer):
    X, y, source = digits_transfer
    clf = FineTuneClassifier(source, max_iter=1, **ALONE).fit(X[:50], y[:50])
    assert clf.transform(X[:3]).shape == (3, 4 * sum(source.channels_))  # 2x2 grid, 32 + 64
    assert len(clf.net_.module_.blocks) == len(source.channels_)


def test_averaged_cnn_copies_lend_their_features_side_by_side():
    """A source CNN of averaged copies (n_ensemble) lends each copy's pooled features."""
    rng = np.random.RandomState(0)
    X, y = rng.randn(40, 1, 30).astype(np.float32), np.arange(40) % 2
    source = CNNClassifier(channels=(4,), kernel_size=(3,), n_ensemble=2, max_iter=2,
                           random_state=0, device="cpu").fit(X, y)
    clf = FineTuneClassifier(source, max_iter=2, **ALONE).fit(X, y)
    assert clf.transform(X[:3]).shape == (3, 2 * 4)
    assert PretrainedEmbedder(source).fit(X).transform(X[:3]).shape == (3, 2 * 4)


def _sequence_tasks(seed):
    """Task A: is the first feature's sum positive; task B (few labels): is the second
    feature's sum above the first's. Both read the same per-step quantities."""
    rng = np.random.RandomState(seed)
    X = [rng.randn(rng.randint(5, 20), 2) for _ in range(400)]
    y_a = np.array([int(s[:, 0].sum() > 0) for s in X])
    y_b = np.array([int(s[:, 1].sum() > s[:, 0].sum()) for s in X])
    return X, y_a, y_b


def test_rnn_backbone_fine_tunes_on_ragged_sequences():
    from sktune import RNNClassifier

    X, y_a, y_b = _sequence_tasks(0)
    quick = dict(FAST, learning_rate_init=0.03)  # few, larger batches: 0.89-0.95 on seeds 0-3
    source = RNNClassifier(cell="gru", hidden_size=16, max_iter=10, batch_size=64,
                           **quick).fit(X, y_a)
    clf = FineTuneClassifier(source, max_iter=10, batch_size=25, **quick).fit(X[:100], y_b[:100])
    # the pooled representation: last state, mean and max of 16 units each (the RNNs'
    # default pooling="last_mean_max" since issue #20)
    assert clf.transform(X[:3]).shape == (3, 48)
    assert clf.score(X[300:], y_b[300:]) > 0.8
    assert PretrainedEmbedder(source).fit(X).transform(X[:5]).shape == (5, 48)
    with pytest.raises(ValueError, match="features per time step"):
        clf.predict([np.zeros((4, 3))])


@pytest.mark.parametrize("cls,params,match", [
    (FineTuneClassifier, {"hidden_layer_sizes": (0,)}, "'hidden_layer_sizes' parameter"),
    (FineTuneClassifier, {"hidden_layer_sizes": (8, 0)}, "positive int"),
    (PretrainedEmbedder, {"batch_size": 0}, "'batch_size' parameter of PretrainedEmbedder"),
])
def test_zero_sizes_are_rejected(cls, params, match):
    with pytest.raises(ValueError, match=match):
        cls(nn.Sequential(nn.Linear(2, 4), nn.ReLU()), **params).fit(
            np.zeros((4, 2)), np.array([0, 1, 0, 1]))


def test_pretrained_embedder_resolves_its_device_at_transform(monkeypatch):
    """Fitted where CUDA exists, pickled, loaded where it does not: it still transforms
    (the module is stored on the CPU; the device is resolved at each transform)."""
    import pickle

    import sktune.engine as engine

    rng = np.random.RandomState(0)
    X = rng.randn(10, 3).astype(np.float32)
    emb = PretrainedEmbedder(nn.Sequential(nn.Linear(3, 4), nn.ReLU())).fit(X)
    assert all(p.device.type == "cpu" for p in emb.module_.parameters())
    assert not hasattr(emb, "device_")
    expected = emb.transform(X)
    monkeypatch.setattr(engine, "resolve_device", lambda device: "cpu")
    loaded = pickle.loads(pickle.dumps(emb))
    np.testing.assert_allclose(loaded.transform(X), expected)


# ---- the few-shot recipe: L2-SP, WiSE-FT, shifts, schedule ----------------------------


def test_few_shot_defaults_beat_scratch_on_digits_at_ci_size(digits_transfer):
    """Digits 5-9 from 2 images per class, three draws: the defaults (probe, whole-pixel
    shifts, cosine schedule) against a default CNN from scratch, both at 60 epochs
    (the full-size table over 2/8/32 shots and 5 seeds is benchmarks/bench_transfer.py)."""
    X, y, source = digits_transfer
    gains = []
    for seed in (0, 1, 2):
        gains.append(_gain_over_scratch(source, X, y, _few(y, 2, seed), seed, 60,
                                        input_shape=(8, 8)))
    assert min(gains) > -0.01 and np.mean(gains) > 0.02, gains


def test_default_fit_runs_its_whole_cosine_schedule_without_warning(digits_transfer):
    import warnings

    X, y, source = digits_transfer
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf = FineTuneClassifier(source, max_iter=4, random_state=0, device="cpu").fit(
            X[:40], y[:40])
    assert clf.n_iter_ == 4 and "schedule is complete" in clf.stop_reason_
    assert clf.augment_shift_ == 1  # 8x8 images: one pixel
    assert clf.net_.batch_size == 8
    lrs = [row["lr"] for row in clf.history_]
    assert lrs[0] == pytest.approx(3e-3) and lrs == sorted(lrs, reverse=True)


def test_pixel_shift_moves_whole_pixels_in_training_only():
    from sktune.nn._finetune import PixelShift

    x = torch.rand(64, 2, 5, 7)
    shift = PixelShift(1).train()
    out = shift(x)
    assert out.shape == x.shape
    for a, b in zip(x, out):  # each output is the input moved by at most one pixel
        assert any(torch.equal(torch.roll(torch.nn.functional.pad(a, (1, 1, 1, 1)),
                                          (dy, dx), (1, 2))[:, 1:-1, 1:-1], b)
                   for dy in (-1, 0, 1) for dx in (-1, 0, 1))
    assert shift.eval()(x) is x


def _distance_from_source(clf, source):
    start = dict(source.net_.module_.named_parameters())
    return sum(float((p.detach() - start[name.removeprefix("backbone.")]).square().sum())
               for name, p in clf.net_.module_.named_parameters()
               if name.startswith("backbone.") and p.ndim > 1)


def test_l2_sp_pulls_the_backbone_towards_its_pretrained_weights(digits_transfer):
    X, y, source = digits_transfer
    kwargs = dict(max_iter=5, learning_rate="constant", **ALONE)  # ratio ~3e-4 at 5 epochs
    free = FineTuneClassifier(source, l2_sp=0.0, **kwargs).fit(X[:100], y[:100])
    pulled = FineTuneClassifier(source, l2_sp=50.0, **kwargs).fit(X[:100], y[:100])
    assert _distance_from_source(pulled, source) < 0.5 * _distance_from_source(free, source)


def test_wise_ft_interpolates_between_the_probe_and_the_fine_tuned_network(digits_transfer):
    """wise_ft=0 ends where fine-tuning began (the linear probe on the source's network,
    batch-norm statistics included); 1 keeps the fine-tuned weights; 0.5 the midpoint."""
    X, y, source = digits_transfer
    kwargs = dict(max_iter=5, **ALONE)
    probe = FineTuneClassifier(source, freeze="backbone", max_iter=1, learning_rate_init=1e-12,
                               ensemble_scratch=False, random_state=0,
                               device="cpu").fit(X[:100], y[:100])
    start = FineTuneClassifier(source, wise_ft=0.0, **kwargs).fit(X[:100], y[:100])
    np.testing.assert_allclose(start.predict_proba(X[100:200]),
                               probe.predict_proba(X[100:200]), atol=1e-5)
    end = FineTuneClassifier(source, wise_ft=1.0, **kwargs).fit(X[:100], y[:100])
    half = FineTuneClassifier(source, wise_ft=0.5, **kwargs).fit(X[:100], y[:100])
    a, b, m = (dict(c.net_.module_.state_dict()) for c in (start, end, half))
    assert not torch.equal(a["head.0.weight"], b["head.0.weight"])
    for key, value in m.items():
        if value.is_floating_point():
            torch.testing.assert_close(value, (a[key] + b[key]) / 2)


def test_shifts_apply_to_images_only(digits_transfer, shapes_source):
    from sktune.nn._finetune import PixelShift

    X, y, source = digits_transfer
    clf = FineTuneClassifier(source, max_iter=2, **ALONE).fit(X[:50], y[:50])
    assert isinstance(clf.net_.module_.augment, PixelShift)
    np.testing.assert_array_equal(clf.transform(X[:20]), clf.transform(X[:20]))
    none = FineTuneClassifier(source, augment_shift=0, max_iter=2, **ALONE).fit(X[:50], y[:50])
    assert none.augment_shift_ == 0 and not isinstance(none.net_.module_.augment, PixelShift)
    signals, labels = shapes(40, [0, 1], 0)
    on_signals = FineTuneClassifier(shapes_source, augment_shift=2, max_iter=2,
                                    **ALONE).fit(signals, labels)
    assert on_signals.augment_shift_ == 0
    assert not isinstance(on_signals.net_.module_.augment, PixelShift)
