"""Convolutional networks for images, 1-D signals (fixed or variable length) and token ids."""

import copy
from numbers import Integral, Real

import numpy as np

from sktune._compat import Interval, StrOptions
from sktune._docs import (
    CLASS_WEIGHT,
    FITTED_ATTRIBUTES,
    SCALED_REGRESSION_LOSS,
    TRAINING_PARAMETERS,
    with_defaults,
)
from sktune._sequences import (
    NORMALIZE_OPTIONS,
    TokenVocabulary,
    _ragged,
    check_kept_input_kind,
    check_layer_sizes,
    check_sequences,
    image_plausible,
    is_token_input,
    normalize_series,
    resolve_normalize,
    series_channels_last,
)
from sktune._supervised import NeuralClassifierBase, NeuralRegressorBase
from sktune.engine._data import n_rows
from sktune.nn import ACTIVATIONS, Augment, CNNModule, MemberEnsemble

_CNN_DOC = """\
    channels : "auto" or tuple of int
        Output channels of each convolution block. "auto" depends on the input (see
        below): ``(32, 64)`` for images, ``(128, 256, 128)`` for 1-D signals (the FCN
        of Wang et al., 2017), ``(128, 128)`` for token ids.
    kernel_size : "auto", int or tuple of int
        Convolution kernel size, one for all blocks or one per block (same padding).
        "auto": 3 for images, ``(8, 5, 3)`` for signals, ``(5, 3)`` for token ids.
    pooling : "auto", {"max", "avg"} or None
        2x pooling after each block (while the map is at least 2 wide). "auto": "max"
        for images, None for signals and token ids (their global average pooling
        already makes them shift-invariant).
    batch_norm : bool
        Batch normalisation after each convolution.
    dropout : float
        Dropout after each block and in the head.
    activation : str
        As for :class:`MLPClassifier`.
    global_pool : bool
        Global average pooling before the head; False flattens the last feature map
        (fixed-length input only).
    hidden_layer_sizes : "auto" or tuple of int
        Dense head between the convolutions and the output layer. "auto": ``(128,)``
        for images, ``()`` (pooled features straight to the output) otherwise.
    residual : bool
        Residual blocks: two convolutions around a skip connection.
    input_shape : tuple of int or None
        Shape of one sample when X is flat 2-D, e.g. ``(8, 8)`` or ``(3, 32, 32)``;
        rows are reshaped to it, so a ``StandardScaler`` can precede the CNN in a
        Pipeline. Without it, 2-D X is a batch of 1-D signals ``(n, L)``.
    conv_dim : {"auto", 1, 2}
        How 3-D X (and a 2-entry ``input_shape``) is read: 1 as signals ``(n, C, L)``
        (aeon's and sktime's layout), 2 as grayscale images ``(n, H, W)``. "auto":
        images when square (8x8 digits, 28x28 MNIST), signals otherwise, warning when a
        non-square shape could be an image too. 4-D X is always images.
    channels_last : {"auto", True, False}
        Where the channels are. 4-D images: ``(n, H, W, C)`` when True; "auto" decides
        so when the last axis has 1, 3 or 4 entries and the second does not. Signals
        (3-D arrays, list entries): ``(n, L, C)`` / ``(L_i, C)`` when True, ``(n, C, L)``
        / ``(C, L_i)`` when False; "auto" reads arrays as ``(n, C, L)`` (warning when
        C >= L, a shape that fits both readings) and lists along the axis whose size
        varies. Recorded in ``channels_last_``.
    normalize : {"auto", "series", "global"} or None
        Scaling of 1-D signals inside the estimator, applied identically at every call:
        "series" z-normalises each channel of each signal over its valid steps (the
        UCR archive's convention: shape, not level or amplitude, decides); "global"
        standardises each channel with the mean and standard deviation of the training
        signals (levels and amplitudes stay comparable); None leaves X as it is.
        "auto": "series" for classifiers of univariate signals of at least 8 steps (the
        UCR archive's convention), "global" otherwise (multivariate signals, whose
        channel levels are information; regressors; rows too short to have a shape).
        Images and token ids are never scaled. Recorded in ``normalize_``.
    downsample : "auto" or int
        1-D signals: the convolutions read the mean of each window of this many steps
        (the piecewise aggregate approximation), a series this many times shorter and
        a fit this many times cheaper. "auto": 1 up to 512 steps (every set of the
        UCR benchmark the defaults were measured on), else the smallest stride that
        brings the longest training signal to at most 512 steps (1,460 steps: 3), so
        the cost of a fit stops growing with the length (docs/cnn_rnn.md). 1 keeps
        every step. Images and token ids are never shortened (1 only). Recorded in
        ``downsample_``.
    augment_flip : bool
        Random horizontal flips (images).
    augment_shift : float
        Random translations of up to this many pixels / time steps.
    augment_rotation : float
        Random rotations of up to this many degrees (images).
    augment_scale : float
        Random amplitude scaling by a factor in ``[1 - s, 1 + s]``.
    augment_noise : float
        Additive Gaussian noise of this standard deviation.
    embedding_dim : "auto", int or None
        Token ids (text CNN): the ids are embedded into this many channels and
        convolved along the sequence. "auto" embeds (32 channels) exactly when X is a
        :class:`TokenIds` array, as :class:`TextSequencer` returns; an int declares any
        2-D integer X ``(n, T)`` (or list of 1-D id sequences) to be token ids; None
        never embeds. The table holds one row per distinct id seen in fit; other ids
        at prediction share one unknown-token row.
    n_ensemble : "auto" or int
        Copies of the network trained as one and averaged
        (:class:`~sktune.nn.MemberEnsemble`, a deep ensemble): they differ only in
        their initialisation, see the same batches and each follows its own loss's
        gradient (the reported loss is their mean); a prediction is the mean of
        theirs (probabilities for a classifier). A fit costs about ``n_ensemble``
        fits on a CPU. "auto": for 1-D signals, as many copies (at most 5) as keep
        ``copies x n_samples x steps x channels`` within 51,200 values (100 series of
        512 steps): the small training sets on which one network's accuracy depends
        most on its seed get an average, read per epoch no more than one network on
        a mid-sized set, and larger sets one network (docs/cnn_rnn.md; chosen by
        cross-validation inside training splits); 1 for images and token ids.
        Recorded in ``n_ensemble_``.
"""

