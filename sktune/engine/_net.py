"""The one training engine: a skorch ``NeuralNet`` tuned for in-memory data.

skorch provides the structure (``fit_loop -> run_single_epoch -> train_step``),
callbacks, history, device handling and pickling. This subclass overrides the steps
whose general form costs time on small networks: batches are tensor slices
(:class:`~sktune.engine.TensorBatches`), the epoch loss is summed on the device and read
once per epoch, per-batch callback hooks run only if a callback implements them, and
training stops through :meth:`request_stop` rather than an exception.
"""

import copy
import math
from functools import partial

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EpochTimer, PrintLog
from skorch.utils import to_device

from sktune.engine._data import ArrayDataset, TensorBatches, map_arrays, n_rows
from sktune.exceptions import TrainingDivergedError
from sktune.nn._protocols import LayerwiseLR, SparseInput

ROW_ALIGNMENT = 32
INFERENCE_ELEMENTS = 2**24
_BATCH_HOOKS = ("on_batch_begin", "on_batch_end", "on_grad_computed")


class Engine(NeuralNet):
    """skorch net used by every sktune estimator; users rarely meet it directly.

    Parameters beyond :class:`skorch.NeuralNet`'s
    ----------------------------------------------
    score_fn : callable, default=None
        ``score_fn(y_pred, y, sample_weight) -> float`` recorded as ``valid_score``.
    l1 : float, default=0.0
        L1 penalty on weight matrices, ``l1 * sum|W| / batch_size`` added to the loss.
    weight_decay : float, default=0.0
        Passed to the optimizer for weight matrices only (not biases or norm layers).
    shuffle : bool, default=True
        Draw a new order of the training rows at every epoch.
    seed : int, default=None
        Seed of the shuffling generator.
    lr_scales : dict, default=None
        Learning-rate multiplier per part of a module that defines ``lr_scale(name)``.
    """

    def __init__(self, *args, score_fn=None, l1=0.0, weight_decay=0.0, shuffle=True, seed=None,
                 lr_scales=None, **kwargs):
        kwargs.setdefault("iterator_train", TensorBatches)
        kwargs.setdefault("iterator_valid", TensorBatches)
        kwargs.setdefault("dataset", ArrayDataset)
        super().__init__(*args, **kwargs)
        self.score_fn = score_fn
        self.l1 = l1
        self.weight_decay = weight_decay
        self.shuffle = shuffle
        self.seed = seed
        self.lr_scales = lr_scales

    @property
    def _default_callbacks(self):
        callbacks = [("epoch_timer", EpochTimer())]
        if self.verbose:
            callbacks.append(("print_log", PrintLog()))
        return callbacks

    def initialize_callbacks(self):
        super().initialize_callbacks()
        self._hooks_ = {
            hook for hook in _BATCH_HOOKS for _, cb in self.callbacks_
            if getattr(type(cb), hook) is not getattr(Callback, hook)
        }
        return self

    def initialize_criterion(self):
        """The criterion as given (mean reduction) plus a per-sample copy for weights."""
        super().initialize_criterion()
        self.criterion_.reduction = "mean"
        self.per_sample_criterion_ = copy.copy(self.criterion_)
        self.per_sample_criterion_.reduction = "none"
        return self

    # ---- optimizer ---------------------------------------------------------------
    def get_params_for_optimizer(self, prefix, named_parameters):
        """Parameter groups: weight matrices get ``weight_decay`` (biases and norm layers
        none), and a module with ``lr_scale(name)`` gets one learning rate per part,
        ``lr * lr_scales[part]`` (discriminative fine-tuning). One group when neither
        applies: one fused optimizer kernel per step."""
        kwargs = self.get_params_for(prefix)
        lr = kwargs.setdefault("lr", self.lr)
        part_of = (self.module_.lr_scale
                   if self.lr_scales and isinstance(self.module_, LayerwiseLR) else None)
        groups = {}
        for name, p in named_parameters:
            key = (part_of(name) if part_of else None, bool(self.weight_decay) and p.ndim > 1)
            groups.setdefault(key, []).append(p)
        param_groups = []
        for (part, decay), params in groups.items():
            group = {"params": params, "weight_decay": self.weight_decay if decay else 0.0}
            if part is not None:
                group["lr"] = lr * self.lr_scales.get(part, 1.0)
            param_groups.append(group)
        return (param_groups,), kwargs

    # ---- data --------------------------------------------------------------------
    def get_iterator(self, dataset, training=False):
        if not isinstance(dataset, ArrayDataset):
            return super().get_iterator(dataset, training=training)
        if training:
            return TensorBatches(dataset, self.batch_size, shuffle=self.shuffle,
                                 seed=self.seed, device=self.device,
                                 sparse_batches=self._sparse_batches())
        # inference/validation: up to 1024 rows, but no more than ~64 MB of dense input
        row_size = int(np.prod((dataset.X[0] if isinstance(dataset.X, tuple)
                                else dataset.X).shape[1:]))
        size = max(self.batch_size, min(1024, INFERENCE_ELEMENTS // max(row_size, 1)))
        return TensorBatches(dataset, size, shuffle=False, device=self.device,
                             sparse_batches=self._sparse_batches())

    def _sparse_batches(self):
        return isinstance(self.module_, SparseInput) and bool(self.module_.accepts_sparse)

    def forward_iter(self, X, training=False, device="cpu"):
        """Yield the module's outputs batch by batch (see :meth:`map_batches`)."""
        yield from self.map_batches(
            X, lambda Xi: self.evaluation_step((Xi, None), training=training), device)

    def map_batches(self, X, fn, device="cpu"):
        """Yield ``fn(batch)`` over inference batches, rows padded to a multiple of 32.

        BLAS picks its kernels by the number of rows, so an unpadded tail batch can
        differ from the same rows inside a full batch in the last float32 bit. Padding
        makes a row's output independent of which other rows share its batch.
        """
        yield from map_padded(self.get_iterator(self.get_dataset(X), training=False), fn, device)

    # ---- loop ----------------------------------------------------------------------
    def request_stop(self, reason):
        """Ask the fit loop to end after the current epoch (called by callbacks)."""
        if getattr(self, "stop_reason_", None) is None:
            self.stop_reason_ = reason

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        self.check_training_readiness()
        epochs = self.max_epochs if epochs is None else epochs
        dataset_train, dataset_valid = self.get_split_datasets(X, y)
        kwargs = {"dataset_train": dataset_train, "dataset_valid": dataset_valid}
        iterator_train = self.get_iterator(dataset_train, training=True)
        iterator_valid = None
        if dataset_valid is not None:
            iterator_valid = self.get_iterator(dataset_valid, training=False)
        self.stop_reason_ = None
        for _ in range(epochs):
            self.notify("on_epoch_begin", **kwargs)
            self.run_single_epoch(iterator_train, training=True, prefix="train",
                                  step_fn=self.train_step)
            self.run_single_epoch(iterator_valid, training=False, prefix="valid",
                                  step_fn=self.validation_step)
            self.notify("on_epoch_end", **kwargs)
            if self.stop_reason_ is not None:
                break
        return self

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        if iterator is None:
            return
        self._set_training(training)
        hooks = self._hooks_
        losses, sizes = [], []
        outputs = [] if not training and self.score_fn is not None else None
        for batch in iterator:
            if "on_batch_begin" in hooks:
                self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch)
            losses.append(step["loss"].detach())
            sizes.append(n_rows(batch[0]))
            if outputs is not None:
                outputs.append(step["y_pred"])
            if "on_batch_end" in hooks:
                self.notify("on_batch_end", batch=batch, training=training, **step)
        # one device->host read per epoch: the size-weighted mean of the batch losses
        weights = torch.tensor(sizes, dtype=losses[0].dtype, device=losses[0].device)
        loss = float(torch.stack(losses) @ weights / weights.sum())
        if not math.isfinite(loss):
            raise TrainingDivergedError(
                f"The {prefix} loss became {loss} in epoch {len(self.history)}: training "
                "diverged. Try a lower learning_rate_init, gradient clipping "
                "(max_grad_norm) or scaled inputs (StandardScaler).")
        self.history.record(prefix + "_loss", loss)
        self.history.record(prefix + "_batch_count", len(iterator))
        if outputs is not None:
            data = iterator.dataset
            score = self.score_fn(torch.cat(outputs), data.y, data.sample_weight)
            self.history.record(prefix + "_score", score)

    def train_step(self, batch, **fit_params):
        Xi, yi = batch
        self.optimizer_.zero_grad(set_to_none=True)
        y_pred = self.infer(Xi)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        loss.backward()
        if "on_grad_computed" in self._hooks_:
            self.notify("on_grad_computed", named_parameters=list(self.get_all_learnable_params()),
                        batch=batch, training=True)
        self.optimizer_.step()
        return {"loss": loss, "y_pred": y_pred}

    def validation_step(self, batch, **fit_params):
        Xi, yi = batch
        with torch.no_grad():
            y_pred = self.infer(Xi)
            loss = self.get_loss(y_pred, yi, X=Xi, training=False)
        return {"loss": loss, "y_pred": y_pred}

    def infer(self, x, **fit_params):
        """Batches are already tensors on the device; a tuple is unpacked into arguments."""
        return self.module_(*x) if isinstance(x, tuple) else self.module_(x)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """Weighted mean of the per-sample criterion, plus the L1 penalty in training."""
        y, weight = y_true
        if weight is None:
            loss = self.criterion_(y_pred, y)
        else:
            per_sample = self.per_sample_criterion_(y_pred, y)
            if per_sample.ndim > 1:
                per_sample = per_sample.flatten(1).mean(dim=1)
            loss = (per_sample * weight).sum() / weight.sum().clamp_min(1e-12)
        if training and self.l1:
            l1 = sum(p.abs().sum() for p in self.module_.parameters() if p.ndim > 1)
            loss = loss + self.l1 * l1 / len(y_pred)
        return loss


def map_padded(batches, fn, device="cpu"):
    """Yield ``fn(X)`` for each ``(X, _)`` of ``batches``, rows padded to a multiple of 32
    for the call and cut back after it (see :meth:`Engine.map_batches`)."""
    for Xi, _ in batches:
        n = n_rows(Xi)
        pad = -n % ROW_ALIGNMENT
        if pad:
            Xi = map_arrays(partial(_pad_rows, pad=pad), Xi)
        yield to_device(fn(Xi)[:n], device)


def _pad_rows(X, pad):
    """Append ``pad`` zero rows to a dense or sparse-CSR batch."""
    if X.layout == torch.sparse_csr:
        crow = X.crow_indices()
        crow = torch.cat([crow, crow[-1:].expand(pad)])
        return torch.sparse_csr_tensor(crow, X.col_indices(), X.values(),
                                       size=(X.shape[0] + pad, *X.shape[1:]))
    if X.ndim == 1:  # per-sample integers such as sequence lengths: pad with ones
        return torch.cat([X, X.new_ones(pad)])
    return torch.cat([X, X.new_zeros((pad, *X.shape[1:]))])
