"""The rows of a fused group: the distinct datasets of its copies, held once."""

import numpy as np
import torch


class Rows:
    """Stands in for a dataset in the engine's ``train_split``: the split returns row
    indices instead of materialised subsets."""

    def __init__(self, n, stratify):
        self.n, self.stratify = n, stratify

    def __len__(self):
        return self.n

    def subset(self, indices):
        return np.asarray(indices)


class SharedData:
    """The distinct datasets of a group, concatenated once: copies of the same fold
    share their rows."""

    def __init__(self):
        self.parts, self.size = [], 0

    def add(self, dataset):
        """The offset of ``dataset``'s rows in the shared tensors."""
        for offset, part in self.parts:
            if same(part.X, dataset.X) and same(part.y, dataset.y) and \
                    same(part.sample_weight, dataset.sample_weight):
                return offset
        offset = self.size
        self.parts.append((offset, dataset))
        self.size += len(dataset)
        return offset

    def finish(self, device):
        parts = [p for _, p in self.parts]
        self.X = torch.cat([p.X for p in parts]).to(device)
        self.y = None if parts[0].y is None else torch.cat([p.y for p in parts]).to(device)
        self.w = None
        if any(p.sample_weight is not None for p in parts):
            self.w = torch.cat([p.sample_weight if p.sample_weight is not None else
                                torch.ones(len(p), dtype=self.X.dtype) for p in parts])
            self.w = self.w.to(device=device, dtype=self.X.dtype)
        self.parts = None


def same(a, b):
    """Whether two tensors (or Nones, or tuples of tensors such as padded sequences and
    their lengths, or scipy sparse matrices) hold the same values; a strided sample of
    rows is compared first, so different folds are told apart without reading them
    whole."""
    if a is None or b is None or a is b:
        return a is b
    if isinstance(a, tuple) or isinstance(b, tuple):
        return isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b) and \
            all(same(x, y) for x, y in zip(a, b))
    if not isinstance(a, torch.Tensor) or not isinstance(b, torch.Tensor):
        return False  # sparse matrices: not compared (each fit keeps its own)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    step = max(1, len(a) // 64)
    return torch.equal(a[::step], b[::step]) and torch.equal(a, b)
