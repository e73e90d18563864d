"""In-memory datasets and a batch iterator that slices tensors instead of collating samples.

skorch's default ``DataLoader`` builds every batch sample by sample, which dominates the
cost of small networks. Data that fits in memory is instead held as one tensor (or one
scipy CSR matrix, densified a batch at a time) and batches are contiguous slices.
"""

import warnings

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.model_selection import train_test_split
from torch.utils.data import Dataset


def map_arrays(fn, X):
    """Apply ``fn`` to ``X``, or to each part when ``X`` is a tuple of arrays."""
    return tuple(fn(part) for part in X) if isinstance(X, tuple) else fn(X)


def n_rows(X):
    """Number of samples in ``X`` (a tensor, sparse matrix or tuple of tensors)."""
    return (X[0] if isinstance(X, tuple) else X).shape[0]


def first_row(X):
    """The first sample of ``X`` as a batch of one (each part of a tuple)."""
    return map_arrays(lambda a: a[:1], X)


#: what a training step over one row of a batch-normalised network says (torch refuses it)
ONE_ROW_BATCH = ("A training batch of 1 sample cannot be batch-normalised: batch statistics "
                 "need at least 2 rows. Use batch_size >= 2 and train on at least 2 rows "
                 "per call (partial_fit included), or set batch_norm=False.")


def batch_bounds(n, batch_size, min_rows=1):
    """``[(start, stop), ...]``: the contiguous training batches of ``n`` (shuffled) rows.

    A last batch smaller than ``min_rows`` joins the one before it (a network with batch
    norm gets ``min_rows=2``: a one-row batch has no batch statistics), so every row
    trains in every epoch whatever ``n`` is. Both training loops cut their batches here.
    """
    starts = list(range(0, n, batch_size))
    bounds = [(s, min(s + batch_size, n)) for s in starts]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] < min_rows:
        last = bounds.pop()
        bounds[-1] = (bounds[-1][0], last[1])
    return bounds


#: inference and validation batches hold about this many input values at most (~64 MB
#: of float32), and at most 1024 rows: fewer, larger calls than training batches
INFERENCE_ELEMENTS = 2**24


