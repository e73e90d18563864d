"""RNNClassifier / RNNRegressor: order, variable lengths, token ids, sklearn searches."""

import numpy as np
import pytest
from scipy.stats import randint
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, cross_val_score

from sktune import RNNClassifier, RNNRegressor
from sktune._rnn import LONG_SEQUENCE
from sktune.nn import ConvFrontEnd, StridedFrontEnd

FAST = dict(hidden_size=16, learning_rate_init=0.01, random_state=0, device="cpu")


def order_task(n, seed):
    """Two events A and B in noise; the label is whether A comes first.

    Both events occur in every sequence, so counts, sums and any order-blind summary
    carry no information; only the order does.
    """
    rng = np.random.RandomState(seed)
    X, y = [], []
    for _ in range(n):
        steps = rng.randint(5, 20)
        seq = np.zeros((steps, 3))
        seq[:, 2] = 0.1 * rng.randn(steps)
        a, b = rng.choice(steps, 2, replace=False)
        seq[a, 0], seq[b, 1] = 1, 1
        X.append(seq)
        y.append(int(a < b))
    return X, np.array(y)


@pytest.fixture(scope="module")
def order_data():
    return order_task(500, 0), order_task(200, 1)


def test_order_matters_and_an_order_blind_model_fails(order_data):
    (X, y), (X_test, y_test) = order_data
    rnn = RNNClassifier(cell="gru", max_iter=10, batch_size=64,
                        **dict(FAST, learning_rate_init=0.03)).fit(X, y)
    assert rnn.score(X_test, y_test) > 0.9
    summary = lambda seqs: np.array([np.r_[s.sum(0), s.mean(0), len(s)] for s in seqs])  # noqa
    blind = LogisticRegression().fit(summary(X), y)
    assert blind.score(summary(X_test), y_test) < 0.65


# every cell and every pooling once; the poolings read the per-step outputs alike for
# all cells, and only the final state differs by cell (LSTM: an (h, c) tuple), so "last"
# runs with the LSTM and with a cell whose state is a tensor
@pytest.mark.parametrize("cell,pooling", [("lstm", "last"), ("gru", "last"), ("rnn", "mean"),
                                          ("lstm", "max"), ("gru", "attention")])
def test_cells_and_poolings_train_on_ragged_input(order_data, cell, pooling):
    (X, y), _ = order_data
    clf = RNNClassifier(cell=cell, pooling=pooling, max_iter=2, **FAST).fit(X[:100], y[:100])
    assert clf.predict(X[:7]).shape == (7,)
    assert clf.n_step_features_ == 3 == clf.n_features_in_


def test_last_step_of_long_sequences_is_read_not_truncated():
    """Sequences longer than LONG_SEQUENCE (where "auto" would put a strided front-end),
    with downsample=1, ragged among 3-step ones: the recurrence reads every step to the
    last, whose sign is the label. Batches of 30: a step of the recurrence over 130
    steps costs about as much for 30 sequences as for 6, so fewer, larger batches."""
    rng = np.random.RandomState(0)
    steps = LONG_SEQUENCE + 2
    X = [rng.randn(rng.choice([3, steps]), 1) for _ in range(60)]
    y = np.array([int(s[-1, 0] > 0) for s in X])
    clf = RNNClassifier(cell="gru", downsample=1, frontend="strided", max_iter=20,
                        batch_size=30, **dict(FAST, learning_rate_init=0.03)).fit(X, y)
    assert clf.downsample_ == 1 and clf.net_.module_.frontend is None
    long = [i for i, s in enumerate(X) if len(s) == steps]
    assert clf.score([X[i] for i in long], y[long]) > 0.9


def test_bidirectional_stacked_and_3d_input():
    """The old (n, T, F) layout through channels_last=True (3-D X is (n, C, T) by
    default since the one input rule of docs/cnn_rnn.md)."""
    rng = np.random.RandomState(0)
    X = rng.randn(120, 10, 2)
    y = (X[:, 0, 0] > 0).astype(int)  # the first step: easy when reading backwards
    clf = RNNClassifier(bidirectional=True, num_layers=2, dropout=0.1, batch_norm=True,
                        hidden_layer_sizes=(8,), max_iter=20, batch_size=40,
                        channels_last=True, normalize=None,
                        **dict(FAST, learning_rate_init=0.03)).fit(X, y)
    assert clf.score(X, y) > 0.9
    assert clf.n_step_features_ == 2 and clf.channels_last_
    assert clf.predict(rng.randn(5, 25, 2)).shape == (5,)  # other lengths at predict


