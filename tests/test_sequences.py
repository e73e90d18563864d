"""The one input rule for sequences (sktune/_sequences.py, docs/cnn_rnn.md): aeon's
layouts in every sequence family, the warnings of ambiguous shapes, scale-free inputs
and targets, memory of early events, and padding that changes no prediction."""

import warnings

import numpy as np
import pytest

from sktune import (
    CNNClassifier,
    CNNRegressor,
    FineTuneClassifier,
    InputLayoutWarning,
    RNNClassifier,
    RNNRegressor,
)

TINY = {CNNClassifier: dict(channels=(8,), kernel_size=3),
        CNNRegressor: dict(channels=(8,), kernel_size=3),
        RNNClassifier: dict(hidden_size=8), RNNRegressor: dict(hidden_size=8)}
COMMON = dict(max_iter=2, random_state=0, device="cpu")


def aeon_collection(n=30, channels=3, seed=0, ragged=False):
    """Series as aeon holds them: ``(n, C, T)``, or a list of ``(C, T_i)``; the class
    is the sign of channel 0's first steps."""
    rng = np.random.RandomState(seed)
    X = [rng.randn(channels, rng.randint(12, 30) if ragged else 24) for _ in range(n)]
    y = np.array([int(x[0, :4].sum() > 0) for x in X])
    return (X if ragged else np.stack(X)), y


@pytest.mark.parametrize("ragged", [False, True], ids=["array", "list"])
@pytest.mark.parametrize("cls", list(TINY), ids=lambda c: c.__name__)
def test_aeon_layouts_are_channels_by_steps_in_every_family(cls, ragged):
    X, y = aeon_collection(ragged=ragged)
    target = y if cls in (CNNClassifier, RNNClassifier) else y * 10.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", InputLayoutWarning)  # C < T: nothing to warn
        est = cls(**TINY[cls], **COMMON).fit(X, target)
    assert est.channels_last_ is False and est.n_features_in_ == 3
    if cls in (CNNClassifier, CNNRegressor):
        assert est.input_kind_ == "signal" and est.input_shape_[0] == 3
    else:
        assert est.n_step_features_ == 3
    assert est.predict(X[:4]).shape == (4,)
    # the same series as (T_i, C): a list is read along the axis that varies; an
    # array needs channels_last=True
    transposed = [x.T for x in X] if ragged else np.ascontiguousarray(X.transpose(0, 2, 1))
    params = {} if ragged else {"channels_last": True}
    other = cls(**TINY[cls], **COMMON, **params).fit(transposed, target)
    assert other.channels_last_ is True
    np.testing.assert_allclose(other.predict(transposed[:4]), est.predict(X[:4]),
                               rtol=1e-4, atol=1e-5)


def test_a_fine_tuner_reads_through_its_sequence_backbone():
    X, y = aeon_collection(n=40, ragged=True)
    source = RNNClassifier(**TINY[RNNClassifier], **COMMON).fit(X, y)
    tuned = FineTuneClassifier(backbone=source, max_iter=2, random_state=0,
                               device="cpu").fit(X, y)
    assert tuned.predict(X[:3]).shape == (3,)
    cnn = CNNClassifier(**TINY[CNNClassifier], **COMMON).fit(np.stack(
        aeon_collection(n=40)[0]), y)
    tuned = FineTuneClassifier(backbone=cnn, max_iter=2, random_state=0,
                               device="cpu").fit(aeon_collection(n=40)[0], y)
    assert tuned.predict(aeon_collection(n=3)[0]).shape == (3,)


@pytest.mark.parametrize("cls", [CNNClassifier, RNNClassifier], ids=lambda c: c.__name__)
def test_ambiguous_shapes_warn_naming_the_parameter(cls):
    rng = np.random.RandomState(0)
    X, y = rng.randn(20, 30, 3), np.arange(20) % 2  # 30 "channels" of 3 steps?
    with pytest.warns(InputLayoutWarning, match="channels_last=True"):
        est = cls(**TINY[cls], **COMMON).fit(X, y)
    assert est.channels_last_ is False  # aeon's reading, as announced
    with warnings.catch_warnings():
        warnings.simplefilter("error", InputLayoutWarning)
        assert cls(**TINY[cls], **COMMON, channels_last=True).fit(X, y).channels_last_
        cls(**TINY[cls], **COMMON, channels_last=False).fit(X, y)
        est.predict(X)  # decided at fit: no warning at prediction
    equal = [rng.randn(6, 4) for _ in range(20)]  # a list of equal shapes, C >= T
    with pytest.warns(InputLayoutWarning, match="channels_last"):
        cls(**TINY[cls], **COMMON).fit(equal, y)


