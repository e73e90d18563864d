"""The one training engine: a skorch ``NeuralNet`` tuned for in-memory data.

skorch provides the structure (``fit_loop -> run_single_epoch -> train_step``),
callbacks, history, device handling and pickling. This subclass overrides the steps
whose general form costs time on small networks: batches are tensor slices
(:class:`~sktune.engine.TensorBatches`), the epoch loss is summed on the device and read
once per epoch, per-batch callback hooks run only if a callback implements them, and
training stops through :meth:`request_stop` rather than an exception. Its pickles hold
the weights once (:mod:`sktune.engine._persist`).
"""

import copy
import math
import warnings
from contextlib import contextmanager
from functools import partial

import scipy.sparse as sp
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EpochTimer
from skorch.exceptions import DeviceWarning
from skorch.utils import to_device

from sktune.engine._callbacks import EpochLog, LossMarks
from sktune.engine._data import (
    ONE_ROW_BATCH,
    ArrayDataset,
    TensorBatches,
    first_row,
    inference_batch_size,
    map_arrays,
    n_rows,
)
from sktune.engine._losses import is_penalized, norm
from sktune.engine._optim import import_torch_compiler
from sktune.engine._persist import (
    module_to_state,
    numpy_to_tensors,
    state_to_module,
    tensors_to_numpy,
)
from sktune.engine._precision import autocast, loss_scaler
from sktune.engine._random import forked_rng
from sktune.engine._scoring import SkorchScoring, skorch_early_stop
from sktune.engine._threads import macs_per_sample, threads_for, torch_threads
from sktune.exceptions import TrainingDivergedError
from sktune.nn._layers import batch_statistics
from sktune.nn._protocols import LayerwiseLR, SparseInput

ROW_ALIGNMENT = 32
_BATCH_HOOKS = ("on_batch_begin", "on_batch_end", "on_grad_computed")


