"""Convolutional networks for images (n, H, W[, C]) and signals (n, L) / (n, C, L)."""

from numbers import Integral, Real

import numpy as np
from sktune._compat import Interval, StrOptions

from sktune._docs import CLASS_WEIGHT, FITTED_ATTRIBUTES, TRAINING_PARAMETERS
from sktune._supervised import NeuralClassifierBase, NeuralRegressorBase
from sktune.nn import ACTIVATIONS, Augment, CNNModule

_CNN_DOC = """\
    channels : tuple of int, default=(32, 64)
        Output channels of each convolution block; each block halves the map (pooling)
        while it is at least 2 wide.
    kernel_size : int, default=3
        Convolution kernel size (same padding).
    pooling : {"max", "avg"} or None, default="max"
        Pooling after each block.
    batch_norm : bool, default=True
        Batch normalisation after each convolution.
    dropout : float, default=0.0
        Dropout after each block and in the head.
    activation : str, default="relu"
        As for :class:`MLPClassifier`.
    global_pool : bool, default=True
        Global average pooling before the head; False flattens the last feature map.
    hidden_layer_sizes : tuple of int, default=(128,)
        Dense head between the convolutions and the output layer.
    residual : bool, default=False
        Residual blocks: two convolutions around a skip connection.
    input_shape : tuple of int or None, default=None
        Shape of one sample when X is flat 2-D, e.g. ``(8, 8)`` or ``(3, 32, 32)``;
        rows are reshaped to it, so a ``StandardScaler`` can precede the CNN in a
        Pipeline. Without it, 2-D X is a batch of 1-D signals ``(n, L)``.
    conv_dim : {"auto", 1, 2}, default="auto"
        1 reads 3-D X as signals ``(n, C, L)``; 2 or "auto" as images ``(n, H, W)``.
        4-D X is always images.
    channels_last : {"auto", True, False}, default="auto"
        Whether 4-D images are ``(n, H, W, C)``; "auto" decides so when the last axis
        has 1, 3 or 4 entries and the second does not.
    augment_flip : bool, default=False
        Random horizontal flips (images).
    augment_shift : float, default=0.0
        Random translations of up to this many pixels / time steps.
    augment_rotation : float, default=0.0
        Random rotations of up to this many degrees (images).
    augment_scale : float, default=0.0
        Random amplitude scaling by a factor in ``[1 - s, 1 + s]``.
    augment_noise : float, default=0.0
        Additive Gaussian noise of this standard deviation.
    embedding_dim : int or None, default=None
        A text CNN: X is ``(n, T)`` non-negative integer token ids (0 = padding, as
        :class:`TextSequencer` produces), embedded into this many channels and
        convolved along the sequence. The vocabulary size is learned from the data;
        larger ids at prediction share one unknown-token embedding.

    Augmentations apply during training only, never to validation or prediction.
"""

_CNN_CONSTRAINTS = {
    "channels": ["array-like", Interval(Integral, 1, None, closed="left")],
    "kernel_size": [Interval(Integral, 1, None, closed="left")],
    "pooling": [StrOptions({"max", "avg"}), None],
    "batch_norm": ["boolean"],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "activation": [StrOptions(set(ACTIVATIONS))],
    "global_pool": ["boolean"],
    "hidden_layer_sizes": ["array-like"],
    "residual": ["boolean"],
    "input_shape": ["array-like", None],
    "conv_dim": [StrOptions({"auto"}), Interval(Integral, 1, 2, closed="both")],
    "channels_last": [StrOptions({"auto"}), "boolean"],
    "augment_flip": ["boolean"],
    "augment_shift": [Interval(Real, 0, None, closed="left")],
    "augment_rotation": [Interval(Real, 0, 180, closed="both")],
    "augment_scale": [Interval(Real, 0, 1, closed="left")],
    "augment_noise": [Interval(Real, 0, None, closed="left")],
    "embedding_dim": [Interval(Integral, 1, None, closed="left"), None],
}


def _as_tuple(value):
    return (int(value),) if np.isscalar(value) else tuple(int(v) for v in value)


