"""Sequence input: regular arrays, ragged lists of sequences and token ids -> padded arrays.

Three forms are accepted, always with one sequence per sample:

- a 2-D table ``(n, T)``: univariate sequences of equal length (or token ids padded
  with 0 at the end); validated like any scikit-learn input, so ``n_features_in_ == T``;
- a 3-D array ``(n, T, F)``;
- a list (or 1-D object array) of arrays ``(T_i, F)`` or ``(T_i,)`` of varying length.

Sequences are padded with zeros to the longest one and travel with their true lengths;
the network packs them, so padding is never read and nothing is truncated.
"""

import numpy as np
from sklearn.utils.validation import check_array, validate_data


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


def _pad(sequences, tokens):
    """Pad ragged sequences; returns ``(padded, lengths)`` and checks every sequence."""
    dtype = np.int64 if tokens else np.float32
    arrays = []
    for i, seq in enumerate(sequences):
        try:
            arr = np.asarray(seq, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"sequence {i} is not numeric: {exc}") from None
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

    Sets (``reset=True``) or checks ``n_features_in_`` and ``n_step_features_``; with
    ``tokens``, the values must be non-negative integer ids.
    """
    ragged = _ragged(X)
    if ragged is not None:
        padded, lengths = _pad(ragged, tokens)
        kind = "sequences"
    elif getattr(X, "ndim", None) == 3:
        if tokens:
            raise ValueError("token ids must be a 2-D (n, T) array or a list of 1-D sequences.")
        padded, lengths, kind = check_array(X, allow_nd=True, dtype=np.float32), None, "sequences"
    else:
        use_names = reset or getattr(estimator, "_input_kind_", "table") == "table"
        check = (lambda A: validate_data(estimator, A, reset=reset, dtype=np.float64)) \
            if use_names else (lambda A: check_array(A, dtype=np.float64))
        table = check(X)
        kind = "table"
        if tokens:
            padded, lengths = table, _token_lengths(table)
        else:
            padded, lengths = table.astype(np.float32)[:, :, None], None
    if tokens:
        if (padded < 0).any() or (padded != np.round(padded)).any():
            raise ValueError("token ids must be non-negative integers (0 is padding).")
        padded = padded.astype(np.int64)
    n_step = 1 if tokens else padded.shape[2]
    if reset:
        estimator._input_kind_ = kind
        estimator.n_step_features_ = n_step
        if kind == "sequences":
            estimator.n_features_in_ = n_step
            if hasattr(estimator, "feature_names_in_"):
                del estimator.feature_names_in_
    elif n_step != estimator.n_step_features_:
        raise ValueError(f"X has {n_step} features per time step, but "
                         f"{type(estimator).__name__} was fitted with "
                         f"{estimator.n_step_features_}.")
    return padded, lengths
