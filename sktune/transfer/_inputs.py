"""Input as a backbone reads it, and embeddings in batches.

Shared by the fine-tuners, the embedder and the Hugging Face text estimators: what X
becomes before a backbone reads it (the source estimator's own input handling, or a
reshape to ``input_shape``), the few rows kept at fit to size the new head, and an
:class:`~sktune.nn.Embedder` module's embeddings of many rows.
"""

import numpy as np
import torch

from sktune._base import inherit_input_features
from sktune.engine._data import map_arrays
from sktune.nn import Embedder


def as_tuple(x):
    """A batch as the tuple of arguments of ``forward`` / ``embed``."""
    return x if isinstance(x, tuple) else (x,)


def as_tensors(X):
    """Each part of ``X`` (an array or a tuple of arrays) as a tensor, in a tuple."""
    return tuple(torch.as_tensor(part) for part in as_tuple(X))


def sample_rows(X):
    """The first two rows of X (each part of a tuple), kept at fit: they size the new head
    (the embedding width) and say what kind of input the backbone reads."""
    return map_arrays(lambda a: np.ascontiguousarray(a[:2]), X)


def reshaped_input(est, X):
    """Validated X reshaped per sample to ``input_shape`` when given (module backbones)."""
    if est.input_shape is not None:
        X = X.reshape((len(X),) + tuple(int(s) for s in est.input_shape))
    return X


def source_input(est, source, X, *, reset):
    """X read the way the source estimator reads it (checked against the source's fit):
    an array, or ``(padded, lengths)`` for sequences and token ids."""
    X = source._check_X(X)
    if reset:
        inherit_input_features(est, source)
    return X


def embedding_width(module, rows):
    """The width of ``module``'s embeddings (an :class:`~sktune.nn.Embedder`), read from
    its embedding of a few ``rows``."""
    with torch.no_grad():
        return module.embed(*as_tensors(rows)).shape[1]


def embed_rows(map_batches, module):
    """``module``'s embeddings of every row, float64, ``(n_samples, n_embedding)``.

    ``map_batches(fn)`` yields ``fn(batch)`` over the rows' batches (an engine's
    ``map_batches`` or :func:`~sktune.engine._net.map_padded`, bound to the rows). The
    module is an :class:`~sktune.nn.Embedder`; it runs in eval mode without gradients,
    and its mode is restored after.
    """
    if not isinstance(module, Embedder):
        raise TypeError(f"{type(module).__name__} is not an Embedder: it has no embed() "
                        "and head to read embeddings from.")
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            parts = [z.double().cpu().numpy()
                     for z in map_batches(lambda x: module.embed(*as_tuple(x)))]
    finally:
        module.train(was_training)
    return np.concatenate(parts)
