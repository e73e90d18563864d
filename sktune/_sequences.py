"""Sequence input: regular arrays, ragged lists of sequences and token ids -> padded arrays.

Three forms are accepted, always with one sequence per sample:

- a 2-D table ``(n, T)``: univariate sequences of equal length (or token ids padded
  with 0 at the end); validated like any scikit-learn input, so ``n_features_in_ == T``;
- a 3-D array ``(n, T, F)``;
- a list (or 1-D object array) of arrays ``(T_i, F)`` or ``(T_i,)`` of varying length.

Sequences are padded with zeros to the longest one and travel with their true lengths;
the network packs (RNN) or masks (CNN) them, so padding is never read and nothing is
truncated.

Token ids (text) are recognised, never guessed: X is a :class:`~sktune.TokenIds` array
(what :class:`~sktune.TextSequencer` returns) or the estimator declares token input
(``embedding_dim`` set to an int). Integer-valued numeric sequences stay numbers.
"""

import numpy as np
from sklearn.utils.validation import check_array, validate_data

from sktune._text import TokenIds


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
    if isinstance(X, np.ndarray) and X.dtype != object:
        return None
    if not isinstance(X, (list, tuple, np.ndarray)) or len(X) == 0:
        return None
    if isinstance(X, np.ndarray) and X.ndim != 1:
        return None
    if not all(hasattr(seq, "__len__") and not isinstance(seq, str) for seq in X):
        return None
    lengths = {len(seq) for seq in X}
    inner = {np.ndim(seq[0]) if len(seq) else 0 for seq in X}
    if len(lengths) == 1 and isinstance(X, (list, tuple)) and inner == {0}:
        return None  # a plain list of equal-length rows is a table
    return list(X)


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


def _pad(sequences, tokens):
    """Pad ragged sequences; returns ``(padded, lengths)`` and checks every sequence."""
    dtype = np.float64 if tokens else np.float32
    arrays = []
    for i, seq in enumerate(sequences):
        arr = _numeric(seq, i)
        if arr.ndim == 1 and not tokens:
            arr = arr[:, None]
        if arr.ndim != (1 if tokens else 2):
            kind = "(T_i,) token ids" if tokens else "(T_i, n_features) or (T_i,)"
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
            raise ValueError(f"sequences disagree on the number of features per step: "
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
    """Validate sequence input X; return ``(padded, lengths or None)``.

    Sets (``reset=True``) or checks ``n_features_in_`` and ``n_step_features_``, and
    records the layout X had at fit in ``_sequence_layout_`` (``"table"``: a 2-D table of
    steps; ``"sequences"``: ragged or 3-D), which is not ``input_kind_`` (what the
    family read X as: images, signals, sequences, tokens); with
    ``tokens``, the values must be non-negative integer ids (returned as float64, to be
    mapped by :class:`TokenVocabulary`).
    """
    ragged = _ragged(X)
    if ragged is not None:
        padded, lengths = _pad(ragged, tokens)
        layout = "sequences"
    elif (getattr(X, "ndim", None) or 0) > 3:
        raise ValueError(f"{type(estimator).__name__} reads (n, T) or (n, T, F) sequences, or "
                         f"a list of (T,) or (T, F) sequences; X is {X.ndim}-D, of shape "
                         f"{X.shape}.")
    elif getattr(X, "ndim", None) == 3:
        if tokens:
            raise ValueError("token ids must be a 2-D (n, T) array or a list of 1-D sequences.")
        padded, lengths = check_array(X, allow_nd=True, dtype=np.float32), None
        layout = "sequences"
        if padded.shape[1] == 0 or padded.shape[2] == 0:
            raise ValueError(f"X has shape {padded.shape}: sequences need at least one time "
                             "step and one feature.")
    else:
        # a model fitted on a table checks the columns' names too; one fitted on ragged
        # or 3-D sequences had none to check
        use_names = reset or getattr(estimator, "_sequence_layout_", "table") == "table"
        check = (lambda A: validate_data(estimator, A, reset=reset, dtype=np.float64)) \
            if use_names else (lambda A: check_array(A, dtype=np.float64))
        table = check(np.asarray(X) if isinstance(X, TokenIds) else X)
        layout = "table"
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