def test_cnn_images_stay_images_and_near_square_shapes_warn():
    rng = np.random.RandomState(0)
    y = np.arange(20) % 2
    with warnings.catch_warnings():
        warnings.simplefilter("error", InputLayoutWarning)
        for side in (8, 28):  # digits, MNIST
            est = CNNClassifier(**TINY[CNNClassifier], **COMMON).fit(
                rng.rand(20, side, side), y)
            assert est.input_kind_ == "image" and est.normalize_ is None
    with pytest.warns(InputLayoutWarning, match="conv_dim=2"):
        est = CNNClassifier(**TINY[CNNClassifier], **COMMON).fit(rng.rand(20, 20, 30), y)
    assert est.input_kind_ == "signal" and est.input_shape_ == (20, 30)
    est = CNNClassifier(**TINY[CNNClassifier], **COMMON, conv_dim=2).fit(
        rng.rand(20, 20, 30), y)
    assert est.input_kind_ == "image" and est.input_shape_ == (1, 20, 30)


@pytest.mark.parametrize("cls", [CNNClassifier, RNNClassifier], ids=lambda c: c.__name__)
def test_sktime_nested_frames_are_lists_of_channels_by_steps(cls):
    pd = pytest.importorskip("pandas")
    X, y = aeon_collection(n=20, ragged=True)
    frame = pd.DataFrame([[pd.Series(ch) for ch in x] for x in X],
                         columns=["a", "b", "c"])
    est = cls(**TINY[cls], **COMMON).fit(frame, y)
    assert est.channels_last_ is False and est.n_features_in_ == 3
    np.testing.assert_allclose(est.predict_proba(frame.iloc[:4]), est.predict_proba(X[:4]),
                               rtol=1e-6)
    bad = frame.copy()
    bad.iloc[2, 1] = pd.Series(np.zeros(3))
    with pytest.raises(ValueError, match="case 2 of the nested DataFrame"):
        cls(**TINY[cls], **COMMON).fit(bad, y)


def test_list_entries_must_share_the_channel_count():
    rng = np.random.RandomState(0)
    X = [rng.randn(3, rng.randint(10, 20)) for _ in range(10)]
    X[4] = rng.randn(2, 15)
    with pytest.raises(ValueError, match="sequence 0 has 3, sequence 4 has 2"):
        RNNClassifier(**COMMON).fit(X, np.arange(10) % 2)
    est = RNNClassifier(**TINY[RNNClassifier], **COMMON).fit(X[:4], [0, 1, 0, 1])
    with pytest.raises(ValueError, match="2 features per time step, but .* fitted with 3"):
        est.predict([rng.randn(2, 15)])


# ---- scale ---------------------------------------------------------------------------


def shapes_task(n, seed, length=40):
    """The class is which of two shapes (a sine period or a square pulse) sits in the
    series; each series has its own offset and amplitude, as raw recordings do."""
    rng = np.random.RandomState(seed)
    t = np.linspace(0, 1, 12)
    shapes = [np.sin(2 * np.pi * t), np.where(t < 0.5, 1.0, -1.0)]
    y = rng.randint(2, size=n)
    X = 0.2 * rng.randn(n, length)
    for i, c in enumerate(y):
        start = rng.randint(0, length - 12)
        X[i, start:start + 12] += shapes[c]
    X = X * rng.uniform(0.5, 3, size=(n, 1)) + rng.uniform(-5, 5, size=(n, 1))
    return X, y


