"""Sequence input: regular arrays, ragged lists of series and token ids -> padded arrays.

One input rule for every sequence family (CNN signals, RNNs, and the fine-tuners that
read through them), the layout of aeon and sktime:

- a 2-D table ``(n, T)``: univariate series of equal length (or token ids padded with 0
  at the end); validated like any scikit-learn input, so ``n_features_in_ == T``;
- a 3-D array ``(n, C, T)``: C channels of T steps (aeon's ``(n_cases, n_channels,
  n_timepoints)``); ``channels_last=True`` reads ``(n, T, C)`` instead;
- a list (or 1-D object array) of arrays ``(C, T_i)`` or ``(T_i,)`` of varying length;
  with ``channels_last="auto"`` a list of ``(T_i, C)`` is recognised by which axis varies;
- sktime's nested DataFrame (a row per case, a column per channel, a series per cell),
  read as the list of its cases' ``(C, T_i)`` arrays.

``channels_last="auto"`` warns (:class:`~sktune.exceptions.InputLayoutWarning`) when a
shape is genuinely ambiguous: as many channels as steps or more (the shape ``(n, T, C)``
data would have), or a list of equal-shape series of that kind. The decision is taken at
fit and kept (``channels_last_``): later calls read X the same way.

Series are padded with zeros to the longest one and travel with their true lengths;
the network packs (RNN) or masks (CNN) them, so padding is never read and nothing is
truncated. Internally they are time-major, ``(n, T, C)``.

Token ids (text) are recognised, never guessed: X is a :class:`~sktune.TokenIds` array
(what :class:`~sktune.TextSequencer` returns) or the estimator declares token input
(``embedding_dim`` set to an int). Integer-valued numeric sequences stay numbers.
"""

import warnings

import numpy as np
from sklearn.base import is_classifier
from sklearn.utils.validation import check_array, validate_data

from sktune._text import TokenIds
from sktune.exceptions import InputLayoutWarning

#: ``normalize="auto"`` standardises each classifier's series on its own when the
#: training series have at least this many steps: shorter rows (tabular data read as a
#: signal) have no shape to keep, and a z-normalised series of T steps keeps T - 2
#: degrees of freedom
MIN_SERIES_STEPS = 8


def is_token_input(estimator, X, *, reset):
    """Whether X holds token ids for ``estimator`` (decided at fit, kept afterwards).

    ``embedding_dim=None`` never embeds, an int always does, ``"auto"`` embeds exactly
    when X is a :class:`TokenIds` array. The decision is taken on the object as
    passed, before any validation turns it into a plain array.
    """
    if not reset:
        return getattr(estimator, "input_kind_", None) == "tokens"
    if estimator.embedding_dim is None:
        return False
    if estimator.embedding_dim == "auto":
        return isinstance(X, TokenIds)
    return True


def check_kept_input_kind(estimator):
    """A fit that continues the fitted network reads X as the first fit did (token ids or
    numbers): refuse an ``embedding_dim`` that says otherwise, naming it, rather than
    train a network that the parameter no longer describes."""
    tokens = getattr(estimator, "input_kind_", None) == "tokens"
    dim = estimator.embedding_dim
    if (tokens and dim is None) or (not tokens and dim not in (None, "auto")):
        raise ValueError(
            f"A fit that continues the fitted network (warm_start=True, partial_fit) reads X "
            f"as the first fit did, {'token ids' if tokens else 'numbers'}, but "
            f"embedding_dim={dim!r} reads X as {'numbers' if tokens else 'token ids'}. "
            "Train a new network (fit with warm_start=False), or set it back.")