def inference_batch_size(batch_size, X):
    """Rows per inference batch over ``X`` (an array, sparse matrix or tuple; the first
    part's row size counts): up to 1024 rows within :data:`INFERENCE_ELEMENTS`, never
    fewer than the training ``batch_size``. The single and stacked loops share it."""
    part = X[0] if isinstance(X, tuple) else X
    row_size = int(np.prod(part.shape[1:]))
    return max(batch_size, min(1024, INFERENCE_ELEMENTS // max(row_size, 1)))


def _as_tensor(array):
    """Float32/int64 numpy array -> tensor without copying writable data."""
    if isinstance(array, tuple):
        return map_arrays(_as_tensor, array)
    if isinstance(array, torch.Tensor):
        return array
    array = np.asarray(array)
    if not array.flags.writeable or not array.flags.c_contiguous:
        array = np.ascontiguousarray(array).copy()
    return torch.from_numpy(array)


class ArrayDataset(Dataset):
    """Features, targets and sample weights held in memory.

    Dense arrays become tensors (without a copy where numpy allows), sparse matrices
    stay scipy CSR; an item is ``(x, (y, sample_weight))``, as skorch expects.

    Parameters
    ----------
    X : ndarray, torch.Tensor, scipy sparse matrix or tuple of arrays
        Features, first axis the samples. Sparse matrices stay sparse. A tuple (such
        as padded sequences and their lengths) is batched part by part and passed to
        the module as positional arguments.
    y : ndarray or torch.Tensor, default=None
        Encoded targets (class indices, indicator rows or regression values).
    sample_weight : ndarray or torch.Tensor of shape (n_samples,), default=None
        Per-sample weights of the loss and of the validation score.
    stratify : ndarray of shape (n_samples,), default=None
        Labels used to stratify a hold-out split.

    Examples
    --------
    >>> import numpy as np
    >>> from sktune.engine import ArrayDataset
    >>> ds = ArrayDataset(np.zeros((4, 3), dtype=np.float32), np.arange(4))
    >>> len(ds), len(ds.subset([0, 2]))
    (4, 2)
    """

    def __init__(self, X, y=None, sample_weight=None, stratify=None):
        self.X = X.tocsr() if sp.issparse(X) else _as_tensor(X)
        self.y = None if y is None else _as_tensor(y)
        self.sample_weight = None if sample_weight is None else _as_tensor(sample_weight)
        self.stratify = stratify

    def __len__(self):
        return n_rows(self.X)

    def __getitem__(self, i):
        x = map_arrays(lambda a: a[i], self.X)
        if sp.issparse(x):
            x = torch.from_numpy(x.toarray()[0])
        y = None if self.y is None else self.y[i]
        w = None if self.sample_weight is None else self.sample_weight[i]
        return x, (y, w)

    def subset(self, indices):
        """A new dataset with the rows at ``indices``.

        Parameters
        ----------
        indices : array-like of int
            Row positions to keep, in that order.

        Returns
        -------
        ArrayDataset
            The selected rows of ``X``, ``y``, ``sample_weight`` and ``stratify``.
        """
        indices = np.asarray(indices)
        idx = torch.from_numpy(indices)
        X = self.X[indices] if sp.issparse(self.X) else map_arrays(lambda a: a[idx], self.X)
        strat = None if self.stratify is None else self.stratify[indices]
        return ArrayDataset(X, _take(self.y, idx), _take(self.sample_weight, idx), strat)

    def to(self, device):
        """Move dense arrays to ``device`` once, so that batches need no transfer.

        Parameters
        ----------
        device : str or torch.device
            Where the dense tensors go; sparse features stay on the host.

        Returns
        -------
        ArrayDataset
            A new dataset on ``device``.
        """
        move = lambda a: None if a is None else a.to(device)  # noqa: E731
        X = self.X if sp.issparse(self.X) else map_arrays(move, self.X)
        return ArrayDataset(X, move(self.y), move(self.sample_weight), self.stratify)


class TensorBatches:
    """Iterate over an :class:`ArrayDataset` in batches of ``(X, (y, sample_weight))``.

    A new permutation is drawn at every pass when ``shuffle`` is true, from
    ``generator`` (a ``torch.Generator`` the caller keeps, so that the sequence of
    orders continues across calls) or from a private one seeded with ``seed``; epochs
    differ while the whole run stays reproducible.
    Sparse rows are densified per batch, or passed on as torch sparse CSR tensors with
    ``sparse_batches=True`` (for modules whose first layer multiplies them directly).

    Parameters
    ----------
    dataset : ArrayDataset
        The rows to iterate over; moved to ``device`` once.
    batch_size : int, default=128
        Rows per batch.
    shuffle : bool, default=False
        Draw a new order of the rows at every pass.
    seed : int, default=None
        Seed of the private generator when ``generator`` is None.
    device : str, default="cpu"
        Device of the batches.
    sparse_batches : bool, default=False
        Pass sparse rows on as torch sparse CSR tensors instead of densifying them.
    generator : torch.Generator, default=None
        Source of the orders, kept by the caller across calls.
    min_rows : int, default=1
        A last batch smaller than this joins the one before it.

    Examples
    --------
    >>> import numpy as np
    >>> from sktune.engine import ArrayDataset, TensorBatches
    >>> ds = ArrayDataset(np.ones((5, 2), dtype=np.float32), np.arange(5))
    >>> [len(xb) for xb, (yb, wb) in TensorBatches(ds, batch_size=2)]
    [2, 2, 1]
    >>> [len(xb) for xb, _ in TensorBatches(ds, batch_size=2, min_rows=2)]
    [2, 3]
    """

    def __init__(self, dataset, batch_size=128, shuffle=False, seed=None, device="cpu",
                 sparse_batches=False, generator=None, min_rows=1):
        self.dataset = dataset.to(device)
        self.batch_size = batch_size
        self.bounds = batch_bounds(len(self.dataset), batch_size, min_rows)
        self.shuffle = shuffle
        self.device = device
        self.sparse_batches = sparse_batches
        if generator is None:
            generator = torch.Generator()
            if seed is not None:
                generator.manual_seed(int(seed))
        self.generator = generator

    def __len__(self):
        return len(self.bounds)

    def __iter__(self):
        ds, n = self.dataset, len(self.dataset)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else None
        if sp.issparse(ds.X):
            yield from self._sparse_batches(order)
            return
        X, y, w = ds.X, ds.y, ds.sample_weight
        if order is not None:
            order = order.to(self.device)
            X, y, w = map_arrays(lambda a: a[order], X), _take(y, order), _take(w, order)
        tuple_x = isinstance(X, tuple)
        for start, stop in self.bounds:
            xb = tuple(a[start:stop] for a in X) if tuple_x else X[start:stop]
            yield xb, (_slice(y, start, stop), _slice(w, start, stop))

    def _sparse_batches(self, order):
        ds = self.dataset
        for start, stop in self.bounds:
            rows = np.arange(start, stop) if order is None else order[start:stop].numpy()
            xb = _sparse_rows(ds.X, rows) if self.sparse_batches else \
                torch.from_numpy(ds.X[rows].toarray())
            xb = xb.to(self.device)
            idx = torch.from_numpy(rows).to(self.device)
            yield xb, (_take(ds.y, idx), _take(ds.sample_weight, idx))


def _sparse_rows(X, rows):
    """Rows of a scipy CSR matrix as a torch sparse CSR tensor (no densification)."""
    part = X[rows]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "sparse CSR support is in beta"
        return torch.sparse_csr_tensor(
            torch.from_numpy(part.indptr.astype(np.int64)),
            torch.from_numpy(part.indices.astype(np.int64)),
            torch.from_numpy(part.data), size=part.shape)


def _take(array, idx):
    return None if array is None else array[idx]


def _slice(array, start, stop):
    return None if array is None else array[start:stop]


class HoldOut:
    """A skorch ``train_split`` that keeps ``fraction`` of the rows apart for validation.

    Stratified on ``dataset.stratify`` when given (single-output classification), as
    scikit-learn's ``MLPClassifier`` does for ``early_stopping``: a class with fewer
    than two members makes that impossible, and the error says so. A validation set of
    fewer than two rows is an error too (scikit-learn's message).

    Parameters
    ----------
    fraction : float
        Share of the rows held out, as ``validation_fraction``.
    random_state : int, RandomState instance or None, default=None
        Seed of the split, as in :func:`~sklearn.model_selection.train_test_split`.

    Examples
    --------
    >>> import numpy as np
    >>> from sktune.engine import ArrayDataset, HoldOut
    >>> ds = ArrayDataset(np.zeros((10, 2), dtype=np.float32), np.arange(10))
    >>> train, valid = HoldOut(0.2, random_state=0)(ds)
    >>> len(train), len(valid)
    (8, 2)
    """

    def __init__(self, fraction, random_state=None):
        self.fraction = fraction
        self.random_state = random_state

    def __call__(self, dataset, y=None, **fit_params):
        idx = np.arange(len(dataset))
        try:
            train, valid = train_test_split(
                idx, test_size=self.fraction, stratify=dataset.stratify,
                random_state=self.random_state)
        except ValueError as exc:
            raise ValueError(f"early_stopping cannot hold out validation_fraction="
                             f"{self.fraction} of {len(idx)} samples: {exc}") from None
        if len(valid) < 2:
            raise ValueError("The validation set is too small. Increase "
                             "'validation_fraction' or the size of your dataset.")
        return dataset.subset(train), dataset.subset(valid)