def test_forecast_the_next_value():
    t = np.arange(400) / 6
    series = np.sin(t) + 0.5 * np.sin(t / 3)
    X = np.stack([series[i:i + 20] for i in range(360)])
    y = series[20:380]
    reg = RNNRegressor(cell="lstm", max_iter=20, batch_size=60,
                       **dict(FAST, learning_rate_init=0.03)).fit(X[:300], y[:300])
    assert reg.score(X[300:], y[300:]) > 0.9


def test_token_ids_with_embedding_and_unknown_ids():
    rng = np.random.RandomState(0)
    X = rng.randint(1, 30, size=(200, 12))
    X[:, 8:] = 0  # trailing padding
    y = (X[:, 0] > 15).astype(int)
    clf = RNNClassifier(embedding_dim=8, pooling="mean", max_iter=30, **FAST).fit(X, y)
    assert clf.vocab_size_ == 31 and clf.input_kind_ == "tokens"
    assert clf.score(X, y) > 0.85
    unseen = X[:5].copy()
    unseen[:, 1] = 500  # larger than any id seen in fit: the unknown-token embedding
    assert clf.predict(unseen).shape == (5,)
    with pytest.raises(ValueError, match="non-negative integers"):
        clf.predict(-X[:5])


def test_ragged_sequences_through_cross_validation_and_searches(order_data):
    (X, y), _ = order_data
    X, y = X[:60], y[:60]
    est = RNNClassifier(cell="gru", max_iter=2, batch_size=20, **FAST)
    assert len(cross_val_score(est, X, y, cv=3, error_score="raise")) == 3
    GridSearchCV(est, {"pooling": ["last", "mean"]}, cv=2, error_score="raise").fit(X, y)
    RandomizedSearchCV(est, {"hidden_size": randint(4, 16)}, n_iter=2, cv=2,
                       error_score="raise", random_state=0).fit(np.array(X, dtype=object), y)


def test_ragged_input_errors(order_data):
    (X, y), _ = order_data
    bad = list(X[:10])
    bad[4] = np.zeros((6, 2))
    with pytest.raises(ValueError, match="sequence 0 has 3, sequence 4 has 2"):
        RNNClassifier(**FAST).fit(bad, y[:10])
    empty = list(X[:10])
    empty[2] = np.zeros((0, 3))
    with pytest.raises(ValueError, match="sequence 2 is empty"):
        RNNClassifier(**FAST).fit(empty, y[:10])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        RNNClassifier(**FAST).fit(X[:10], y[:9])
    clf = RNNClassifier(max_iter=1, **FAST).fit(X[:20], y[:20])
    with pytest.raises(ValueError,
                       match="5 features per time step, but RNNClassifier was fitted with 3"):
        clf.predict([np.zeros((4, 5))])


@pytest.mark.parametrize("frontend,module", [("strided", StridedFrontEnd),
                                             ("auto", ConvFrontEnd)])
def test_long_sequences_get_a_front_end_that_shortens_them_and_learn(frontend, module):
    """Hundreds of steps (the UCR ArrowHead / OSULeaf regime): "auto" shortens them to at
    most 64 steps (a strided convolution, or max pooling after the convolutional
    front-end's blocks), so the recurrence trains quickly and sees the whole sequence;
    the class is where a bump sits in 300 noisy steps."""
    rng = np.random.RandomState(0)

    def bumps(n):
        y = rng.randint(2, size=n)
        t = np.arange(300)
        X = np.stack([np.exp(-0.5 * ((t - (60 + 180 * c + rng.randint(-30, 30))) / 8) ** 2)
                      for c in y]) + 0.3 * rng.randn(n, 300)
        return X, y

    (X, y), (X_test, y_test) = bumps(100), bumps(100)
    clf = RNNClassifier(cell="gru", frontend=frontend, max_iter=20, batch_size=50,
                        **dict(FAST, learning_rate_init=0.03)).fit(X, y)
    assert clf.downsample_ == 5 and isinstance(clf.net_.module_.frontend, module)
    assert clf.frontend_ == {"auto": "conv"}.get(frontend, frontend)
    assert clf.score(X_test, y_test) > 0.9
    assert RNNClassifier(max_iter=1, **FAST).fit(X[:, :100], y).downsample_ == 1


