"""CNNClassifier / CNNRegressor: input layouts, augmentation, accuracy on digits."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktune import CNNClassifier, CNNRegressor
from sktune.nn import Augment

SMALL = dict(channels=(8,), hidden_layer_sizes=(16,), max_iter=3, random_state=0, device="cpu")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)


def test_default_cnn_reaches_99_percent_on_digits(digits):
    X_train, X_test, y_train, y_test = digits
    clf = CNNClassifier(input_shape=(8, 8), random_state=0, device="cpu").fit(X_train, y_train)
    assert clf.score(X_test, y_test) >= 0.99


@pytest.mark.parametrize("layout,kwargs,expected", [
    (lambda X: X.reshape(-1, 8, 8), {}, (1, 8, 8)),
    (lambda X: X.reshape(-1, 1, 8, 8), {}, (1, 8, 8)),
    (lambda X: np.repeat(X.reshape(-1, 8, 8, 1), 3, axis=3), {}, (3, 8, 8)),
    (lambda X: X, {"input_shape": (8, 8)}, (1, 8, 8)),
    (lambda X: X, {}, (1, 64)),
    (lambda X: X.reshape(-1, 4, 16), {"conv_dim": 1}, (4, 16)),
])
def test_input_layouts(digits, layout, kwargs, expected):
    X_train, _, y_train, _ = digits
    X = layout(X_train[:200])
    clf = CNNClassifier(**SMALL, **kwargs).fit(X, y_train[:200])
    assert clf.input_shape_ == expected
    assert clf.predict(X[:5]).shape == (5,)


def test_flat_pixels_in_a_pipeline_with_a_scaler(digits):
    X_train, X_test, y_train, y_test = digits
    pipe = make_pipeline(StandardScaler(), CNNClassifier(
        input_shape=(8, 8), max_iter=6, learning_rate_init=0.01, random_state=0,
        device="cpu")).fit(X_train, y_train)
    assert pipe.score(X_test, y_test) > 0.9


def test_shape_errors(digits):
    X_train, _, y_train, _ = digits
    with pytest.raises(ValueError, match=r"input_shape=\(7, 7\) holds 49 values"):
        CNNClassifier(input_shape=(7, 7), **SMALL).fit(X_train, y_train)
    clf = CNNClassifier(**SMALL).fit(X_train.reshape(-1, 8, 8), y_train)
    with pytest.raises(ValueError, match="fitted on"):
        clf.predict(X_train.reshape(-1, 8, 8)[:, :, :4].copy().reshape(-1, 8, 4))
    with pytest.raises(ValueError, match="conv_dim=1 expects"):
        CNNClassifier(conv_dim=1, **SMALL).fit(X_train.reshape(-1, 1, 8, 8), y_train)


def test_augmentation_is_training_only():
    aug = Augment(2, flip=True, shift=2, rotation=15, scale=0.2, noise=0.1)
    x = torch.rand(16, 1, 8, 8)
    aug.train()
    assert not torch.equal(aug(x), x)
    aug.eval()
    assert torch.equal(aug(x), x)
    signal = Augment(1, shift=3, scale=0.1, noise=0.05).train()
    assert signal(torch.rand(4, 2, 30)).shape == (4, 2, 30)
    with pytest.raises(ValueError, match="images, not 1-D signals"):
        Augment(1, rotation=10)


def test_augmented_model_predicts_deterministically(digits):
    X_train, X_test, y_train, _ = digits
    clf = CNNClassifier(input_shape=(8, 8), augment_shift=1, augment_rotation=10,
                        augment_noise=0.1, **SMALL).fit(X_train, y_train)
    assert isinstance(clf.net_.module_.augment, Augment)
    np.testing.assert_array_equal(clf.predict_proba(X_test), clf.predict_proba(X_test))


def test_residual_avg_pooling_and_flatten_head(digits):
    X_train, _, y_train, _ = digits
    clf = CNNClassifier(input_shape=(8, 8), residual=True, pooling="avg", global_pool=False,
                        dropout=0.1, **SMALL).fit(X_train, y_train)
    assert clf.predict(X_train[:3]).shape == (3,)


def test_regressor_on_signals():
    rng = np.random.RandomState(0)
    X = rng.randn(300, 32)
    y = X[:, 10:20].sum(axis=1) / 3
    reg = CNNRegressor(channels=(16,), global_pool=False, max_iter=40, n_iter_no_change=30,
                       batch_size=100, learning_rate_init=0.03, random_state=0,
                       device="cpu").fit(X, y)
    assert reg.score(X, y) > 0.8


def test_grid_search_over_architecture(digits):
    X_train, _, y_train, _ = digits
    grid = GridSearchCV(CNNClassifier(input_shape=(8, 8), **SMALL),
                        {"channels": [(4,), (8, 16)], "kernel_size": [3, 5]}, cv=2,
                        error_score="raise").fit(X_train[:400], y_train[:400])
    assert len(grid.cv_results_["params"]) == 4
    assert grid.best_estimator_.input_shape_ == (1, 8, 8)


# ---- 1-D signals: defaults, variable lengths, masking -----------------------------------


def bump_position_task(n, length, seed, ragged=False):
    """UCR-like: a noisy signal with one bump whose *position* (first, middle or last
    third) is the class; amplitude and width vary, so no single value gives it away."""
    rng = np.random.RandomState(seed)
    X, y = [], rng.randint(3, size=n)
    for label in y:
        size = rng.randint(length // 2, length + 1) if ragged else length
        t = np.arange(size)
        centre = (label + 0.2 + 0.6 * rng.rand()) * size / 3
        width = size / 20 * (0.7 + 0.6 * rng.rand())
        signal = (1 + rng.rand()) * np.exp(-0.5 * ((t - centre) / width) ** 2)
        X.append(signal + 0.2 * rng.randn(size))
    return (X if ragged else np.stack(X)), y


def pattern_task(n, seed):
    """UCR-like: which of four 16-step patterns (sine, square, triangle, chirp) a noisy
    64-step signal holds, anywhere in it."""
    rng = np.random.RandomState(seed)
    t = np.linspace(0, 1, 16)
    patterns = [np.sin(4 * np.pi * t), np.sign(np.sin(2 * np.pi * t)),
                1 - 2 * np.abs(2 * t - 1), np.sin(2 * np.pi * (1 + 3 * t) * t)]
    y = rng.randint(4, size=n)
    X = 0.3 * rng.randn(n, 64)
    for i, c in enumerate(y):
        start = rng.randint(0, 48)
        X[i, start:start + 16] += patterns[c]
    return X, y


def test_signal_defaults_are_the_fcn_recipe_and_learn_shapes():
    X, y = pattern_task(80, 0)
    X_test, y_test = pattern_task(200, 1)
    # 4 epochs on 80 signals: test accuracy 0.98-1.0 over random states 0-4
    clf = CNNClassifier(max_iter=4, random_state=0, device="cpu").fit(X, y)
    assert clf.input_kind_ == "signal" and clf.input_shape_ == (1, 64)
    assert clf.channels_ == (128, 256, 128) and clf.kernel_size_ == (8, 5, 3)
    assert clf.pooling_ is None and clf.hidden_layer_sizes_ == ()
    assert clf.net_.batch_size == 8  # min(n // 10, 16), as the FCN reference
    assert clf.n_ensemble_ == 5  # 80 x 64 values: five averaged copies fit the budget
    assert clf.score(X_test, y_test) > 0.95


def test_image_defaults_are_unchanged(digits):
    X_train, _, y_train, _ = digits
    clf = CNNClassifier(input_shape=(8, 8), max_iter=1, random_state=0,
                        device="cpu").fit(X_train, y_train)
    assert (clf.input_kind_, clf.channels_, clf.kernel_size_, clf.pooling_,
            clf.hidden_layer_sizes_) == ("image", (32, 64), (3, 3), "max", (128,))


def test_ragged_signals_are_masked_so_padding_never_changes_a_prediction():
    X, y = bump_position_task(90, 40, 0, ragged=True)
    X = [np.c_[x, np.gradient(x)] for x in X]  # two channels, lengths 20 to 40
    clf = CNNClassifier(channels=(8, 8), kernel_size=(8, 3), pooling="max", max_iter=3,
                        random_state=0, device="cpu").fit(X, y)
    assert clf.input_shape_ == (2, None) and clf.n_features_in_ == 2
    short = X[int(np.argmin([len(x) for x in X]))]
    alone = clf.predict_proba([short])
    long_batch = clf.predict_proba([short, np.ones((400, 2))])  # 380 steps of padding
    np.testing.assert_allclose(long_batch[:1], alone, rtol=1e-5, atol=1e-6)
    assert clf.predict(np.stack([x[:20] for x in X[:3]])).shape == (3,)  # equal lengths


def test_long_signals_are_read_as_window_means_of_at_most_512_steps():
    """downsample="auto": every step up to 512, then the smallest stride that brings the
    longest training signal under it; the network reads window means (so a 1,460-step
    fit costs what a 487-step one does), ragged signals masked as before."""
    rng = np.random.RandomState(0)
    tiny = dict(channels=(4,), kernel_size=(3,), max_iter=1, random_state=0, device="cpu",
                n_ensemble=1)
    y = np.arange(20) % 2
    assert CNNClassifier(**tiny).fit(rng.randn(20, 512), y).downsample_ == 1
    clf = CNNClassifier(**tiny).fit(rng.randn(20, 1460), y)
    assert clf.downsample_ == 3 and clf.net_.module_.input_stride == 3
    assert CNNClassifier(downsample=1, **tiny).fit(rng.randn(20, 1460), y).downsample_ == 1
    ragged = [rng.randn(2, n) for n in rng.randint(300, 1100, 20)]
    clf = CNNClassifier(**tiny).fit(ragged, y)
    assert clf.downsample_ == -(-max(x.shape[1] for x in ragged) // 512)
    short = ragged[int(np.argmin([x.shape[1] for x in ragged]))]
    alone = clf.predict_proba([short])
    padded = clf.predict_proba([short, np.ones((2, 1500))])
    np.testing.assert_allclose(padded[:1], alone, rtol=1e-5, atol=1e-6)


def test_window_means_keep_a_signals_shape_and_refuse_images(digits):
    """downsample=2 on the pattern task still learns it; images are never shortened."""
    X, y = pattern_task(80, 0)
    X_test, y_test = pattern_task(200, 1)
    clf = CNNClassifier(downsample=2, max_iter=4, random_state=0, device="cpu",
                        n_ensemble=1).fit(X, y)
    assert clf.score(X_test, y_test) > 0.9
    X_train, _, y_train, _ = digits
    with pytest.raises(ValueError, match="downsample=2 shortens 1-D signals"):
        CNNClassifier(input_shape=(8, 8), downsample=2, **SMALL).fit(X_train, y_train)
    assert not hasattr(CNNClassifier(input_shape=(8, 8), downsample=2), "net_")


def test_masked_batch_norm_statistics_ignore_padding():
    from sktune.nn._cnn import MaskedBatchNorm1d

    torch.manual_seed(0)
    x, lengths = torch.randn(3, 2, 10), torch.tensor([10, 4, 7])
    mask = (torch.arange(10)[None, :] < lengths[:, None]).unsqueeze(1)
    padded = x.masked_fill(~mask, 100.0)  # garbage in the padding
    bn = MaskedBatchNorm1d(2, momentum=1.0).train()
    bn(padded, mask)
    valid = torch.cat([x[i, :, :n] for i, n in enumerate(lengths)], dim=1)
    torch.testing.assert_close(bn.running_mean, valid.mean(dim=1))
    torch.testing.assert_close(bn.running_var, valid.var(dim=1))


@pytest.mark.parametrize("params,match", [
    ({"channels": (0,)}, "'channels' parameter of CNNClassifier must be a positive int"),
    ({"channels": ()}, "'channels' parameter of CNNClassifier must be"),
    ({"hidden_layer_sizes": (16, 0)}, "'hidden_layer_sizes' parameter of CNNClassifier"),
    ({"kernel_size": (3, 0)}, "'kernel_size' parameter of CNNClassifier"),
    ({"channels": (8, 8), "kernel_size": (3, 3, 3)}, "gives 3 kernel sizes for 2 blocks"),
])
def test_zero_width_and_mismatched_layers_are_rejected(params, match):
    X, y = bump_position_task(20, 16, 0)
    with pytest.raises(ValueError, match=match):
        CNNClassifier(max_iter=1, device="cpu", **params).fit(X, y)


def test_complex_and_empty_signals_are_rejected():
    X, y = bump_position_task(20, 16, 0, ragged=True)
    with pytest.raises(ValueError, match="sequence 3 holds complex values"):
        CNNClassifier(max_iter=1).fit(X[:3] + [X[3] * 1j] + X[4:], y)
    with pytest.raises(ValueError, match="sequence 1 is empty"):
        CNNClassifier(max_iter=1).fit([X[0], np.zeros(0)] + X[2:], y)
    with pytest.raises(ValueError, match="Complex data not supported"):
        CNNClassifier(max_iter=1).fit(np.ones((20, 16)) * 1j, y)
    with pytest.raises(ValueError, match="0 feature"):
        CNNClassifier(max_iter=1).fit(np.ones((20, 0)), y)
    with pytest.raises(ValueError, match="every axis needs at least one entry"):
        CNNClassifier(conv_dim=1, max_iter=1).fit(np.ones((20, 2, 0)), y)


def test_small_signal_sets_average_copies_within_a_budget():
    """n_ensemble="auto": copies while copies x rows x steps x channels stay within
    100 series of 512 steps (at most 5); one network past it and for images. The
    averaged copies predict the mean of their members' probabilities."""
    rng = np.random.RandomState(0)
    tiny = dict(channels=(4,), kernel_size=(3,), max_iter=2, random_state=0, device="cpu")
    y = np.arange(40) % 3
    small = rng.randn(40, 2, 60).astype(np.float32)
    clf = CNNClassifier(**tiny).fit(small, y)
    assert clf.n_ensemble_ == 5 and len(clf.net_.module_.members) == 5
    module = clf.net_.module_.eval()
    with torch.no_grad():
        x = torch.as_tensor(clf._prepare_X(small[:4], reset=False))
        members = torch.stack([m(x).softmax(-1) for m in module.members]).mean(0)
    np.testing.assert_allclose(clf.predict_proba(small[:4]), members.numpy(), atol=1e-6)
    weights = [m.head[-1].weight for m in module.members]  # initialised apart
    assert not torch.equal(weights[0], weights[1])
    assert CNNClassifier(**tiny).fit(rng.randn(40, 300), y).n_ensemble_ == 4  # 51,200 // 12,000
    assert CNNRegressor(**tiny).fit(rng.randn(120, 512), rng.randn(120)).n_ensemble_ == 1
    assert CNNClassifier(n_ensemble=2, **tiny).fit(small, y).n_ensemble_ == 2
    digits = rng.rand(40, 8, 8)
    assert CNNClassifier(**tiny).fit(digits, y).n_ensemble_ == 1  # images: one network
    with pytest.raises(ValueError, match="n_ensemble"):
        CNNClassifier(n_ensemble=0, **tiny).fit(small, y)


