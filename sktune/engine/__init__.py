"""The shared training engine (a configured skorch net) and its data plumbing."""

from sktune.engine._callbacks import Convergence, GradualUnfreeze, LRSchedule
from sktune.engine._data import ArrayDataset, HoldOut, TensorBatches
from sktune.engine._device import resolve_device
from sktune.engine._net import Engine
from sktune.engine._optim import SOLVERS, optimizer_spec

__all__ = [
    "SOLVERS", "ArrayDataset", "Convergence", "Engine", "GradualUnfreeze", "HoldOut", "LRSchedule", "TensorBatches",
    "optimizer_spec", "resolve_device",
]