_CNN_INPUTS = """\
    What "auto" resolves to is recorded in ``input_kind_``, ``channels_``,
    ``kernel_size_``, ``pooling_`` and ``hidden_layer_sizes_``. X may be images
    ``(n, H, W[, C])`` / ``(n, C, H, W)``, signals ``(n, L)`` / ``(n, C, L)`` (aeon's
    layout), a list of signals ``(C, L_i)``, ``(L_i, C)`` or ``(L_i,)`` of different
    lengths (zero-padded and masked: padding never changes a prediction), or token
    ids. For signals, ``batch_size="auto"`` is ``min(n_samples // 10, 16)`` (at least
    2) as in the FCN reference. Augmentations apply during training only, never to
    validation or prediction.
"""

_CNN_CONSTRAINTS = {
    "channels": [StrOptions({"auto"}), "array-like", Interval(Integral, 1, None, closed="left")],
    "kernel_size": [StrOptions({"auto"}), "array-like",
                    Interval(Integral, 1, None, closed="left")],
    "pooling": [StrOptions({"auto", "max", "avg"}), None],
    "batch_norm": ["boolean"],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "activation": [StrOptions(set(ACTIVATIONS))],
    "global_pool": ["boolean"],
    "hidden_layer_sizes": [StrOptions({"auto"}), "array-like",
                           Interval(Integral, 1, None, closed="left")],
    "residual": ["boolean"],
    "input_shape": ["array-like", None],
    "conv_dim": [StrOptions({"auto"}), Interval(Integral, 1, 2, closed="both")],
    "channels_last": [StrOptions({"auto"}), "boolean"],
    "normalize": [StrOptions({"auto", *NORMALIZE_OPTIONS}), None],
    "downsample": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
    "augment_flip": ["boolean"],
    "augment_shift": [Interval(Real, 0, None, closed="left")],
    "augment_rotation": [Interval(Real, 0, 180, closed="both")],
    "augment_scale": [Interval(Real, 0, 1, closed="left")],
    "augment_noise": [Interval(Real, 0, None, closed="left")],
    "embedding_dim": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left"), None],
    "n_ensemble": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
}