def test_each_averaged_copy_trains_as_it_would_alone():
    """The first copy of n_ensemble=3 starts from the single network's weights (same
    seed), sees the same batches and gets its own loss's gradient: under plain SGD at a
    constant rate it ends where the single network does."""
    rng = np.random.RandomState(0)
    X, y = rng.randn(30, 1, 20).astype(np.float32), np.arange(30) % 3
    params = dict(channels=(4,), kernel_size=(3,), solver="sgd", momentum=0.0,
                  learning_rate="constant", learning_rate_init=0.05, max_iter=4,
                  n_iter_no_change=10, random_state=0, device="cpu")
    alone = CNNClassifier(n_ensemble=1, **params).fit(X, y).net_.module_
    first = CNNClassifier(n_ensemble=3, **params).fit(X, y).net_.module_.members[0]
    for a, b in zip(alone.state_dict().values(), first.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_a_cnn_pickled_before_n_ensemble_existed_reads_as_one_network():
    import pickle

    from sklearn.base import clone

    rng = np.random.RandomState(0)
    X, y = rng.randn(20, 1, 12).astype(np.float32), np.arange(20) % 2
    clf = CNNClassifier(channels=(2,), max_iter=1, n_ensemble=1, device="cpu").fit(X, y)
    del clf.__dict__["n_ensemble"], clf.__dict__["n_ensemble_"]  # as an old pickle holds it
    old = pickle.loads(pickle.dumps(clf))
    assert old.get_params()["n_ensemble"] == 1 and clone(old).n_ensemble == 1
    np.testing.assert_allclose(old.predict_proba(X), clf.predict_proba(X))
    assert CNNClassifier().n_ensemble == "auto"