class _CNNMixin:
    """How a CNN reads its input and is built from it; shared by classifier and regressor."""

    _X_checks = {"dtype": np.float32, "allow_nd": True}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags

    def _prepare_X(self, X, *, reset):
        """Reshape validated X to channels-first ``(n, C, L)`` or ``(n, C, H, W)``."""
        if self.embedding_dim is not None:
            return self._token_ids(X, reset=reset)
        if X.ndim == 2 and self.input_shape is not None:
            shape = _as_tuple(self.input_shape)
            if int(np.prod(shape)) != X.shape[1]:
                raise ValueError(f"input_shape={shape} holds {int(np.prod(shape))} values but "
                                 f"X has {X.shape[1]} features per row.")
            X = X.reshape((len(X),) + shape)
        if X.ndim == 2:
            X = X[:, None, :]
        elif X.ndim == 3 and self.conv_dim != 1:
            X = X[:, None, :, :]
        elif X.ndim == 4:
            if self.conv_dim == 1:
                raise ValueError("conv_dim=1 expects (n, L) or (n, C, L) signals, got 4-D X.")
            if self._is_channels_last(X.shape):
                X = X.transpose(0, 3, 1, 2)
        elif X.ndim != 3:
            raise ValueError(f"{type(self).__name__} expects 2-D to 4-D X, got {X.ndim}-D.")
        X = np.ascontiguousarray(X)
        if reset:
            self.input_shape_ = X.shape[1:]
        elif X.shape[1:] != self.input_shape_:
            raise ValueError(f"X has samples of shape {X.shape[1:]} (channels first), but "
                             f"{type(self).__name__} was fitted on {self.input_shape_}.")
        return X

    def _token_ids(self, X, *, reset):
        if X.ndim != 2 or (X < 0).any() or (X != np.round(X)).any():
            raise ValueError("with embedding_dim, X must be a 2-D array of non-negative "
                             "integer token ids (0 is padding).")
        if reset:
            self.vocab_size_ = int(X.max()) + 2  # ids 0..max, plus "unknown"
            self.input_shape_ = (self.embedding_dim, X.shape[1])
        elif X.shape[1] != self.input_shape_[1]:
            raise ValueError(f"X has sequences of length {X.shape[1]}, but "
                             f"{type(self).__name__} was fitted on {self.input_shape_[1]}.")
        return np.ascontiguousarray(np.minimum(X, self.vocab_size_ - 1))

    def _is_channels_last(self, shape):
        if self.channels_last != "auto":
            return bool(self.channels_last)
        return shape[-1] in (1, 3, 4) and shape[1] not in (1, 3, 4)

    def _build_module(self, n_features, n_outputs):
        dims = len(self.input_shape_) - 1
        augment = Augment(dims, flip=self.augment_flip, shift=self.augment_shift,
                          rotation=self.augment_rotation, scale=self.augment_scale,
                          noise=self.augment_noise)
        return CNNModule(self.input_shape_, n_outputs, channels=_as_tuple(self.channels),
                         kernel_size=self.kernel_size, pooling=self.pooling,
                         batch_norm=self.batch_norm, dropout=self.dropout,
                         activation=self.activation, global_pool=self.global_pool,
                         hidden_layer_sizes=_as_tuple(self.hidden_layer_sizes),
                         residual=self.residual, augment=augment if augment.active else None,
                         vocab_size=getattr(self, "vocab_size_", None)
                         if self.embedding_dim is not None else None)


_CNN_EXTRA_ATTRIBUTES = """\
    input_shape_ : tuple of int
        Shape of one sample as the network sees it, channels first.
"""


class CNNClassifier(_CNNMixin, NeuralClassifierBase):
    __doc__ = f"""Convolutional neural network classifier for images and 1-D signals.

    Parameters
    ----------
{_CNN_DOC}{TRAINING_PARAMETERS}{CLASS_WEIGHT}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
{FITTED_ATTRIBUTES}{_CNN_EXTRA_ATTRIBUTES}
    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sktune import CNNClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = CNNClassifier(input_shape=(8, 8), channels=(8,), max_iter=3,
    ...                     random_state=0).fit(X[:300], y[:300])
    >>> clf.predict(X[:2]).shape
    (2,)
    """

    _parameter_constraints: dict = {**NeuralClassifierBase._parameter_constraints,
                                    **_CNN_CONSTRAINTS}

    def __init__(self, channels=(32, 64), kernel_size=3, *, pooling="max", batch_norm=True,
                 dropout=0.0, activation="relu", global_pool=True, hidden_layer_sizes=(128,),
                 residual=False, input_shape=None, conv_dim="auto", channels_last="auto",
                 augment_flip=False, augment_shift=0.0, augment_rotation=0.0,
                 augment_scale=0.0, augment_noise=0.0, embedding_dim=None, solver="adam",
                 alpha=1e-4, l1=0.0,
                 batch_size="auto", learning_rate="constant", learning_rate_init=1e-3,
                 power_t=0.5, lr_step_size=10, lr_decay=None, lr_patience=5,
                 min_learning_rate=0.0, warmup_epochs=0, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=10, restore_best_weights=True, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, max_grad_norm=None, device="auto", class_weight=None,
                 max_fun=15000, dtype="auto", callbacks=None, divergence_threshold=1e4,
                 keep_optimizer_state=False):
        self._store_init_params(locals())


class CNNRegressor(_CNNMixin, NeuralRegressorBase):
    __doc__ = f"""Convolutional neural network regressor for images and 1-D signals.

    Parameters
    ----------
{_CNN_DOC}{TRAINING_PARAMETERS}    loss : {{"squared_error", "absolute_error", "huber", "poisson"}}, \
default="squared_error"
        Training loss, as for :class:`MLPRegressor`.
    huber_delta : float, default=1.0
        Threshold of ``loss="huber"``.

    Attributes
    ----------
{FITTED_ATTRIBUTES}{_CNN_EXTRA_ATTRIBUTES}
    Examples
    --------
    >>> import numpy as np
    >>> from sktune import CNNRegressor
    >>> X = np.random.RandomState(0).randn(64, 20)   # 64 signals of length 20
    >>> reg = CNNRegressor(channels=(8,), max_iter=3, random_state=0).fit(X, X.mean(axis=1))
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {**NeuralRegressorBase._parameter_constraints,
                                    **_CNN_CONSTRAINTS}

    def __init__(self, channels=(32, 64), kernel_size=3, *, loss="squared_error",
                 pooling="max", batch_norm=True, dropout=0.0, activation="relu",
                 global_pool=True, hidden_layer_sizes=(128,), residual=False, input_shape=None,
                 conv_dim="auto", channels_last="auto", augment_flip=False, augment_shift=0.0,
                 augment_rotation=0.0, augment_scale=0.0, augment_noise=0.0,
                 embedding_dim=None, solver="adam", alpha=1e-4, l1=0.0, batch_size="auto",
                 learning_rate="constant", learning_rate_init=1e-3, power_t=0.5, lr_step_size=10, lr_decay=None,
                 lr_patience=5, min_learning_rate=0.0, warmup_epochs=0, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, restore_best_weights=True,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, max_grad_norm=None, device="auto",
                 huber_delta=1.0, max_fun=15000, dtype="auto", callbacks=None, divergence_threshold=1e4,
                 keep_optimizer_state=False):
        self._store_init_params(locals())
