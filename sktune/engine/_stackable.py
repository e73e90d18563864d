"""Which prepared training calls the stacked loop can train together.

:func:`stack_key` is the exact rule, on an initialised engine and its dataset: calls
with equal keys have the same network structure (the module's
:class:`~sktune.nn.Stackable` signature), batch size, loss, dtype, device and data
shapes, and everything the stacked loop runs per copy — optimizer, schedule, stopping
rule, the callbacks in :data:`STACKABLE_CALLBACKS` — is of a kind it reproduces; every
other setting may differ per copy. Planning which calls to bring together
(``sktune.model_selection``) applies it to prepared fits.
"""

import torch
from skorch.callbacks import EpochTimer, GradientNormClipping

from sktune.engine._callbacks import Convergence, EpochLog, LossMarks, LRSchedule
from sktune.engine._data import ArrayDataset, HoldOut
from sktune.engine._losses import SampleLoss
from sktune.engine._stacked_optim import solver_of
from sktune.nn._protocols import Stackable

#: the callbacks a stacked copy runs per epoch, as its own engine would (a call with any
#: other callback trains on its own)
STACKABLE_CALLBACKS = (EpochTimer, LossMarks, LRSchedule, Convergence, GradientNormClipping,
                       EpochLog)


def stack_key(net, dataset):
    """A hashable key: calls with equal keys can train as one stacked network.

    Parameters
    ----------
    net : sktune.engine.Engine
        An initialised engine (module, criterion, optimizer and callbacks set).
    dataset : ArrayDataset
        The training data of the call.

    Returns
    -------
    tuple or None
        The module's stack signature, batch size, device, data dtypes and shapes, loss
        and precision; None when this call needs its own loop.
    """
    module = getattr(net, "module_", None)
    if not isinstance(module, Stackable) or not isinstance(dataset, ArrayDataset) or \
            not isinstance(dataset.X, torch.Tensor) or not dataset.X.is_floating_point():
        return None
    for _, callback in net.callbacks_:
        if not isinstance(callback, STACKABLE_CALLBACKS) or (
                isinstance(callback, GradientNormClipping) and
                callback.gradient_clip_norm_type != 2):
            return None
    criterion = net.criterion_
    if not isinstance(criterion, SampleLoss) or solver_of(net.optimizer_) is None or \
            not (net.train_split is None or isinstance(net.train_split, HoldOut)):
        return None
    if net.precision == "16-mixed":  # its loss scaler skips steps per network, not per copy
        return None
    signature = module.stack_signature()
    if signature is None:
        return None
    y = dataset.y
    return (signature, net.batch_size, str(net.device), str(dataset.X.dtype),
            tuple(dataset.X.shape[1:]),
            None if y is None else (str(y.dtype), tuple(y.shape[1:])),
            criterion.kind, criterion.huber_delta, criterion.label_smoothing, net.precision)