@pytest.mark.parametrize("frontend", ["strided", "conv"])
def test_front_end_keeps_ragged_sequences_independent_of_padding(frontend):
    """Padded steps never reach the front-end's convolutions, batch-norm statistics or
    pooling: a sequence is read as if it were alone."""
    rng = np.random.RandomState(0)
    X = [rng.randn(rng.randint(150, 300), 2) for _ in range(30)]
    y = np.arange(30) % 2
    clf = RNNClassifier(cell="gru", frontend=frontend, max_iter=1, **FAST).fit(X, y)
    assert clf.downsample_ == 5
    alone = clf.predict_proba([X[0][:151]])
    padded = clf.predict_proba([X[0][:151], np.ones((299, 2))])
    np.testing.assert_allclose(padded[:1], alone, rtol=1e-5, atol=1e-6)


def test_regressors_keep_the_strided_front_end():
    """Targets that follow a series' level: batch-normalised convolution features blur
    it, so "auto" is "strided" for regressors (bench: RMSE 414 against 3,142)."""
    rng = np.random.RandomState(0)
    X = rng.randn(30, 2, 200)
    reg = RNNRegressor(max_iter=1, **FAST).fit(X, X[:, 0].mean(1))
    assert reg.frontend_ == "strided" and isinstance(reg.net_.module_.frontend,
                                                     StridedFrontEnd)
    reg = RNNRegressor(frontend="conv", max_iter=1, **FAST).fit(X, X[:, 0].mean(1))
    assert isinstance(reg.net_.module_.frontend, ConvFrontEnd)


def test_token_ids_keep_the_strided_front_end():
    """Text: the embedding is the front-end; "auto" puts no convolution blocks on it."""
    from sktune._text import TokenIds

    rng = np.random.RandomState(0)
    X, y = TokenIds(rng.randint(1, 20, size=(30, 12))), np.arange(30) % 2
    clf = RNNClassifier(max_iter=1, **FAST).fit(X, y)
    assert clf.frontend_ == "strided" and clf.net_.module_.frontend is None


@pytest.mark.parametrize("params,match", [
    ({"hidden_layer_sizes": (0,)}, "'hidden_layer_sizes' parameter of RNNClassifier must"),
    ({"hidden_size": 0}, "'hidden_size' parameter of RNNClassifier must"),
    ({"downsample": 0}, "'downsample' parameter of RNNClassifier must"),
    ({"frontend": "fcn"}, "'frontend' parameter of RNNClassifier must"),
    ({"embedding_dim": 0}, "'embedding_dim' parameter of RNNClassifier must"),
])
def test_zero_width_layers_are_rejected(order_data, params, match):
    (X, y), _ = order_data
    with pytest.raises(ValueError, match=match):
        RNNClassifier(max_iter=1, **params).fit(X[:10], y[:10])


def test_complex_and_empty_sequences_are_rejected(order_data):
    (X, y), _ = order_data
    X, y = list(X[:10]), y[:10]
    with pytest.raises(ValueError, match="sequence 2 holds complex values"):
        RNNClassifier(max_iter=1).fit(X[:2] + [X[2] + 1j] + X[3:], y)
    with pytest.raises(ValueError, match="time step"):
        RNNClassifier(max_iter=1).fit(np.zeros((10, 0, 3)), y)
    with pytest.raises(ValueError, match="0 feature"):
        RNNClassifier(max_iter=1).fit(np.zeros((10, 0)), y)
    with pytest.raises(ValueError, match="0 features per step"):  # 0 channels, 4 steps
        RNNClassifier(max_iter=1).fit([np.zeros((0, 4))] * 10, y)
    with pytest.raises(ValueError, match="sequence 0 is empty"):  # 4 channels, 0 steps
        RNNClassifier(max_iter=1).fit([np.zeros((4, 0))] * 10, y)


@pytest.mark.parametrize("when", ["fit", "predict"])
def test_four_dimensional_input_says_what_shapes_a_recurrent_network_reads(when):
    """Was scikit-learn's "Found array with dim 4, while dim <= 2 is required", though
    (n, T, F) sequences are read."""
    X4 = np.zeros((6, 2, 3, 4), dtype=np.float32)
    y = np.array([0, 1] * 3)
    est = RNNClassifier(hidden_size=2, max_iter=1, random_state=0)
    if when == "predict":
        est.fit(X4[:, :, :, 0], y)
    with pytest.raises(ValueError, match=r"\(n, T\) or \(n, C, T\).*4-D"):
        est.fit(X4, y) if when == "fit" else est.predict(X4)