#: what each "auto" architecture parameter becomes, per kind of input
AUTO_ARCHITECTURE = {
    "image": {"channels": (32, 64), "kernel_size": (3, 3), "pooling": "max",
              "hidden_layer_sizes": (128,)},
    "signal": {"channels": (128, 256, 128), "kernel_size": (8, 5, 3), "pooling": None,
               "hidden_layer_sizes": ()},
    "tokens": {"channels": (128, 128), "kernel_size": (5, 3), "pooling": None,
               "hidden_layer_sizes": ()},
}
AUTO_EMBEDDING_DIM = 32
#: downsample="auto" shortens signals longer than this to at most this many steps
MAX_SIGNAL_STEPS = 512
#: n_ensemble="auto": copies of a signal CNN while copies x rows x steps x channels read
#: stay within this budget (100 series of MAX_SIGNAL_STEPS steps), at most MAX_MEMBERS
ENSEMBLE_BUDGET = 100 * MAX_SIGNAL_STEPS
MAX_MEMBERS = 5


def _as_tuple(value):
    return (int(value),) if np.ndim(value) == 0 else tuple(int(v) for v in value)


class _CNNMixin:
    """How a CNN reads its input and is built from it; shared by classifier and regressor."""

    _X_checks = {"dtype": np.float32, "allow_nd": True}
    _module_parameters = frozenset(_CNN_CONSTRAINTS)
    #: what a CNN pickled before n_ensemble existed reads: it was one network
    n_ensemble = 1
    _input_parameters = frozenset({"input_shape", "conv_dim", "channels_last", "embedding_dim"})

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags

    def _validate_params(self):
        super()._validate_params()
        check_layer_sizes(self, "channels", allow_empty=False)
        check_layer_sizes(self, "kernel_size", allow_empty=False)
        check_layer_sizes(self, "hidden_layer_sizes", allow_empty=True)
        check_layer_sizes(self, "input_shape", allow_empty=False, allow_none=True)

    # ---- reading X ---------------------------------------------------------------
    def _check_data(self, X, y, *, reset):
        if not reset:
            check_kept_input_kind(self)
        masked = self._is_masked(X, reset=reset)
        if not masked:
            return super()._check_data(X, y, reset=reset)
        self._require_y(y)
        X = self._masked_input(X, reset=reset)
        return X, self._check_target(X, y)

    def _check_X(self, X):
        if self._masked_:
            return self._masked_input(X, reset=False)
        return super()._check_X(X)

    def _is_masked(self, X, *, reset):
        """Token ids and lists of variable-length signals travel with their lengths."""
        if not reset:
            return self._masked_
        self._masked_ = is_token_input(self, X, reset=True) or (
            self.input_shape is None and _ragged(X) is not None)
        return self._masked_

    def _masked_input(self, X, *, reset):
        """Token ids or ragged signals -> ``(padded, lengths)``, channels first."""
        tokens = is_token_input(self, X, reset=reset)
        padded, lengths = check_sequences(self, X, tokens=tokens, reset=reset)
        if tokens:
            if reset:
                self.input_kind_ = "tokens"
                self.normalize_ = None
                self._vocabulary = TokenVocabulary(padded)
                self.vocab_size_ = self._vocabulary.size
                self.input_shape_ = (self._embedding_dim(), None)
            padded = self._vocabulary.encode(padded)
        else:
            if reset:
                if not self.global_pool:
                    raise ValueError("global_pool=False flattens a fixed-length feature map; "
                                     "signals of different lengths need global_pool=True.")
                self.input_kind_ = "signal"
                self.input_shape_ = (padded.shape[2], None)
                self.normalize_ = resolve_normalize(self, padded.shape[2], padded.shape[1])
            padded = normalize_series(self, padded, lengths, reset=reset)
            padded = np.ascontiguousarray(padded.transpose(0, 2, 1))
        if reset:
            self._fit_length = padded.shape[-1]
        if lengths is None:
            lengths = np.full(len(padded), padded.shape[-1], dtype=np.int64)
        return padded, lengths

    def _embedding_dim(self):
        return AUTO_EMBEDDING_DIM if self.embedding_dim == "auto" else int(self.embedding_dim)

    def _prepare_X(self, X, *, reset):
        """Reshape validated X to channels-first ``(n, C, L)`` or ``(n, C, H, W)``, and
        scale signals (``normalize_``)."""
        if X.ndim == 2 and self.input_shape is not None:
            shape = _as_tuple(self.input_shape)
            if int(np.prod(shape)) != X.shape[1]:
                raise ValueError(f"input_shape={shape} holds {int(np.prod(shape))} values but "
                                 f"X has {X.shape[1]} features per row.")
            X = X.reshape((len(X),) + shape)
        if X.ndim not in (2, 3, 4):
            raise ValueError(f"{type(self).__name__} expects 2-D to 4-D X, got {X.ndim}-D.")
        if reset:
            self._read_layout(X)
        if X.ndim == 4 and self.input_kind_ == "signal":
            raise ValueError("conv_dim=1 expects (n, L) or (n, C, L) signals, got 4-D X.")
        if X.ndim == 2:
            X = X[:, None, :]
        elif X.ndim == 3 and self.input_kind_ == "image":
            X = X[:, None, :, :]
        elif X.ndim == 3 and self.channels_last_:
            X = X.transpose(0, 2, 1)
        elif X.ndim == 4 and self.channels_last_:
            X = X.transpose(0, 3, 1, 2)
        if 0 in X.shape[1:]:
            raise ValueError(f"X has samples of shape {X.shape[1:]} (channels first); every "
                             "axis needs at least one entry.")
        if reset:
            self.input_shape_ = X.shape[1:]
            self.normalize_ = (resolve_normalize(self, X.shape[1], X.shape[-1])
                               if self.input_kind_ == "signal" else None)
        elif X.shape[1:] != self.input_shape_:
            raise ValueError(f"X has samples of shape {X.shape[1:]} (channels first), but "
                             f"{type(self).__name__} was fitted on {self.input_shape_}.")
        if self.input_kind_ == "signal":
            X = normalize_series(self, X.transpose(0, 2, 1), None,
                                 reset=reset).transpose(0, 2, 1)
        return np.ascontiguousarray(X)

    def _read_layout(self, X):
        """Decide at fit what X is (``input_kind_``) and where its channels are
        (``channels_last_``): the one input rule of docs/cnn_rnn.md."""
        if X.ndim == 2:
            self.input_kind_, self.channels_last_ = "signal", False
        elif X.ndim == 4:
            self.input_kind_ = "signal" if self.conv_dim == 1 else "image"
            self.channels_last_ = self._is_channels_last(X.shape)
        elif self.conv_dim == 2 or (self.conv_dim == "auto" and X.shape[1] == X.shape[2]):
            self.input_kind_, self.channels_last_ = "image", False
        else:
            self.input_kind_ = "signal"
            plausible = self.conv_dim == "auto" and image_plausible(X.shape[1:])
            series_channels_last(self, X, reset=True, image=plausible)

    def _is_channels_last(self, shape):
        if self.channels_last != "auto":
            return bool(self.channels_last)
        return shape[-1] in (1, 3, 4) and shape[1] not in (1, 3, 4)

    # ---- building the network -----------------------------------------------------
    def _resolve_architecture(self):
        """Set ``channels_``, ``kernel_size_``, ``pooling_``, ``hidden_layer_sizes_``."""
        auto = AUTO_ARCHITECTURE[self.input_kind_]
        self.channels_ = auto["channels"] if self.channels == "auto" else _as_tuple(self.channels)
        if self.kernel_size == "auto":
            kernels = auto["kernel_size"]
            # more blocks than the recipe: repeat its last kernel; fewer: its first ones
            kernels = (kernels + (kernels[-1],) * len(self.channels_))[:len(self.channels_)]
        else:
            kernels = _as_tuple(self.kernel_size)
            kernels = kernels * len(self.channels_) if len(kernels) == 1 else kernels
            if len(kernels) != len(self.channels_):
                raise ValueError(f"kernel_size={self.kernel_size} gives {len(kernels)} kernel "
                                 f"sizes for {len(self.channels_)} blocks (channels="
                                 f"{self.channels_}); give one size or one per block.")
        self.kernel_size_ = tuple(kernels)
        self.pooling_ = auto["pooling"] if self.pooling == "auto" else self.pooling
        self.hidden_layer_sizes_ = (auto["hidden_layer_sizes"]
                                    if _is_auto(self.hidden_layer_sizes)
                                    else _as_tuple(self.hidden_layer_sizes))

    def _build_module(self, n_features, n_outputs):
        self._resolve_architecture()
        if self.input_kind_ == "tokens":  # from the parameter: a continued fit follows it
            self.input_shape_ = (self._embedding_dim(), None)
        dims = len(self.input_shape_) - 1
        augment = Augment(dims, flip=self.augment_flip, shift=self.augment_shift,
                          rotation=self.augment_rotation, scale=self.augment_scale,
                          noise=self.augment_noise)
        shape = self.input_shape_
        if shape[-1] is None:  # variable length: decide pooling on the longest seen in fit
            shape = (shape[0], self._fit_length)
        self.downsample_ = self._stride(shape)
        self.n_ensemble_ = self._members(shape)

        def build():
            return CNNModule(shape, n_outputs, channels=self.channels_,
                             kernel_size=self.kernel_size_, pooling=self.pooling_,
                             batch_norm=self.batch_norm, dropout=self.dropout,
                             activation=self.activation, global_pool=self.global_pool,
                             hidden_layer_sizes=self.hidden_layer_sizes_,
                             residual=self.residual, input_stride=self.downsample_,
                             augment=copy.deepcopy(augment) if augment.active else None,
                             vocab_size=(self.vocab_size_ if self.input_kind_ == "tokens"
                                         else None))

        if self.n_ensemble_ == 1:
            return build()
        return MemberEnsemble([build() for _ in range(self.n_ensemble_)],
                              link=self._member_link())

    def _inspect_features(self, X):
        self._fit_rows = n_rows(X)

    def _members(self, shape):
        """``n_ensemble_``: copies within the budget for small signal sets (see
        ``n_ensemble``), one network otherwise."""
        if self.n_ensemble != "auto":
            return int(self.n_ensemble)
        if self.input_kind_ != "signal":
            return 1
        values = self._fit_rows * int(shape[0]) * -(-int(shape[-1]) // self.downsample_)
        return int(np.clip(ENSEMBLE_BUDGET // max(values, 1), 1, MAX_MEMBERS))

    def _stride(self, shape):
        """``downsample_``: steps per window of the signal the convolutions read."""
        if self.input_kind_ != "signal":
            if self.downsample not in ("auto", 1):
                raise ValueError(f"downsample={self.downsample} shortens 1-D signals; "
                                 f"X was read as {self.input_kind_}. Leave it at 'auto'.")
            return 1
        if self.downsample != "auto":
            return int(self.downsample)
        return max(1, -(-int(shape[-1]) // MAX_SIGNAL_STEPS))

    def _auto_batch_size(self, n_samples):
        """Signals: the FCN reference's ``min(n // 10, 16)`` rows per batch (at least 2);
        many small steps matter on the small training sets of time-series archives."""
        if getattr(self, "input_kind_", None) == "signal":
            return max(min(n_samples // 10, 16), min(2, n_samples))
        return super()._auto_batch_size(n_samples)


def _is_auto(value):
    return isinstance(value, str) and value == "auto"


_CNN_EXTRA_ATTRIBUTES = """\
    input_shape_ : tuple
        Shape of one sample as the network sees it, channels first; the length is
        None for variable-length signals and token ids.
    input_kind_ : {"image", "signal", "tokens"}
        What X was read as; selects the "auto" architecture.
    channels_last_ : bool
        Whether X's channels were read on its last axis.
    normalize_ : {"series", "global"} or None
        The scaling applied to signals ("auto" resolved; None for images and token ids).
    downsample_ : int
        Steps per window of the signal the convolutions read (1: every step).
    n_ensemble_ : int
        Copies of the network averaged ("auto" resolved); with more than one,
        ``net_.module_`` is a :class:`~sktune.nn.MemberEnsemble`.
    channels_, kernel_size_, pooling_, hidden_layer_sizes_
        The architecture used ("auto" resolved).
    vocab_size_ : int
        Token ids only: embedding rows (padding, unknown, one per id seen in fit).
"""


@with_defaults
class CNNClassifier(_CNNMixin, NeuralClassifierBase):
    __doc__ = f"""Convolutional neural network classifier for images and 1-D signals.

{_CNN_INPUTS}
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

    # CNNs train as the FCN reference does: reduce-on-plateau (halve the rate after 20 epochs
    # without improvement) and a long patience (50 epochs) before stopping. With the small
    # batches of signals the epoch loss is noisy and can sit near chance for dozens of epochs
    # before it falls; sklearn's constant rate and 10-epoch patience stopped ArrowHead after
    # 17 epochs at 53-60% accuracy.
    def __init__(self, channels="auto", kernel_size="auto", *, pooling="auto", batch_norm=True,
                 dropout=0.0, activation="relu", global_pool=True, hidden_layer_sizes="auto",
                 residual=False, input_shape=None, conv_dim="auto", channels_last="auto",
                 normalize="auto", downsample="auto", augment_flip=False, augment_shift=0.0,
                 augment_rotation=0.0,
                 augment_scale=0.0, augment_noise=0.0, embedding_dim="auto",
                 n_ensemble="auto", solver="adam",
                 alpha=1e-4, l1=0.0,
                 batch_size="auto", learning_rate="plateau", learning_rate_init=1e-3,
                 power_t=0.5, lr_step_size=10, lr_decay=0.5, lr_patience=20,
                 min_learning_rate=0.0, warmup_epochs=0, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=50, restore_best_weights=True, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, max_grad_norm=None, device="auto", class_weight=None,
                 max_fun=15000, dtype="auto", precision="full", callbacks=None,
                 divergence_threshold=1e4,
                 keep_optimizer_state=False):
        self._store_init_params(locals())


@with_defaults
class CNNRegressor(_CNNMixin, NeuralRegressorBase):
    __doc__ = f"""Convolutional neural network regressor for images and 1-D signals.

{_CNN_INPUTS}
    Parameters
    ----------
{_CNN_DOC}{TRAINING_PARAMETERS}{SCALED_REGRESSION_LOSS}
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
                                    **_CNN_CONSTRAINTS, "scale_target": ["boolean"]}

    def _scales_target(self):
        return self.scale_target and self.loss != "poisson"

    def __init__(self, channels="auto", kernel_size="auto", *, loss="squared_error",
                 pooling="auto", batch_norm=True, dropout=0.0, activation="relu",
                 global_pool=True, hidden_layer_sizes="auto", residual=False, input_shape=None,
                 conv_dim="auto", channels_last="auto", normalize="auto", downsample="auto",
                 scale_target=True, augment_flip=False, augment_shift=0.0,
                 augment_rotation=0.0, augment_scale=0.0, augment_noise=0.0,
                 embedding_dim="auto", n_ensemble="auto", solver="adam", alpha=1e-4, l1=0.0,
                 batch_size="auto",
                 learning_rate="plateau", learning_rate_init=1e-3, power_t=0.5, lr_step_size=10,
                 lr_decay=0.5, lr_patience=20, min_learning_rate=0.0, warmup_epochs=0,
                 max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=50, restore_best_weights=True,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, max_grad_norm=None, device="auto",
                 huber_delta=1.0, max_fun=15000, dtype="auto", precision="full", callbacks=None,
                 divergence_threshold=1e4,
                 keep_optimizer_state=False):
        self._store_init_params(locals())