@pytest.mark.parametrize("cls", [CNNClassifier, RNNClassifier], ids=lambda c: c.__name__)
def test_units_change_no_prediction(cls):
    X, y = shapes_task(60, 0)
    X_test, _ = shapes_task(20, 1)
    est = cls(**TINY[cls], **COMMON).fit(X, y)
    assert est.normalize_ == "series"
    big = cls(**TINY[cls], **COMMON).fit(X * 1e4, y)
    np.testing.assert_allclose(big.predict_proba(X_test * 1e4), est.predict_proba(X_test),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(est.predict_proba(X_test * 1e4 - 3e5),
                               est.predict_proba(X_test), rtol=1e-4, atol=1e-5)


def test_constant_series_and_padding_are_normalised_safely():
    from sktune._sequences import normalize_series

    class Holder:
        normalize_ = "series"

    X = np.zeros((2, 5, 1), dtype=np.float32)
    X[0, :, 0] = 7.0  # constant: centred, not divided
    X[1, :3, 0] = [1.0, 2.0, 3.0]
    X[1, 3:, 0] = 99.0  # beyond its length: padding
    out = normalize_series(Holder(), X, np.array([5, 3]), reset=True)
    np.testing.assert_allclose(out[0, :, 0], 0.0)
    np.testing.assert_allclose(out[1, :3, 0], np.array([-1.0, 0.0, 1.0]) / np.sqrt(2 / 3),
                               rtol=1e-6)
    np.testing.assert_array_equal(out[1, 3:, 0], 0.0)


@pytest.mark.parametrize("cls", [CNNRegressor, RNNRegressor], ids=lambda c: c.__name__)
def test_regressors_beat_the_mean_on_a_target_in_large_units(cls):
    rng = np.random.RandomState(0)
    X = rng.randn(160, 2, 24) * 300 + 2000  # raw units far from 1
    y = 5e4 + 1e4 * np.tanh((X[:, 0].mean(axis=1) - 2000) / 60)  # level of channel 0
    train, test = slice(0, 120), slice(120, None)
    # RMSE / baseline 0.34-0.38 (CNN) and 0.26-0.29 (RNN) at random_state 0-2; without
    # the target's scaling ~8, without the inputs' (normalize=None) 0.97-1.96
    est = cls(**TINY[cls], max_iter=15, batch_size=30, learning_rate_init=0.01,
              random_state=0, device="cpu").fit(X[train], y[train])
    assert est.normalize_ == "global" and est._target_moments_ is not None
    rmse = np.sqrt(np.mean((est.predict(X[test]) - y[test]) ** 2))
    baseline = np.sqrt(np.mean((y[train].mean() - y[test]) ** 2))
    assert rmse < 0.7 * baseline
    unscaled = cls(**TINY[cls], max_iter=1, scale_target=False, random_state=0,
                   device="cpu").fit(X[train], y[train])
    assert unscaled._target_moments_ is None


# ---- memory and padding ----------------------------------------------------------------


def early_pulse(n, length, seed, first):
    """The label is the sign of one short pulse within the first ``first`` steps of
    ``length`` noisy steps: a model must carry it through everything that follows."""
    rng = np.random.RandomState(seed)
    y = rng.randint(2, size=n)
    t = np.arange(length)
    X = rng.randn(n, length)
    for i, c in enumerate(y):
        X[i] += (2 * c - 1) * 3 * np.exp(-0.5 * ((t - rng.randint(3, first - 3)) / 2) ** 2)
    return X, y


def test_default_rnn_remembers_an_early_pulse():
    """The issue's task (512 steps, pulse in the first 50) at CI size: 192 steps, pulse
    in the first 20. The defaults (the convolutional front-end) get there in 6 epochs
    (0.99-1.0 on seeds 0-3, as in 10). At this length the front-end (past 128 steps)
    already shortens the path enough that ``pooling="last"`` also reached 0.89-0.99
    (with the strided front-end), so this locks in the defaults' result, not the
    pooling's share of it: the 512-step task, where the last state alone is at chance,
    is ``benchmarks/bench_signals.py``'s."""
    X, y = early_pulse(160, 192, 0, 20)
    X_test, y_test = early_pulse(200, 192, 1, 20)
    clf = RNNClassifier(random_state=0, device="cpu", max_iter=6).fit(X, y)
    assert clf.score(X_test, y_test) >= 0.95


@pytest.mark.parametrize("cls", [CNNClassifier, RNNClassifier], ids=lambda c: c.__name__)
def test_padding_changes_no_prediction(cls):
    X, y = aeon_collection(n=30, ragged=True)
    est = cls(**TINY[cls], **COMMON).fit(X, y)
    short = X[int(np.argmin([x.shape[1] for x in X]))]
    alone = est.predict_proba([short])
    padded = est.predict_proba([short, np.ones((3, 300))])  # pads `short` by ~290 steps
    np.testing.assert_allclose(padded[:1], alone, rtol=1e-5, atol=1e-6)
