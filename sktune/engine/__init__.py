"""The shared training engine: one network's loop (a configured skorch net,
:class:`Engine`) and the stacked loop that trains many calls as one network
(:func:`train_stacked`), sharing their steps; and their data plumbing."""

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
from sktune.engine._stackable import STACKABLE_CALLBACKS, stack_key
from sktune.engine._stacked import StackedOutcome, TrainingCall, train_stacked

__all__ = [
    "LOSSES", "SOLVERS", "STACKABLE_CALLBACKS", "ArrayDataset", "Convergence", "Engine",
    "EpochLog", "GradualUnfreeze", "HoldOut", "LRSchedule", "SampleLoss", "StackedOutcome",
    "TensorBatches", "TrainingCall", "clone_state", "optimizer_spec", "resolve_device",
    "stack_key", "train_stacked",
]
