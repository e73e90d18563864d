"""Recurrent networks over sequences: arrays, ragged lists, or token ids for text."""

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
    check_kept_input_kind,
    check_layer_sizes,
    check_sequences,
    is_token_input,
    normalize_series,
    resolve_normalize,
)
from sktune._supervised import NeuralClassifierBase, NeuralRegressorBase
from sktune.nn import ACTIVATIONS, RNNModule
from sktune.nn._rnn import CELLS, FRONTENDS, POOLINGS

_RNN_DOC = """\
    cell : {"lstm", "gru", "rnn"}
        Recurrent cell.
    hidden_size : int
        Units of each recurrent layer (per direction).
    num_layers : int
        Stacked recurrent layers.
    bidirectional : bool
        Read the sequences in both directions.
    pooling : {"last", "mean", "max", "last_mean_max", "attention"}
        How the per-step outputs become one vector: final hidden state, mean or max
        over the valid steps, the three concatenated (ULMFiT's "concat pooling"), or a
        learned attention-weighted sum. Padded steps never reach it. The mean and max
        keep what happened anywhere in the sequence, which the final state alone
        forgets (the sign of a pulse in the first 50 of 512 steps: 0.49 with "last",
        0.96 with the default, three seeds; docs/cnn_rnn.md); the final state keeps
        what only the end of a sequence tells.
    embedding_dim : "auto", int or None
        Token ids (text) are embedded into vectors of this width. "auto" embeds (32
        wide) exactly when X is a :class:`TokenIds` array, as :class:`TextSequencer`
        returns; an int declares any 2-D integer X ``(n, T)`` (or list of 1-D id
        sequences) to be token ids (0 = padding); None never embeds. The table holds
        one row per distinct id seen in fit; other ids at prediction share one
        unknown-token row.
    downsample : "auto" or int
        Stride of a convolutional front-end that shortens long sequences before the
        recurrence (each output step summarises ``2 * stride`` input steps), so that
        hundreds of steps train in reasonable time and gradients reach the start.
        "auto" picks the stride that brings the longest training sequence to at most
        64 steps when it is longer than 128 (1, no front-end, otherwise); 1 disables
        it. Recorded in ``downsample_``. With the convolutional front-end the stride
        is a max pooling after its blocks.
    frontend : {"auto", "conv", "strided"}
        What reads numeric sequences before the recurrence. "conv": three convolution
        blocks (kernels 8, 5, 3, ``hidden_size`` channels, batch norm; the FCN's) at
        full resolution, then max pooling by ``downsample_`` (a CNN-LSTM): local shapes
        and short events become features wherever they are, which one strided
        convolution or the raw steps do not give the recurrence (docs/cnn_rnn.md:
        OSULeaf and ArrowHead). "strided": one strided convolution when
        ``downsample_ > 1``, nothing otherwise. "auto": "conv" for classifiers of
        numeric sequences (shapes decide the class); "strided" for regressors, whose
        targets often follow levels and amplitudes, which batch-normalised
        convolution features blur (a target following a series' level: RMSE 3,142
        with "conv", 414 with "strided", the training mean's 6,389), and for token ids
        (their embedding is the front-end), and with ``solver="lbfgs"`` (whose
        full-batch loss refuses batch statistics). Recorded in ``frontend_``.
    dropout : float
        Dropout between recurrent layers and before the head.
    batch_norm : bool
        Batch normalisation of the pooled representation.
    hidden_layer_sizes : tuple of int
        Dense layers of the head.
    activation : str
        Activation of the head.
    channels_last : {"auto", True, False}
        Where 3-D X and the sequences of a list hold their channels (features per step).
        False: ``(n, C, T)`` and ``(C, T_i)``, the layout of aeon and sktime; True:
        ``(n, T, C)`` and ``(T_i, C)``. "auto" reads 3-D arrays as ``(n, C, T)``
        (warning when C >= T, a shape that fits both readings) and lists along the axis
        whose size varies. Recorded in ``channels_last_``.
    normalize : {"auto", "series", "global"} or None
        Scaling of numeric sequences inside the estimator, applied identically at every
        call: "series" z-normalises each channel of each sequence over its valid steps
        (the UCR archive's convention: shape, not level or amplitude, decides);
        "global" standardises each channel with the mean and standard deviation of the
        training sequences (levels and amplitudes stay comparable); None leaves X as it
        is. "auto": "series" for classifiers of univariate sequences of at least 8 steps
        (the UCR archive's convention), "global" otherwise (multivariate sequences,
        whose channel levels are information; regressors; rows too short to have a
        shape). Token ids are never scaled. Recorded in ``normalize_``.
"""