class Engine(SkorchScoring, NeuralNet):
    """The skorch net used by every sktune estimator; users rarely meet it directly.

    A :class:`skorch.NeuralNet` whose batches are tensor slices
    (:class:`~sktune.engine.TensorBatches` over an :class:`~sktune.engine.ArrayDataset`),
    whose epoch loss is read once per epoch and whose training ends through
    :meth:`request_stop`. It takes every parameter of :class:`skorch.NeuralNet`, and
    those below.

    Parameters
    ----------
    *args, **kwargs
        :class:`skorch.NeuralNet`'s parameters (``module``, ``criterion``,
        ``optimizer``, ``lr``, ``max_epochs``, ``batch_size``, ``train_split``,
        ``callbacks``, ``device``...); ``iterator_train``, ``iterator_valid`` and
        ``dataset`` default to :class:`~sktune.engine.TensorBatches` and
        :class:`~sktune.engine.ArrayDataset`.
    score_fn : callable, default=None
        ``score_fn(y_pred, y, sample_weight) -> float`` recorded as ``valid_score``.
    l1 : float, default=0.0
        L1 penalty on weight matrices, ``l1 * sum|W| / batch_size`` added to the loss.
    weight_decay : float, default=0.0
        Passed to the optimizer for weight matrices only (not biases or norm layers).
    shuffle : bool, default=True
        Draw a new order of the training rows at every epoch.
    seed : int, default=None
        Seed of the shuffling generator and of torch's random state during training
        (dropout, augmentation). Both continue across calls, so ``n`` one-epoch calls
        draw what one ``n``-epoch call draws.
    lr_scales : dict, default=None
        Learning-rate multiplier per part of a :class:`~sktune.nn.LayerwiseLR` module.
    divergence_threshold : float or None, default=1e4
        Raise :class:`~sktune.exceptions.TrainingDivergedError` when an epoch's training
        loss exceeds this many times the loss at the start of the call (the first
        batch, before any update) or ``loss_floor``, whichever is larger. NaN and
        infinite losses always raise. None disables the ratio check.
    loss_floor : float, default=0.0
        Loss of a trivial model (class priors, the mean), so that a start near zero
        loss does not make the ratio check hair-triggered.
    l2_penalty : float, default=0.0
        ``0.5 * l2_penalty * sum ||W||^2`` over weight matrices is added to the recorded
        training loss (scikit-learn reports its loss with the penalty; the optimizer
        applies the penalty's gradient as weight decay).
    keep_optimizer_state : bool, default=False
        Pickle the optimizer's state too (Adam moments, momentum buffers): a loaded
        model then continues ``partial_fit``/``warm_start`` exactly where it stopped.
        Without it the pickle holds the weights once and training after loading
        starts a fresh optimizer state.
    precision : {"full", "bf16-mixed", "16-mixed"}, default="full"
        The arithmetic of training steps' forward passes (see
        :mod:`sktune.engine._precision`): the network's own dtype, or autocast to
        bfloat16 / float16 with float32 weights, gradients, optimizer state and loss.
        Validation and predictions use the float32 weights.
    outputs : TaskOutputs, default=None
        How the task reads the network's outputs (probabilities, predictions in the
        encoded label space) and targets, for skorch callbacks that score the net
        (``EpochScoring``): ``predict`` / ``predict_proba`` return them. None: skorch's.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from sktune.engine import Engine, SampleLoss
    >>> X = np.random.RandomState(0).rand(64, 3).astype(np.float32)
    >>> y = X @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32)
    >>> net = Engine(torch.nn.Linear(3, 1), criterion=SampleLoss("squared_error"),
    ...              optimizer=torch.optim.Adam, lr=0.1, max_epochs=5, batch_size=16,
    ...              train_split=None, seed=0, verbose=0).fit(X, y)
    >>> net.epochs_done_, net.predict(X[:2]).shape
    (5, (2, 1))
    """

    def __init__(self, *args, score_fn=None, l1=0.0, weight_decay=0.0, shuffle=True, seed=None,
                 lr_scales=None, divergence_threshold=1e4, loss_floor=0.0, l2_penalty=0.0,
                 keep_optimizer_state=False, precision="full", outputs=None, **kwargs):
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
        self.divergence_threshold = divergence_threshold
        self.loss_floor = loss_floor
        self.l2_penalty = l2_penalty
        self.keep_optimizer_state = keep_optimizer_state
        self.precision = precision
        self.outputs = outputs

    @property
    def _default_callbacks(self):
        return [("epoch_timer", EpochTimer()), ("loss_marks", LossMarks())]

    def initialize(self):
        import_torch_compiler()  # before skorch creates the optimizer (see its docstring)
        super().initialize()
        self.generator_ = torch.Generator()
        if self.seed is not None:
            self.generator_.manual_seed(int(self.seed))
        self.rng_state_ = None
        self.samples_seen_ = 0
        self.stop_reason_ = None
        self.macs_per_sample_ = None
        self.scaler_ = loss_scaler(self.device, self.precision)
        return self

    def initialize_callbacks(self):
        super().initialize_callbacks()
        return self.initialize_hooks()

    def initialize_hooks(self):
        """Note which per-batch hooks the callbacks implement (only those are called).

        Returns
        -------
        self : Engine
            This net.
        """
        self._hooks_ = {
            hook for hook in _BATCH_HOOKS for _, cb in self.callbacks_
            if getattr(type(cb), hook) is not getattr(Callback, hook)
        }
        return self

    # ---- optimizer ---------------------------------------------------------------
    def get_params_for_optimizer(self, prefix, named_parameters):
        """Parameter groups: weight matrices get ``weight_decay`` (biases and norm layers
        none), and a :class:`~sktune.nn.LayerwiseLR` module gets one learning rate per
        part, ``lr * lr_scales[part]`` (discriminative fine-tuning). One group when
        neither applies: one fused optimizer kernel per step."""
        kwargs = self.get_params_for(prefix)
        lr = kwargs.setdefault("lr", self.lr)
        part_of = (self.module_.lr_group
                   if self.lr_scales and isinstance(self.module_, LayerwiseLR) else None)
        groups = {}
        for name, p in named_parameters:
            key = (part_of(name) if part_of else None, bool(self.weight_decay) and is_penalized(p))
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
                                 generator=self.generator_, device=self.device,
                                 sparse_batches=self._sparse_batches(),
                                 min_rows=self.min_batch_rows())
        size = inference_batch_size(self.batch_size, dataset.X)
        return TensorBatches(dataset, size, shuffle=False, device=self.device,
                             sparse_batches=self._sparse_batches())

    def min_batch_rows(self):
        """Fewest rows a training batch may have: 2 for a network with batch norm (a
        last batch of one row joins the one before), else 1. Both loops apply it.

        Returns
        -------
        int
            1 or 2.
        """
        return 2 if batch_statistics(self.module_) else 1

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

        Parameters
        ----------
        X : array-like, sparse matrix or tuple of arrays
            The inputs, as ``predict`` takes them.
        fn : callable
            Called on each padded input batch; its output is returned without the
            padded rows.
        device : str or None, default="cpu"
            Where the outputs are moved (None: left where they are).

        Yields
        ------
        object
            ``fn``'s output for each batch, padding removed.
        """
        yield from map_padded(self.get_iterator(self.get_dataset(X), training=False), fn, device)

    # ---- loop ----------------------------------------------------------------------
    def request_stop(self, reason):
        """Ask the fit loop to end after the current epoch (called by callbacks).

        Parameters
        ----------
        reason : str
            Recorded as ``stop_reason_``; the first request of a call wins.
        """
        if getattr(self, "stop_reason_", None) is None:
            self.stop_reason_ = reason

    def partial_fit(self, X, y=None, classes=None, epochs=None, **fit_params):
        """Train for ``epochs`` more epochs (default ``max_epochs``), continuing the
        weights, optimizer, schedules, shuffling and random state of earlier calls.

        Ctrl-C ends the call after restoring the best weights seen, with
        ``stop_reason_ == "interrupted"``; the unfinished epoch leaves no history row.
        ``epochs_done_`` counts the epochs this call completed.
        """
        self.begin_call(self.max_epochs if epochs is None else epochs)
        with torch_threads(self.step_threads(X)), self._random_state():
            self.notify("on_train_begin", X=X, y=y)
            try:
                self.fit_loop(X, y, epochs=self.max_epochs_this_call_)
            except KeyboardInterrupt:
                # skorch's EarlyStopping stops a net by raising KeyboardInterrupt too
                self.stop_reason_ = skorch_early_stop(self) or "interrupted"
                self.drop_unfinished_epoch()
            except BaseException:
                _close_progress(self)
                raise
            self.notify("on_train_end", X=X, y=y)
        return self

    def begin_call(self, epochs):
        """Reset the per-call state of a training call of ``epochs`` epochs (every loop
        that trains this net, single or stacked, starts with it).

        Parameters
        ----------
        epochs : int
            Most epochs the call may train.
        """
        if not self.initialized_:
            self.initialize()
        if self.optimizer_ is None:  # unpickled without its optimizer state
            self.initialize_optimizer()
        self.stop_reason_ = None
        self.epochs_done_ = 0
        self.rows_before_call_ = len(self.history)
        self.max_epochs_this_call_ = epochs
        self.start_loss_ = None

    def drop_unfinished_epoch(self):
        """Ctrl-C: drop the history row of an epoch that did not end (it may hold its
        training pass's loss already, if the interrupt came in its validation pass), so
        that the history has one row per counted epoch (``epochs_done_``)."""
        while len(self.history) > self.rows_before_call_ + self.epochs_done_:
            self.history.pop()

    def step_threads(self, dataset, copies=1):
        """Intra-op threads for training steps of this net, or of ``copies`` stacked copies
        of it, on ``dataset`` (see :mod:`._threads`).

        Parameters
        ----------
        dataset : ArrayDataset or object
            The training data; other datasets get no thread count.
        copies : int, default=1
            Copies trained together by the stacked loop.

        Returns
        -------
        int or None
            Threads to train with; None off the CPU or for a dataset of another kind
            (torch's setting is then left as it is).
        """
        if torch.device(self.device).type != "cpu" or not isinstance(dataset, ArrayDataset):
            return None
        if self.macs_per_sample_ is None:
            try:
                sample = map_arrays(lambda a: torch.from_numpy(a.toarray()) if sp.issparse(a)
                                    else a, first_row(dataset.X))
                self.macs_per_sample_ = macs_per_sample(self.module_, sample)
            except Exception:  # an exotic module: count its parameters instead
                self.macs_per_sample_ = sum(p.numel() for p in self.module_.parameters())
        flops = 6 * self.macs_per_sample_ * self.batch_size * copies
        return threads_for(flops, self.device, bf16=self.precision == "bf16-mixed")

    @contextmanager
    def _random_state(self):
        """torch's random state for this call: seeded on the first call, continued after;
        the caller's own random state is restored on exit."""
        with forked_rng(self.device) as devices:
            if self.rng_state_ is None:
                torch.manual_seed(int(self.seed or 0))
            else:
                torch.set_rng_state(self.rng_state_[0])
                if devices and self.rng_state_[1] is not None:
                    torch.cuda.set_rng_state(self.rng_state_[1], devices[0])
            try:
                yield
            finally:
                self.rng_state_ = (torch.get_rng_state(),
                                   torch.cuda.get_rng_state(devices[0]) if devices else None)

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        self.check_training_readiness()
        epochs = self.max_epochs if epochs is None else epochs
        dataset_train, dataset_valid = self.get_split_datasets(X, y)
        kwargs = {"dataset_train": dataset_train, "dataset_valid": dataset_valid}
        iterator_train = self.get_iterator(dataset_train, training=True)
        iterator_valid = None
        if dataset_valid is not None:
            iterator_valid = self.get_iterator(dataset_valid, training=False)
        for _ in range(epochs):
            self.notify("on_epoch_begin", **kwargs)
            self.run_single_epoch(iterator_train, training=True, prefix="train",
                                  step_fn=self.train_step)
            self.run_single_epoch(iterator_valid, training=False, prefix="valid",
                                  step_fn=self.validation_step)
            self.end_epoch(len(dataset_train), **kwargs)
            if self.stop_reason_ is not None:
                break
        return self

    # ---- what every loop does after a pass and an epoch (single and stacked) ----------
    def end_pass(self, prefix, loss, batch_count, rows, *, first_loss=None, score=None,
                 summary=True):
        """Record a pass over the training (``prefix="train"``) or validation rows —
        ``prefix_loss``, ``prefix_batch_count`` and, with ``summary``, one batch row for
        skorch callbacks that read per-batch entries — and check it for divergence.
        ``loss`` is the mean batch loss; a training pass adds the L2 term to it, as
        scikit-learn reports its loss; ``first_loss`` is the pass's first batch loss (the
        reference of the divergence check); ``score`` goes in ``prefix_score``.

        Parameters
        ----------
        prefix : {"train", "valid"}
            Which pass this is.
        loss : float
            Mean batch loss of the pass.
        batch_count : int
            Batches of the pass.
        rows : int
            Rows of the pass, recorded as the batch size of the summary row.
        first_loss : float, default=None
            Loss of the pass's first batch (training passes).
        score : float, default=None
            Validation score of the pass.
        summary : bool, default=True
            Record one batch row for skorch callbacks that read per-batch entries.
        """
        training = prefix == "train"
        if training and self.start_loss_ is None:
            self.start_loss_ = first_loss
        if training and self.l2_penalty:
            with torch.no_grad():
                loss += 0.5 * self.l2_penalty * float(norm(self.module_.parameters(), 2))
        self.history.record(prefix + "_loss", loss)
        self.history.record(prefix + "_batch_count", batch_count)
        if summary:
            self.history.new_batch()
            self.history.record_batch(prefix + "_loss", loss)
            self.history.record_batch(prefix + "_batch_size", rows)
        if score is not None:
            self.history.record(prefix + "_score", score)
        self.check_divergence(prefix, loss, score)

    def end_epoch(self, n_train, **kwargs):
        """Count the epoch (``n_train`` training rows) and run the ``on_epoch_end``
        callbacks: the schedule, the stopping rule, the history's last entries.

        Parameters
        ----------
        n_train : int
            Training rows of the epoch, added to ``samples_seen_``.
        **kwargs
            Passed to the callbacks' ``on_epoch_end``.
        """
        self.samples_seen_ += n_train
        self.epochs_done_ += 1
        self.notify("on_epoch_end", **kwargs)

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        if iterator is None:
            return
        self._set_training(training)
        hooks = self._hooks_
        losses, sizes = [], []
        outputs = [] if not training and self.score_fn is not None else None
        for batch in iterator:
            if "on_batch_begin" in hooks:
                self.notify("on_batch_begin", batch=self._skorch_batch(batch),
                            training=training)
            step = step_fn(batch)
            losses.append(step["loss"].detach())
            sizes.append(n_rows(batch[0]))
            if outputs is not None:
                outputs.append(step["y_pred"])
            if "on_batch_end" in hooks:  # per-batch rows only for callbacks that read them
                self.history.new_batch()
                self.history.record_batch(prefix + "_loss", float(losses[-1]))
                self.history.record_batch(prefix + "_batch_size", sizes[-1])
                self.notify("on_batch_end", batch=self._skorch_batch(batch),
                            training=training, **step)
        # one device->host read per epoch: the size-weighted mean of the batch losses
        weights = torch.tensor(sizes, dtype=losses[0].dtype, device=losses[0].device)
        stacked = torch.stack(losses)
        loss, first = torch.stack([stacked @ weights / weights.sum(), stacked[0]]).tolist()
        score = None
        if outputs is not None:
            data = iterator.dataset
            score = self.score_fn(torch.cat(outputs), data.y, data.sample_weight)
        # per-batch rows were written for callbacks that read them; else one summary row
        self.end_pass(prefix, loss, len(iterator), int(weights.sum()), first_loss=first,
                      score=score, summary="on_batch_end" not in hooks)

    def check_divergence(self, prefix, loss, score=None):
        """Raise :class:`TrainingDivergedError` on a non-finite loss or score, or on a
        training loss ``divergence_threshold`` times above where the call started.

        Parameters
        ----------
        prefix : {"train", "valid"}
            Which pass the values come from (named in the error).
        loss : float
            Mean loss of the pass.
        score : float, default=None
            Validation score of the pass.
        """
        epoch = len(self.history)
        if not math.isfinite(loss) or (score is not None and not math.isfinite(score)):
            what = f"{prefix} loss" if not math.isfinite(loss) else "validation score"
            value = loss if not math.isfinite(loss) else score
            raise TrainingDivergedError(
                "Solver produced non-finite parameter weights. The input data may contain "
                f"large values and need to be preprocessed. (The {what} became {value} in "
                f"epoch {epoch}: training diverged. {_DIVERGENCE_HINT})")
        if prefix != "train" or self.divergence_threshold is None:
            return
        reference = max(self.start_loss_, self.loss_floor)
        if reference > 0 and loss > self.divergence_threshold * reference:
            raise TrainingDivergedError(
                f"The training loss exploded to {loss:.4g} in epoch {epoch}, more than "
                f"divergence_threshold={self.divergence_threshold:g} times its value at the "
                f"start ({reference:.4g}): training diverged. {_DIVERGENCE_HINT} Set "
                "divergence_threshold=None to turn this check off.")

    def train_step(self, batch, **fit_params):
        Xi, yi = batch
        self.optimizer_.zero_grad(set_to_none=True)
        try:
            with autocast(self.device, self.precision):
                y_pred = self.infer(Xi)
        except ValueError as exc:  # torch's "Expected more than 1 value per channel..."
            if "more than 1 value per channel" in str(exc):
                raise ValueError(ONE_ROW_BATCH) from exc
            raise
        if self.precision != "full":  # the loss in the weights' float32, not bfloat16
            y_pred = y_pred.float()
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        scaler = self.scaler_
        (loss if scaler is None else scaler.scale(loss)).backward()
        if "on_grad_computed" in self._hooks_:
            if scaler is not None:  # clipping and penalties see the true gradients
                scaler.unscale_(self.optimizer_)
            self.notify("on_grad_computed", named_parameters=list(self.get_all_learnable_params()),
                        batch=batch, training=True)
        if scaler is None:
            self.optimizer_.step()
        else:  # skips a step whose float16 gradients overflowed, then adapts the scale
            scaler.step(self.optimizer_)
            scaler.update()
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
        """The criterion's (weighted) mean loss, plus the L1 penalty in training."""
        y, weight = y_true
        loss = self.criterion_(y_pred, y, weight)
        if training and self.l1:
            loss = loss + self.l1 * norm(self.module_.parameters(), 1) / len(y_pred)
        return loss

    # ---- persistence ---------------------------------------------------------------
    def __deepcopy__(self, memo):
        """A complete copy, optimizer state included (pickling may drop it, copying
        never does: warm starts train on copies)."""
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        for key, value in self.__dict__.items():
            new.__dict__[key] = copy.deepcopy(value, memo)
        return new

    def __getstate__(self):
        """The module's weights once, as numpy arrays; the optimizer's state only with
        ``keep_optimizer_state`` (see :mod:`sktune.engine._persist`)."""
        state = self.__dict__.copy()
        module = state.pop("module_", None)
        if state.get("module") is module:
            state["module"] = None
        if module is not None:
            state["_module_state"] = module_to_state(module)
        optimizer = state.pop("optimizer_", None)
        if self.keep_optimizer_state and optimizer is not None:
            state["_optimizer_state"] = tensors_to_numpy(optimizer.state_dict())
        state["optimizer_"] = None
        return state

    def __setstate__(self, state):
        for name, default in (("precision", "full"), ("scaler_", None), ("outputs", None)):
            state.setdefault(name, default)  # pickled before these existed
        device = state.get("device", "cpu")
        if torch.device(device).type == "cuda" and not torch.cuda.is_available():
            warnings.warn(f"Requested to load data to CUDA ({device!r}) but no CUDA devices "
                          "are available; the model is loaded on the CPU.", DeviceWarning,
                          stacklevel=2)
            device = state["device"] = "cpu"  # trained on a GPU, loaded without one
        module_state = state.pop("_module_state", None)
        optimizer_state = state.pop("_optimizer_state", None)
        self.__dict__.update(state)
        if module_state is not None:
            module = state_to_module(*module_state, device=device)
            self.__dict__["module_"] = module
            if self.__dict__.get("module") is None:
                self.__dict__["module"] = module
        if optimizer_state is not None:
            self.initialize_optimizer()
            self.optimizer_.load_state_dict(numpy_to_tensors(optimizer_state, device))


_DIVERGENCE_HINT = ("Try a lower learning_rate_init, gradient clipping (max_grad_norm) or "
                    "scaled inputs (StandardScaler).")


def _close_progress(net):
    """Close the progress bars of a fit that ends in an exception."""
    for _, callback in getattr(net, "callbacks_", []):
        if isinstance(callback, EpochLog):
            callback.close()


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
