"""The shared training engine (a configured skorch net) and its data plumbing."""

from sktune.engine._callbacks import (
    Convergence,
    EpochLog,
    GradualUnfreeze,
    LRSchedule,
    clone_state,
)
from sktune.engine._data import ArrayDataset, HoldOut, TensorBatches
from sktune.engine._device import resolve_device
from sktune.engine._losses import LOSSES, SampleLoss
from sktune.engine._net import Engine
from sktune.engine._optim import SOLVERS, optimizer_spec

__all__ = [
    "LOSSES", "SOLVERS", "ArrayDataset", "Convergence", "Engine", "EpochLog", "GradualUnfreeze",
    "HoldOut", "LRSchedule", "SampleLoss", "TensorBatches", "clone_state", "optimizer_spec",
    "resolve_device",
]