_RNN_INPUTS = """\
    X is a 2-D array ``(n, T)`` of univariate sequences (or padded token ids), a 3-D
    array ``(n, C, T)`` (aeon's layout; ``(n, T, C)`` with ``channels_last=True``), or a
    list of arrays ``(C, T_i)`` / ``(T_i, C)`` / ``(T_i,)`` of different lengths;
    variable lengths are padded and packed, never truncated. For numeric sequences
    ``batch_size="auto"`` is ``min(n_samples // 10, 16)`` (at least 2), as for the
    CNN's signals; the training defaults are the CNN's too (reduce-on-plateau, 50
    epochs of patience).
"""

_RNN_CONSTRAINTS = {
    "cell": [StrOptions(set(CELLS))],
    "hidden_size": [Interval(Integral, 1, None, closed="left")],
    "num_layers": [Interval(Integral, 1, None, closed="left")],
    "bidirectional": ["boolean"],
    "pooling": [StrOptions(set(POOLINGS))],
    "embedding_dim": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left"), None],
    "downsample": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
    "frontend": [StrOptions({"auto", *FRONTENDS})],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "batch_norm": ["boolean"],
    "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
    "activation": [StrOptions(set(ACTIVATIONS))],
    "channels_last": [StrOptions({"auto"}), "boolean"],
    "normalize": [StrOptions({"auto", *NORMALIZE_OPTIONS}), None],
}

_RNN_EXTRA_ATTRIBUTES = """\
    n_step_features_ : int
        Features per time step (1 for univariate sequences and token ids).
    input_kind_ : {"sequences", "tokens"}
        Whether X was read as numeric sequences or as token ids.
    vocab_size_ : int
        Token ids only: embedding rows (padding, unknown, one per id seen in fit).
    downsample_ : int
        Stride of the front-end (1: none with "strided", no pooling with "conv").
    frontend_ : {"conv", "strided"}
        The front-end ("auto" resolved).
    channels_last_ : bool
        Whether 3-D X and list entries were read as ``(T, C)`` (True) or ``(C, T)``.
    normalize_ : {"series", "global"} or None
        The scaling applied to numeric sequences ("auto" resolved; None for token ids).
"""

#: sequences longer than this get a strided front-end with downsample="auto"
LONG_SEQUENCE = 128
#: ... which brings them to at most this many steps
TARGET_STEPS = 64
AUTO_EMBEDDING_DIM = 32


