"""The engine's second loop: many prepared training calls as one stacked network.

A fit is a transaction (:mod:`sktune._training`): ``_begin_fit`` prepares a run — an
initialised :class:`~sktune.engine.Engine` whose module holds the estimator's own
initial weights, and its dataset — and ``_end_fit`` commits what the engine recorded.
:meth:`Engine.partial_fit <sktune.engine.Engine.partial_fit>` trains one run;
:func:`train_stacked` trains K runs at once, and both share the engine's per-call,
per-pass and per-epoch steps (:meth:`~sktune.engine.Engine.begin_call`,
:meth:`~sktune.engine.Engine.end_pass`, :meth:`~sktune.engine.Engine.end_epoch`), its
L1/L2 rule (:func:`~sktune.engine._losses.norm`), inference chunking, thread policy
and seeding, so that a stacked copy cannot drift from its single fit. The copies'
modules are stacked (:class:`~sktune.nn.Stackable`) and every step runs once for all
copies, while each copy keeps what makes its fit its own:

- its rows and their order: its own training set and hold-out split (the engine's own
  ``train_split``), one ``randperm`` per epoch from its own generator, contiguous
  batches — the batches of its unfused fit;
- its loss (weighted mean, L1 on its batch, its sample and class weights), gradient
  clipping and optimizer maths with its own hyperparameters
  (:class:`~sktune.engine._stacked_optim.StackedOptimizer`);
- everything per epoch, run by its *own* engine and callbacks: the learning-rate
  schedule, the history row, the divergence check, the stopping rule with patience and
  best-weight restore. The copy's module holds views of the stacked weights, so its
  callbacks read and restore its current weights as in an unfused fit.

A copy stops updating at its own ``max_iter`` or stopping rule; finished copies leave
the group and the remaining ones are re-stacked. A copy whose loss diverges, or whose
callbacks raise, fails alone: its outcome holds the exception and the others go on.
Without dropout a fused copy reproduces its unfused fit up to float rounding.
"""

import math
import time
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from sktune.engine._data import ONE_ROW_BATCH, batch_bounds, inference_batch_size
from sktune.engine._losses import norm, weighted_mean
from sktune.engine._net import _close_progress
from sktune.engine._precision import autocast
from sktune.engine._random import seeded
from sktune.engine._stacked_data import Rows, SharedData
from sktune.engine._stacked_optim import StackedOptimizer, solver_of
from sktune.engine._threads import torch_threads


@runtime_checkable
class TrainingCall(Protocol):
    """What the stacked loop needs of a prepared call (a ``FitRun`` is one).

    ``net`` is the initialised :class:`~sktune.engine.Engine` to train, ``dataset`` its
    :class:`~sktune.engine.ArrayDataset` and ``epochs`` the epochs to run.

    Parameters
    ----------
    *args, **kwargs
        Not used: a protocol is not instantiated (``typing.Protocol``'s signature).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from sktune.engine import TrainingCall
    >>> isinstance(SimpleNamespace(net=None, dataset=None, epochs=3), TrainingCall)
    True
    """

    net: object
    dataset: object
    epochs: int


@dataclass
class StackedOutcome:
    """How one run of :func:`train_stacked` ended.

    :func:`train_stacked` returns one per run, filled in as the run trains.

    Parameters
    ----------
    error : BaseException or None
        The exception its unfused fit would have raised (divergence, a bad split...).
    seconds : float
        Its share of the group's training time: each epoch's time divided among the
        copies that trained in it.

    Examples
    --------
    >>> from sktune.engine import StackedOutcome
    >>> StackedOutcome()
    StackedOutcome(error=None, seconds=0.0)
    """

    error: BaseException = None
    seconds: float = 0.0