def _ragged(X):
    """The list of per-sample arrays if X is a ragged collection, else None."""
    nested = _nested_frame(X)
    if nested is not None:
        return nested
    if isinstance(X, np.ndarray) and X.dtype != object:
        return None
    if not isinstance(X, (list, tuple, np.ndarray)) or len(X) == 0:
        return None
    if isinstance(X, np.ndarray) and X.ndim != 1:
        return None
    if not all(hasattr(seq, "__len__") and not isinstance(seq, str) for seq in X):
        return None
    lengths = {len(seq) for seq in X}
    # the rank of a step: 0 for a row of numbers; an empty (0, C) array has steps of rank 1
    inner = {np.ndim(seq[0]) if len(seq) else np.ndim(seq) - 1 for seq in X}
    if len(lengths) == 1 and isinstance(X, (list, tuple)) and inner == {0}:
        return None  # a plain list of equal-length rows is a table
    return list(X)


def _nested_frame(X):
    """sktime's nested DataFrame (one row per case, one column per channel, each cell a
    series) as a list of ``(C, T_i)`` arrays; None for any other input. A case whose
    channels differ in length is refused by name."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(X, "iloc") or getattr(X, "ndim", 0) != 2 or \
            len(X) == 0 or X.shape[1] == 0 or any(d != np.dtype(object) for d in dtypes):
        return None
    first = X.iloc[0, 0]
    if not hasattr(first, "__len__") or isinstance(first, (str, bytes)):
        return None
    cases = []
    for i in range(len(X)):
        channels = [np.asarray(X.iloc[i, j]) for j in range(X.shape[1])]
        if len({len(c) for c in channels}) > 1:
            raise ValueError(f"case {i} of the nested DataFrame has channels of different "
                             f"lengths {[len(c) for c in channels]}; a case's channels "
                             "must share their time steps.")
        cases.append(np.stack(channels))
    return cases


def _numeric(seq, i):
    """One sequence as float64, refusing complex values (no silent loss of the
    imaginary part) and non-numeric entries."""
    try:
        arr = np.asarray(seq)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"sequence {i} is not numeric: {exc}") from None
    if arr.dtype.kind in "mM":
        raise ValueError(f"sequence {i} holds datetime or timedelta values, which a network "
                         "would read as integer nanoseconds; turn them into numbers first.")
    if np.iscomplexobj(arr):
        raise ValueError(f"sequence {i} holds complex values; complex data is not "
                         "supported (split real and imaginary parts into features).")
    try:
        return arr.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"sequence {i} is not numeric: {exc}") from None


def _pad(sequences, tokens, channels_last=True):
    """Pad ragged sequences, time-major; returns ``(padded, lengths)`` and checks every
    sequence (``channels_last=False``: each 2-D sequence is ``(C, T_i)``)."""
    dtype = np.float64 if tokens else np.float32
    arrays = []
    for i, seq in enumerate(sequences):
        arr = _numeric(seq, i)
        if arr.ndim == 1 and not tokens:
            arr = arr[:, None]
        elif arr.ndim == 2 and not channels_last:
            arr = arr.T
        if arr.ndim != (1 if tokens else 2):
            kind = ("(T_i,) token ids" if tokens else
                    "(T_i, n_channels) or (T_i,)" if channels_last else
                    "(n_channels, T_i) or (T_i,)")
            raise ValueError(f"sequence {i} has shape {arr.shape}; expected {kind}.")
        if len(arr) == 0:
            raise ValueError(f"sequence {i} is empty; every sequence needs at least one step.")
        if not np.isfinite(arr).all():
            raise ValueError(f"sequence {i} contains NaN or infinity.")
        arrays.append(arr)
    if not tokens:
        widths = {a.shape[1] for a in arrays}
        if len(widths) > 1:
            first = arrays[0].shape[1]
            bad = next(i for i, a in enumerate(arrays) if a.shape[1] != first)
            where = "last" if channels_last else "first"
            raise ValueError(f"sequences disagree on the number of features per step "
                             f"(channels, read on the {where} axis): "
                             f"sequence 0 has {first}, sequence {bad} has "
                             f"{arrays[bad].shape[1]}.")
        if 0 in widths:
            raise ValueError("sequences have 0 features per step; at least 1 is required.")
    lengths = np.array([len(a) for a in arrays], dtype=np.int64)
    padded = np.zeros((len(arrays), lengths.max(), *arrays[0].shape[1:]), dtype=dtype)
    for i, a in enumerate(arrays):
        padded[i, :len(a)] = a
    return padded, lengths


def _token_lengths(ids):
    """Lengths of id sequences padded with 0 at the end (at least 1)."""
    nonzero = ids != 0
    last = ids.shape[1] - np.argmax(nonzero[:, ::-1], axis=1)
    return np.where(nonzero.any(axis=1), last, 1).astype(np.int64)


def check_sequences(estimator, X, *, tokens, reset):
    """Validate sequence input X; return ``(padded, lengths or None)``, time-major
    ``(n, T, C)`` (``(n, T)`` for token ids).

    Sets (``reset=True``) or checks ``n_features_in_`` and ``n_step_features_``, and
    records the layout X had at fit in ``_sequence_layout_`` (``"table"``: a 2-D table of
    steps; ``"sequences"``: ragged or 3-D), which is not ``input_kind_`` (what the
    family read X as: images, signals, sequences, tokens); with
    ``tokens``, the values must be non-negative integer ids (returned as float64, to be
    mapped by :class:`TokenVocabulary`). The layout of 3-D arrays and lists is
    :func:`series_channels_last`'s.
    """
    ragged = _ragged(X)
    if ragged is not None:
        last = tokens or series_channels_last(estimator, X, reset=reset, ragged=ragged)
        padded, lengths = _pad(ragged, tokens, channels_last=last)
        layout = "sequences"
    elif (getattr(X, "ndim", None) or 0) > 3:
        raise ValueError(f"{type(estimator).__name__} reads (n, T) or (n, C, T) sequences "
                         f"(or (n, T, C) with channels_last=True), or a list of (T,), (C, T) "
                         f"or (T, C) sequences; X is {X.ndim}-D, of shape {X.shape}.")
    elif getattr(X, "ndim", None) == 3:
        if tokens:
            raise ValueError("token ids must be a 2-D (n, T) array or a list of 1-D sequences.")
        last = series_channels_last(estimator, X, reset=reset)
        padded, lengths = check_array(X, allow_nd=True, dtype=np.float32), None
        layout = "sequences"
        if padded.shape[1] == 0 or padded.shape[2] == 0:
            raise ValueError(f"X has shape {padded.shape}: sequences need at least one time "
                             "step and one feature.")
        if not last:
            padded = np.ascontiguousarray(padded.transpose(0, 2, 1))
    else:
        # a model fitted on a table checks the columns' names too; one fitted on ragged
        # or 3-D sequences had none to check
        use_names = reset or getattr(estimator, "_sequence_layout_", "table") == "table"
        check = (lambda A: validate_data(estimator, A, reset=reset, dtype=np.float64)) \
            if use_names else (lambda A: check_array(A, dtype=np.float64))
        table = check(np.asarray(X) if isinstance(X, TokenIds) else X)
        layout = "table"
        if reset and not tokens:
            estimator.channels_last_ = False  # univariate: one channel, either way
        if tokens:
            padded, lengths = table, _token_lengths(table)
        else:
            padded, lengths = table.astype(np.float32)[:, :, None], None
    if tokens:
        check_token_ids(padded)
    n_step = 1 if tokens else padded.shape[2]
    if reset:
        estimator._sequence_layout_ = layout
        estimator.n_step_features_ = n_step
        if layout == "sequences":
            estimator.n_features_in_ = n_step
            if hasattr(estimator, "feature_names_in_"):
                del estimator.feature_names_in_
    elif n_step != estimator.n_step_features_:
        raise ValueError(f"X has {n_step} features per time step, but "
                         f"{type(estimator).__name__} was fitted with "
                         f"{estimator.n_step_features_}.")
    return padded, lengths


def series_channels_last(estimator, X, *, reset, ragged=None, image=False):
    """Whether the series of X hold their channels on the last axis.

    Decided at fit from ``estimator.channels_last`` and recorded in ``channels_last_``;
    later calls read X the same way. ``"auto"``: a 3-D array is aeon's ``(n, C, T)``; a
    list of ``(C, T_i)`` or ``(T_i, C)`` arrays is read along the axis whose size varies
    (the channel count never does); equal shapes are ``(C, T)``. A reading with at
    least as many channels as steps warns, naming the parameter; so does, with
    ``image``, a shape that would be a plausible image (the CNN's ``conv_dim``).
    """
    if not reset:
        return bool(getattr(estimator, "channels_last_", False))
    setting = estimator.channels_last
    shape = None
    if setting != "auto":
        last = bool(setting)
    elif ragged is None:
        last, shape = False, X.shape[1:]
    else:
        shapes = [np.shape(seq) for seq in ragged if np.ndim(seq) == 2]
        firsts, seconds = {s[0] for s in shapes}, {s[1] for s in shapes}
        last = len(seconds) < len(firsts)  # the channel axis is the one that varies less
        if len(firsts) == len(seconds) == 1:
            shape = shapes[0]
    estimator.channels_last_ = last
    if shape is not None and (image or shape[0] >= shape[1] > 0 and shape[0] > 1):
        warn_layout(estimator, shape, image=image)
    return last


def image_plausible(shape):
    """Whether a 3-D sample shape ``(a, b)`` that is not square could still be a
    grayscale image: both sides at least 8 and within a factor 2 of each other (LFW's
    62x47 faces; a 28-channel, 50-step recording too: genuinely ambiguous)."""
    a, b = shape
    return a != b and min(a, b) >= 8 and max(a, b) <= 2 * min(a, b)


def warn_layout(estimator, shape, *, image=False):
    """The :class:`InputLayoutWarning` for series of per-sample ``shape`` read as
    ``(C, T)``, naming the parameters that decide it (``image``: the CNN's ``conv_dim``
    too)."""
    channels, steps = shape
    options = (f"channels_last=True to read it as {channels} steps of {steps} channels "
               "((n, n_timepoints, n_channels), Keras's layout)")
    if image:
        options = f"conv_dim=2 to read it as {channels}x{steps} images, " + options
    warnings.warn(
        f"{type(estimator).__name__} reads series of shape {tuple(shape)} as {channels} "
        f"channels x {steps} time steps, aeon's and sktime's (n_cases, n_channels, "
        f"n_timepoints) layout; the shape fits another reading too. Set {options}; or "
        "channels_last=False to keep this reading without the warning.",
        InputLayoutWarning, stacklevel=4)


# ---- scale: what ``normalize`` does to numeric series ---------------------------------
NORMALIZE_OPTIONS = ("series", "global")


def resolve_normalize(estimator, n_channels, n_steps):
    """What ``normalize="auto"`` means for numeric series of ``n_channels`` channels of
    up to ``n_steps`` steps: classifiers of univariate series standardise each series
    on its own (the UCR archive's convention, and what the published FCN/ResNet runs
    did: a class is a shape); everything else per channel over the training set —
    multivariate series (the UEA archive is not normalised per series: the level of
    each channel is information, e.g. each cepstral coefficient of JapaneseVowels, where
    per-series scaling took the default CNN from 99.5% to 80.5%), regressors (a target
    quantity follows the level and amplitude of the series) and rows shorter than
    :data:`MIN_SERIES_STEPS` (tabular features read as a signal have no shape)."""
    if estimator.normalize != "auto":
        return estimator.normalize
    if is_classifier(estimator) and n_channels == 1 and n_steps >= MIN_SERIES_STEPS:
        return "series"
    return "global"


def normalize_series(estimator, X, lengths, *, reset):
    """Scale time-major series ``(n, T, C)`` by ``estimator.normalize_`` (set at fit):
    ``"series"`` z-normalises each channel of each series over its valid steps,
    ``"global"`` each channel by its mean and standard deviation over every valid
    training step (recorded at fit), None leaves X as it is. Statistics are taken in
    float64; constant channels are centred, not divided; padded steps stay zero.
    Multiplying X by a constant changes nothing the network sees."""
    mode = estimator.normalize_
    if mode is None:
        return X
    valid = None
    if lengths is not None:
        valid = (np.arange(X.shape[1])[None, :] < lengths[:, None])[:, :, None]
    data = X.astype(np.float64)
    if mode == "series":
        mean, std = _moments(data, valid, axis=1)
    else:
        if reset:
            estimator._series_moments_ = _moments(data, valid, axis=(0, 1))
        mean, std = estimator._series_moments_
    out = (data - mean) / std
    if valid is not None:
        out = np.where(valid, out, 0.0)
    return out.astype(X.dtype if X.dtype.kind == "f" else np.float32)


def _moments(data, valid, axis):
    """Mean and standard deviation over ``axis`` (valid steps only), keeping dims; a
    standard deviation that is zero, or rounding noise next to the mean, becomes 1."""
    if valid is None:
        mean = data.mean(axis=axis, keepdims=True)
        std = data.std(axis=axis, keepdims=True)
    else:
        count = np.maximum(valid.sum(axis=axis, keepdims=True), 1)
        mean = np.where(valid, data, 0.0).sum(axis=axis, keepdims=True) / count
        var = np.where(valid, (data - mean) ** 2, 0.0).sum(axis=axis, keepdims=True) / count
        std = np.sqrt(var)
    tiny = std <= 1e-7 * np.maximum(np.abs(mean), np.finfo(np.float64).tiny)
    return mean, np.where(tiny | (std == 0), 1.0, std)


def check_token_ids(ids):
    """Token ids must be non-negative integers (0 is padding)."""
    if ids.size and ((ids < 0).any() or (ids != np.round(ids)).any()):
        raise ValueError("token ids must be non-negative integers (0 is padding).")


class TokenVocabulary:
    """The token ids seen in fit, mapped to embedding rows ``2 .. n + 1``.

    Row 0 is padding (id 0), row 1 is every id not seen in fit. The table is as large
    as the number of *distinct* ids seen, whatever their values: an id of ``10**9``
    costs one row, not a billion.
    """

    def __init__(self, ids):
        seen = np.unique(ids)
        self.ids = seen[seen != 0].astype(np.int64)

    @property
    def size(self):
        """Embedding rows: padding, unknown, and one per id seen in fit."""
        return len(self.ids) + 2

    def encode(self, ids):
        """Map raw ids to embedding rows (int64, same shape)."""
        ids = np.asarray(ids)
        if len(self.ids) == 0:
            return np.where(ids == 0, 0, 1).astype(np.int64)
        flat = ids.astype(np.float64)
        pos = np.clip(np.searchsorted(self.ids, flat), 0, len(self.ids) - 1)
        known = self.ids[pos] == flat
        rows = np.where(known, pos + 2, 1)
        return np.where(flat == 0, 0, rows).astype(np.int64)


def check_layer_sizes(estimator, name, *, allow_empty, allow_none=False):
    """Check a tuple-of-sizes parameter (``channels``, ``hidden_layer_sizes``...) entry
    by entry, which ``_parameter_constraints`` cannot: a zero-width layer would give a
    raw torch error or constant predictions.
    """
    from numbers import Integral

    from sktune._compat import InvalidParameterError

    value = getattr(estimator, name)
    if isinstance(value, str) or (value is None and allow_none):
        return  # "auto" (checked by the constraints), or a parameter that may be None
    if np.ndim(value) == 0:
        sizes, flat = [value.item() if hasattr(value, "item") else value], True
    else:
        array = np.asarray(value, dtype=object)
        sizes, flat = list(array.ravel()), array.ndim == 1
    valid = flat and all(isinstance(s, Integral) and not isinstance(s, bool) and s >= 1
                         for s in sizes) and (sizes or allow_empty)
    if not valid:
        what = ("a positive int or a flat tuple of positive ints" +
                ("" if allow_empty else " (at least one)") + (" or None" if allow_none else ""))
        raise InvalidParameterError(
            f"The {name!r} parameter of {type(estimator).__name__} must be {what}. "
            f"Got {value!r} instead.")
