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
        input_shape=(8, 8), max_iter=10, learning_rate_init=0.01, random_state=0,
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
    reg = CNNRegressor(channels=(16,), global_pool=False, max_iter=150, n_iter_no_change=30,
                       learning_rate_init=0.01, random_state=0, device="cpu").fit(X, y)
    assert reg.score(X, y) > 0.8


def test_grid_search_over_architecture(digits):
    X_train, _, y_train, _ = digits
    grid = GridSearchCV(CNNClassifier(input_shape=(8, 8), **SMALL),
                        {"channels": [(4,), (8, 16)], "kernel_size": [3, 5]}, cv=2,
                        error_score="raise").fit(X_train[:400], y_train[:400])
    assert len(grid.cv_results_["params"]) == 4
    assert grid.best_estimator_.input_shape_ == (1, 8, 8)