def train_stacked(runs, on_done=None):
    """Train ``runs`` (:class:`TrainingCall` objects with equal
    :func:`~sktune.engine.stack_key`) as one network.

    Each run's engine ends as its unfused ``partial_fit`` would leave it: trained
    weights, history, ``epochs_done_``, ``stop_reason_``, ``samples_seen_``, callback
    and optimizer state; the caller then commits it with ``_end_fit``.

    Parameters
    ----------
    runs : list of TrainingCall
        The calls to train, with equal stack keys.
    on_done : callable, default=None
        Called as ``on_done(i, outcome)`` when run ``i`` finishes or fails.

    Returns
    -------
    outcomes : list of StackedOutcome
        One per run, in order.
    """
    outcomes = [StackedOutcome() for _ in runs]
    if not runs:
        return outcomes
    start = time.perf_counter()
    data = SharedData()
    copies = []
    for i in sorted(range(len(runs)), key=lambda i: solver_of(runs[i].net.optimizer_)):
        try:
            copies.append(_Copy(i, runs[i], data))
        except Exception as exc:  # a bad split, a callback: this fit fails alone
            _fail(outcomes, i, exc, runs[i].net, on_done)
    if not copies:
        return outcomes
    device = copies[0].net.device
    data.finish(device)
    setup = (time.perf_counter() - start) / len(copies)
    for copy in copies:
        outcomes[copy.index].seconds += setup
    group = None
    # torch's random state (dropout masks) for the group, seeded from its first copy
    with seeded(copies[0].net.seed, device):
        try:
            group = _Group(copies, data, outcomes, on_done)
            with torch_threads(group.threads()):
                group.train()
        except _Abort as abort:  # on_done raised: that is the caller's to handle
            raise abort.error from None
        except Exception as exc:  # not one copy's doing (memory...): the rest fail with it
            for copy in copies:
                if copy.active:
                    copy.active = False
                    _fail(outcomes, copy.index, exc, copy.net, on_done)
        finally:
            if group is not None:
                group.close()
    for copy in copies:
        if outcomes[copy.index].error is None:
            with copy.net._random_state():  # continued training draws afresh, as after a fit
                pass
    return outcomes


def _fail(outcomes, i, exc, net, on_done):
    outcomes[i].error = exc
    _close_progress(net)
    if on_done is not None:
        on_done(i, outcomes[i])


class _Abort(Exception):
    """An exception of ``on_done``, carried through the group's per-copy error handling."""

    def __init__(self, error):
        super().__init__(error)
        self.error = error


def _call(on_done, i, outcome):
    try:
        on_done(i, outcome)
    except BaseException as exc:
        raise _Abort(exc) from exc


@dataclass(eq=False)
class _Copy:
    """One run inside a fused group: its engine, rows and per-copy settings."""

    index: int
    run: object
    data: SharedData
    active: bool = field(default=True)

    def __post_init__(self):
        net, dataset = self.run.net, self.run.dataset
        self.net = net
        net.begin_call(self.run.epochs)
        net.check_training_readiness()
        offset = self.data.add(dataset)
        n = len(dataset)
        if net.train_split is None:
            train, valid = np.arange(n), None
        else:
            train, valid = net.train_split(Rows(n, dataset.stratify))
        self.train_rows = torch.from_numpy(np.asarray(train, dtype=np.int64) + offset)
        self.valid_rows = (None if valid is None else
                           torch.from_numpy(np.asarray(valid, dtype=np.int64) + offset))
        self.weighted = dataset.sample_weight is not None
        net.notify("on_train_begin", X=dataset, y=None)
        clip = dict(net.callbacks_).get("grad_clip")
        self.clip = math.inf if clip is None or clip.gradient_clip_value is None \
            else float(clip.gradient_clip_value)

    @property
    def n_train(self):
        return len(self.train_rows)