class _RNNMixin:
    """How an RNN reads sequences and is built from them; shared by both tasks."""

    _module_parameters = frozenset(_RNN_CONSTRAINTS)
    _input_parameters = frozenset({"embedding_dim"})

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags

    def _validate_params(self):
        super()._validate_params()
        check_layer_sizes(self, "hidden_layer_sizes", allow_empty=True)

    def _check_data(self, X, y, *, reset):
        self._require_y(y)
        if not reset:
            check_kept_input_kind(self)
        X = self._sequences(X, reset=reset)
        return X, self._check_target(X, y)

    def _check_X(self, X):
        return self._sequences(X, reset=False)

    def _sequences(self, X, *, reset):
        tokens = is_token_input(self, X, reset=reset)
        padded, lengths = check_sequences(self, X, tokens=tokens, reset=reset)
        if reset:
            self.input_kind_ = "tokens" if tokens else "sequences"
            longest = int(lengths.max()) if lengths is not None else padded.shape[1]
            self._longest_ = longest
            self.downsample_ = self._stride(longest)
            self.normalize_ = None if tokens else resolve_normalize(
                self, padded.shape[2], longest)
        if tokens:
            if reset:
                self._vocabulary = TokenVocabulary(padded)
                self.vocab_size_ = self._vocabulary.size
            padded = self._vocabulary.encode(padded)
        else:
            padded = normalize_series(self, padded, lengths, reset=reset)
        return padded if lengths is None else (padded, lengths)

    def _auto_batch_size(self, n_samples):
        """Numeric sequences: ``min(n_samples // 10, 16)`` rows per batch (at least 2),
        the FCN reference's rule that the CNN uses for signals: the small training
        sets of time-series archives need many small steps (the issue's early-pulse
        task, 200 series: 0.93 at batch 200, 0.97 at 16). Token ids: ``min(200, n)``."""
        if getattr(self, "input_kind_", None) == "sequences":
            return max(min(n_samples // 10, 16), min(2, n_samples))
        return super()._auto_batch_size(n_samples)

    def _stride(self, longest):
        if self.downsample != "auto":
            return int(self.downsample)
        return 1 if longest <= LONG_SEQUENCE else -(-longest // TARGET_STEPS)

    def _build_module(self, n_features, n_outputs):
        tokens = self.input_kind_ == "tokens"
        if hasattr(self, "_longest_"):  # from the parameter: a continued fit follows it
            self.downsample_ = self._stride(self._longest_)
        self.frontend_ = self.frontend
        if self.frontend == "auto":  # L-BFGS refuses the conv front-end's batch norm
            self.frontend_ = ("strided" if tokens or self.solver == "lbfgs"
                              else self._auto_frontend)
        sizes = self.hidden_layer_sizes
        embedding_dim = (AUTO_EMBEDDING_DIM if self.embedding_dim == "auto"
                         else self.embedding_dim)
        return RNNModule(self.n_step_features_, n_outputs, cell=self.cell,
                         hidden_size=self.hidden_size, num_layers=self.num_layers,
                         bidirectional=self.bidirectional, dropout=self.dropout,
                         pooling=self.pooling,
                         vocab_size=self.vocab_size_ if tokens else None,
                         embedding_dim=embedding_dim if tokens else None,
                         hidden_layer_sizes=[sizes] if np.isscalar(sizes) else list(sizes),
                         activation=self.activation, batch_norm=self.batch_norm,
                         downsample=self.downsample_, frontend=self.frontend_)


@with_defaults
class RNNClassifier(_RNNMixin, NeuralClassifierBase):
    __doc__ = f"""Recurrent neural network classifier for whole sequences and text.

{_RNN_INPUTS}
    Parameters
    ----------
{_RNN_DOC}{TRAINING_PARAMETERS}{CLASS_WEIGHT}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
{FITTED_ATTRIBUTES}{_RNN_EXTRA_ATTRIBUTES}
    Examples
    --------
    >>> import numpy as np
    >>> from sktune import RNNClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = [rng.randn(2, rng.randint(3, 9)) for _ in range(40)]   # 2 channels, ragged
    >>> y = [int(seq[0].sum() > 0) for seq in X]
    >>> clf = RNNClassifier(cell="gru", max_iter=3, random_state=0).fit(X, y)
    >>> clf.predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {**NeuralClassifierBase._parameter_constraints,
                                    **_RNN_CONSTRAINTS}
    #: frontend="auto" for numeric sequences (the parameter's documentation says why)
    _auto_frontend = "conv"

    def __init__(self, cell="lstm", hidden_size=64, *, num_layers=1, bidirectional=False,
                 pooling="last_mean_max", embedding_dim="auto", downsample="auto",
                 frontend="auto", dropout=0.0,
                 batch_norm=False, hidden_layer_sizes=(), activation="relu",
                 channels_last="auto", normalize="auto", solver="adam",
                 alpha=1e-4, l1=0.0, batch_size="auto", learning_rate="plateau",
                 learning_rate_init=1e-3,
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
class RNNRegressor(_RNNMixin, NeuralRegressorBase):
    __doc__ = f"""Recurrent neural network regressor for whole sequences (e.g. forecasting).

{_RNN_INPUTS}
    Parameters
    ----------
{_RNN_DOC}{TRAINING_PARAMETERS}{SCALED_REGRESSION_LOSS}
    Attributes
    ----------
{FITTED_ATTRIBUTES}{_RNN_EXTRA_ATTRIBUTES}
    Examples
    --------
    >>> import numpy as np
    >>> from sktune import RNNRegressor
    >>> t = np.arange(60) / 5
    >>> X = np.stack([np.sin(t[i:i + 10]) for i in range(50)])    # windows of a sine
    >>> y = np.sin(t[10:60])                                        # the next value
    >>> reg = RNNRegressor(cell="gru", max_iter=5, random_state=0).fit(X, y)
    >>> reg.predict(X[:2]).shape
    (2,)
    """

    _parameter_constraints: dict = {**NeuralRegressorBase._parameter_constraints,
                                    **_RNN_CONSTRAINTS, "scale_target": ["boolean"]}
    _auto_frontend = "strided"

    def _scales_target(self):
        return self.scale_target and self.loss != "poisson"

    def __init__(self, cell="lstm", hidden_size=64, *, loss="squared_error", num_layers=1,
                 bidirectional=False, pooling="last_mean_max", embedding_dim="auto",
                 downsample="auto", frontend="auto",
                 dropout=0.0, batch_norm=False, hidden_layer_sizes=(), activation="relu",
                 channels_last="auto", normalize="auto", scale_target=True, solver="adam",
                 alpha=1e-4, l1=0.0, batch_size="auto", learning_rate="plateau",
                 learning_rate_init=1e-3, power_t=0.5, lr_step_size=10, lr_decay=0.5,
                 lr_patience=20, min_learning_rate=0.0, warmup_epochs=0, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=50, restore_best_weights=True,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, max_grad_norm=None, device="auto",
                 huber_delta=1.0, max_fun=15000, dtype="auto", precision="full", callbacks=None,
                 divergence_threshold=1e4,
                 keep_optimizer_state=False):
        self._store_init_params(locals())