class _Group:
    """The copies training together, their stacked module and optimizer."""

    def __init__(self, copies, data, outcomes, on_done):
        self.copies, self.data, self.outcomes, self.on_done = copies, data, outcomes, on_done
        self.reported = set()
        first = copies[0].net
        self.batch_size, self.device = first.batch_size, first.device
        self.criterion, self.precision = first.criterion_, first.precision
        for copy in copies:
            copy.train_rows = copy.train_rows.to(self.device)
            if copy.valid_rows is not None:
                copy.valid_rows = copy.valid_rows.to(self.device)
        self.min_rows = first.min_batch_rows()  # the single loop's batching rule
        for copy in copies:
            copy.batches = batch_bounds(copy.n_train, self.batch_size, self.min_rows)
        self.module = None
        self._stack()
        if self.module.needs_two_rows:  # a one-row batch: what torch refuses unstacked
            for copy in list(self.copies):
                if any(stop - start == 1 for start, stop in copy.batches):
                    self._fail(copy, ValueError(ONE_ROW_BATCH))
            self._compact()

    # ---- stacking -----------------------------------------------------------------
    def _stack(self):
        modules = [c.net.module_ for c in self.copies]
        self.module = modules[0].stack(modules)
        self.optimizer = StackedOptimizer(self.module, [c.net.optimizer_ for c in self.copies])
        self._per_copy()

    def _per_copy(self):
        """Per-copy tensors of the current copies (rebuilt when the group shrinks)."""
        like = next(self.module.parameters())
        nets = [c.net for c in self.copies]
        self.l1 = torch.tensor([float(n.l1) for n in nets], dtype=like.dtype, device=self.device)
        self.use_l1 = any(float(n.l1) for n in nets)
        clips = [c.clip for c in self.copies]
        self.clip = None if all(math.isinf(c) for c in clips) else torch.tensor(
            clips, dtype=like.dtype, device=self.device)
        self._plan_steps()

    def _plan_steps(self):
        """The training steps of an epoch: step ``s`` trains batch ``s`` of every copy
        (``Copy.batches``, cut as the single loop cuts them), over index columns
        ``[start, start + width)``; ``counts[s, k]`` rows of copy ``k`` are real (0: the
        copy has no batch left) and ``masks[s]`` marks them (None when all are)."""
        self.width = max(c.n_train for c in self.copies)
        n_steps = max(len(c.batches) for c in self.copies)
        self.counts = np.zeros((n_steps, len(self.copies)), dtype=np.int64)
        for k, copy in enumerate(self.copies):
            for s, (start, stop) in enumerate(copy.batches):
                self.counts[s, k] = stop - start
        self.steps, self.masks = [], []
        for s in range(n_steps):
            width = int(self.counts[s].max())
            self.steps.append((s * self.batch_size, width))
            full = bool((self.counts[s] == width).all())
            self.masks.append(None if full else torch.arange(width, device=self.device) <
                              torch.as_tensor(self.counts[s], device=self.device)[:, None])

    def _compact(self):
        """Drop finished copies: they get their own storage, the rest are re-stacked."""
        keep = [i for i, c in enumerate(self.copies) if c.active]
        if len(keep) == len(self.copies):
            return
        for i, copy in enumerate(self.copies):
            if not copy.active:
                self.module.release([i])
        if not keep:
            self.copies, self.module = [], None
            return
        old = self.optimizer
        self.copies = [self.copies[i] for i in keep]
        modules = [c.net.module_ for c in self.copies]
        self.module = modules[0].stack(modules)
        self.optimizer = old.select(keep, self.module)
        self._per_copy()

    def close(self):
        if self.module is not None:
            self.module.release()
            self.module = None

    def threads(self):
        """Intra-op threads for the stacked steps: the engine's policy applied to the
        work of all copies together (see :mod:`sktune.engine._threads`)."""
        first = self.copies[0]
        return first.net.step_threads(first.run.dataset, copies=len(self.copies))

    # ---- the loop ------------------------------------------------------------------
    def train(self):
        try:
            self._epochs()
        except KeyboardInterrupt:
            self._interrupted()

    def _interrupted(self):
        """Ctrl-C: each copy still training ends as its single fit ends on Ctrl-C
        (:meth:`Engine.partial_fit <sktune.engine.Engine.partial_fit>`): stop reason
        "interrupted", the unfinished epoch's history row dropped, ``on_train_end`` run
        (which restores the best weights); then the copies are reported as finished. A
        copy that had not finished an epoch is then refused by its commit, as its single
        fit would be."""
        for i, copy in enumerate(self.copies):
            if copy.active:
                net = copy.net
                net.stop_reason_ = "interrupted"
                net.drop_unfinished_epoch()
                self._guard(copy, net.notify, "on_train_end", X=copy.run.dataset, y=None)
                copy.active = False
                self.optimizer.export(i)
        for copy in self.copies:
            self._report(copy)

    def _report(self, copy):
        """Hand a finished copy to ``on_done`` (once)."""
        if copy.index in self.reported:
            return
        self.reported.add(copy.index)
        if self.outcomes[copy.index].error is None and self.on_done is not None:
            _call(self.on_done, copy.index, self.outcomes[copy.index])

    def _epochs(self):
        while self.copies:
            start = time.perf_counter()
            for copy in self.copies:
                self._guard(copy, copy.net.notify, "on_epoch_begin",
                            dataset_train=None, dataset_valid=None)
            self._compact()
            if not self.copies:
                break
            trained = list(self.copies)
            self.optimizer.refresh()
            losses = self._train_epoch()
            valid = self._validate()
            seconds = (time.perf_counter() - start) / len(trained)
            for i, copy in enumerate(trained):
                self._guard(copy, self._end_epoch, copy, losses[i], valid.get(i), seconds)
                self.outcomes[copy.index].seconds += seconds
            for i, copy in enumerate(self.copies):
                if copy.active:
                    continue
                self.optimizer.export(i)
                self._report(copy)
            self._compact()

    def _guard(self, copy, fn, *args, **kwargs):
        """Run a per-copy step; an exception fails that copy only."""
        if not copy.active:
            return
        try:
            fn(*args, **kwargs)
        except Exception as exc:
            self._fail(copy, exc)

    def _fail(self, copy, exc):
        copy.active = False
        self.reported.add(copy.index)
        _fail(self.outcomes, copy.index, exc, copy.net,
              None if self.on_done is None else lambda i, o: _call(self.on_done, i, o))

    def _end_epoch(self, copy, losses, valid, seconds):
        """What the engine's ``fit_loop`` does after an epoch, on the copy's own engine;
        the epoch's duration (``dur``) is the copy's share of the group's time."""
        net = copy.net
        loss, first = losses
        net.end_pass("train", loss, len(copy.batches), copy.n_train,
                     first_loss=first)
        if valid is not None:
            v_loss, batches, score = valid
            net.end_pass("valid", v_loss, batches, len(copy.valid_rows), score=score)
        net.end_epoch(copy.n_train, dataset_train=None, dataset_valid=None)
        net.history.record("dur", seconds)
        if net.stop_reason_ is not None or net.epochs_done_ >= copy.run.epochs:
            net.notify("on_train_end", X=copy.run.dataset, y=None)
            copy.active = False

    def _train_epoch(self):
        """One epoch of every copy; returns per copy ``(epoch loss, first batch loss)``
        as floats."""
        copies = self.copies
        K, width = len(copies), self.width
        index = torch.empty((K, width), dtype=torch.long, device=self.device)
        for k, copy in enumerate(copies):
            order = (torch.randperm(copy.n_train, generator=copy.net.generator_)
                     if copy.net.shuffle else torch.arange(copy.n_train))
            rows = copy.train_rows[order.to(self.device)]
            index[k, :copy.n_train] = rows
            index[k, copy.n_train:] = rows[0]
        self.module.train()
        losses = []
        for (start, step_width), mask, counts in zip(self.steps, self.masks, self.counts):
            losses.append(self._step(index[:, start:start + step_width], mask, counts))
        losses = torch.stack(losses)
        sizes = torch.as_tensor(self.counts, dtype=losses.dtype, device=self.device)
        epoch = (losses * sizes).sum(0) / sizes.sum(0)
        return torch.stack([epoch, losses[0]], 1).tolist()

    def _step(self, index, mask, counts):
        """One training step of every copy on rows ``index`` ``(K, b)``; ``mask`` marks
        real rows when some copy has fewer than ``b`` (None: all real)."""
        data = self.data
        with autocast(self.device, self.precision):  # the engine's train_step does the same
            out = self.module(data.X[index], mask)
        if self.precision != "full":
            out = out.float()
        loss = self._loss(out, index, mask)
        if self.use_l1:  # the engine's L1 term (Engine.get_loss), per copy
            rows = torch.as_tensor(counts, dtype=out.dtype, device=self.device).clamp_min(1)
            loss = loss + self.l1 * norm(self.module.parameters(), 1, copies=True) / rows
        self.module.zero_grad(set_to_none=True)
        loss.sum().backward()
        if self.clip is not None:
            self._clip_gradients()
        self.optimizer.step(idle=np.flatnonzero(counts == 0).tolist())
        return loss.detach()

    def _loss(self, out, index, mask):
        """Each copy's (weighted) mean loss over its real rows: shape ``(K,)``."""
        K, b = index.shape
        y = self.data.y[index]
        # (K, b, outputs), or (K, b, members, outputs) for a network of members
        per = self.criterion.per_sample(out.reshape((K * b,) + out.shape[2:]),
                                        y.reshape((K * b,) + y.shape[2:])).view(K, b)
        weight = self.data.w[index] if self.data.w is not None else None
        if mask is not None:
            m = mask.to(per.dtype)
            weight = m if weight is None else weight * m
        return weighted_mean(per, weight, dim=1)

    @torch.no_grad()
    def _clip_gradients(self):
        """Each copy's gradients scaled to its ``max_grad_norm`` (torch's
        ``clip_grad_norm_`` over that copy's parameters)."""
        grads = [p.grad for p in self.module.parameters() if p.grad is not None]
        norm = sum(g.square().flatten(1).sum(1) for g in grads).sqrt()
        coef = (self.clip / (norm + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(coef.view((-1,) + (1,) * (g.ndim - 1)))

    @torch.no_grad()
    def _validate(self):
        """Validation loss, batch count and score of every copy with a hold-out set:
        ``{position: (loss, batches, score)}``."""
        which = [k for k, c in enumerate(self.copies) if c.active and c.valid_rows is not None]
        if not which:
            return {}
        copies, data = self.copies, self.data
        K = len(copies)
        sizes = [len(c.valid_rows) if k in which else 0 for k, c in enumerate(copies)]
        width = max(sizes)
        index = torch.empty((K, width), dtype=torch.long, device=self.device)
        for k, copy in enumerate(copies):
            rows = copy.valid_rows if k in which else copy.train_rows[:1]
            index[k, :len(rows)] = rows
            index[k, len(rows):] = rows[0]
        n = torch.tensor(sizes, device=self.device)
        mask = torch.arange(width, device=self.device) < n.unsqueeze(1)
        chunk = inference_batch_size(self.batch_size, data.X)
        self.module.eval()
        losses, counts, outputs = [], [], []
        for start in range(0, width, chunk):
            part = index[:, start:start + chunk]
            out = self.module(data.X[part])
            losses.append(self._loss(out, part, mask[:, start:start + chunk]))
            counts.append((n - start).clamp(0, part.shape[1]))
            outputs.append(out)
        losses = torch.stack(losses)
        counts = torch.stack(counts).to(losses.dtype)
        loss = ((losses * counts).sum(0) / counts.sum(0).clamp_min(1)).tolist()
        outputs = torch.cat(outputs, 1)
        result = {}
        for k in which:
            copy = copies[k]
            rows = copy.valid_rows
            y = data.y[rows]
            w = data.w[rows] if copy.weighted else None
            score = copy.net.score_fn(outputs[k, :len(rows)], y, w)
            result[k] = (loss[k], -(-len(rows) // chunk), score)
        return result

