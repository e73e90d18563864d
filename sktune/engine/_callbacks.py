"""Callbacks that give the skorch engine scikit-learn's training semantics."""

import math

from skorch.callbacks import Callback

#: scikit-learn's "adaptive" learning rate: divide by this on a plateau...
ADAPTIVE_DIVISOR = 5.0
#: ...and stop once the rate is at or below this.
ADAPTIVE_MIN_LR = 1e-6


def clone_state(module):
    """A detached copy of a module's state dict (cheaper than ``copy.deepcopy``).

    Parameters
    ----------
    module : torch.nn.Module
        The module whose parameters and buffers are copied.

    Returns
    -------
    dict
        Name -> a detached clone of that tensor, for ``module.load_state_dict``.

    Examples
    --------
    >>> from torch import nn
    >>> from sktune.engine import clone_state
    >>> layer = nn.Linear(2, 1)
    >>> state = clone_state(layer)
    >>> sorted(state)
    ['bias', 'weight']
    >>> state["weight"].data_ptr() != layer.weight.data_ptr()
    True
    """
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


class Convergence(Callback):
    """Stop when the monitored metric stops improving, as scikit-learn's MLP does.

    An epoch counts as no improvement when the metric is not better than the best so
    far by at least ``tol``; once more than ``n_iter_no_change`` such epochs follow each
    other, training stops — or, with ``adaptive=True`` (scikit-learn's
    ``learning_rate="adaptive"``), the learning rate is divided by 5 and the count
    restarts, training stopping only once the rate is at most 1e-6. The count and the
    best value persist across ``warm_start`` and ``partial_fit`` calls, as in
    scikit-learn. The best epoch's weights are kept: restored at the end of training
    when ``restore_best`` is true, and after an interrupt in any case.

    Parameters
    ----------
    monitor : str
        History key to watch (``"train_loss"`` or ``"valid_score"``).
    lower_is_better : bool
        Direction of improvement of ``monitor``.
    tol : float
        Minimum absolute improvement.
    n_iter_no_change : int or float
        Patience in epochs; ``inf`` never stops.
    restore_best : bool
        Load the best epoch's weights when training ends.
    adaptive : bool, default=False
        Lower the learning rate on a plateau instead of stopping (see above).

    Examples
    --------
    >>> from sktune.engine import Convergence
    >>> Convergence("train_loss", lower_is_better=True, tol=1e-4, n_iter_no_change=10,
    ...             restore_best=False).initialize().misses_
    0
    """

    def __init__(self, monitor, lower_is_better, tol, n_iter_no_change, restore_best,
                 adaptive=False):
        self.monitor = monitor
        self.lower_is_better = lower_is_better
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.restore_best = restore_best
        self.adaptive = adaptive

    def initialize(self):
        self.best_ = math.inf
        self.best_score_ = None
        self.misses_ = 0
        self.best_state_ = None
        return self

    def on_train_begin(self, net, **kwargs):
        # after a restoring call the current weights are the best ones: keep them as such
        if self.restore_best and self.best_score_ is not None:
            self.best_state_ = clone_state(net.module_)

    def on_epoch_end(self, net, **kwargs):
        score = net.history[-1, self.monitor]
        signed = score if self.lower_is_better else -score
        # scikit-learn's comparisons, to the letter (a NaN score raises in the engine)
        self.misses_ = self.misses_ + 1 if signed > self.best_ - self.tol else 0
        improved = signed < self.best_
        # True or False every epoch, as skorch's scoring callbacks record "<key>_best"
        net.history.record(self.monitor + "_best", bool(improved))
        if improved:
            self.best_, self.best_score_ = signed, score
            self.best_state_ = clone_state(net.module_)
        if self.misses_ > self.n_iter_no_change:
            self._on_plateau(net)

    def _on_plateau(self, net):
        what = "Training loss" if self.monitor == "train_loss" else "Validation score"
        message = (f"{what} did not improve more than tol={self.tol:f} for "
                   f"{self.n_iter_no_change} consecutive epochs.")
        schedule = dict(net.callbacks_).get("lr_schedule")
        lr = net.optimizer_.param_groups[0]["lr"]
        if self.adaptive and schedule is not None and lr > ADAPTIVE_MIN_LR:
            schedule.plateau_factor_ /= ADAPTIVE_DIVISOR
            self.misses_ = 0
            if net.verbose:
                print(f"{message} Setting learning rate to {lr / ADAPTIVE_DIVISOR:f}")
            return
        net.request_stop(message + (" Learning rate too small." if self.adaptive else ""))

    def on_train_end(self, net, **kwargs):
        interrupted = getattr(net, "stop_reason_", None) == "interrupted"
        if self.best_state_ is not None and (self.restore_best or interrupted):
            net.module_.load_state_dict(self.best_state_)
        self.best_state_ = None  # never pickled with the net: the weights travel once


class LossMarks(Callback):
    """Record ``train_loss_best`` and ``valid_loss_best`` (True or False) every epoch, as
    skorch's default ``PassthroughScoring`` callbacks do, so that skorch callbacks that
    monitor them (``Checkpoint``'s default ``monitor="valid_loss_best"``) work; the
    losses themselves are the engine's (not recomputed from the batch rows)."""

    def initialize(self):
        self.best_ = {}
        return self

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        for key in ("train_loss", "valid_loss"):
            if key in row:
                improved = row[key] < self.best_.get(key, math.inf)
                net.history.record(key + "_best", bool(improved))
                if improved:
                    self.best_[key] = row[key]


class LRSchedule(Callback):
    """Set every parameter group's learning rate at the start of each epoch.

    The rate is ``initial_lr * warm-up factor * schedule factor * plateau factor``, a
    pure function of the epoch (and, for ``"invscaling"``, of the samples seen so far)
    except for the plateau factor, which persists across ``partial_fit`` calls.
    torch's schedulers cover the single policies, but not a warm-up in front of
    reduce-on-plateau, scikit-learn's ``invscaling`` (driven by samples seen) or
    ``adaptive`` (lowered by :class:`Convergence`, which also ends training), nor
    resuming one ``partial_fit`` epoch at a time; hence one small callback for all.

    Parameters
    ----------
    policy : {"constant", "step", "exponential", "cosine", "plateau", "invscaling", "adaptive"}, \
default="constant"
        How the rate changes from epoch to epoch.
    max_epochs : int
        Length of the cosine schedule (warm-up epochs excluded).
    step_size : int
        Epochs between decays for ``"step"``.
    decay : float
        Multiplicative factor of ``"step"``, ``"exponential"`` and ``"plateau"``.
    patience : int or float
        Epochs without improvement before a ``"plateau"`` decay.
    tol : float
        Minimum absolute improvement of the monitored metric for ``"plateau"``.
    min_lr : float
        Floor of the cosine and plateau schedules.
    warmup_epochs : int
        Linear warm-up from ``lr / (warmup_epochs + 1)`` to ``lr``.
    power_t : float
        Exponent of ``"invscaling"``.
    monitor : str, default="train_loss"
        History key watched by ``"plateau"``.
    lower_is_better : bool, default=True
        Direction of improvement of ``monitor``.
    external : bool, default=False
        Another callback (skorch's ``LRScheduler``) sets the rate: only record it.

    Examples
    --------
    >>> from sktune.engine import LRSchedule
    >>> schedule = LRSchedule("step", step_size=2, decay=0.5).initialize()
    >>> [schedule.rate(0.1, epoch, samples_seen=0) for epoch in range(5)]
    [0.1, 0.1, 0.05, 0.05, 0.025]
    """

    external = False  # pickles from before these existed
    start_epoch_ = 0
    #: the reason a finished finite schedule gives for ending training
    COMPLETE = "the cosine learning-rate schedule is complete"

    def __init__(self, policy="constant", max_epochs=1, step_size=10, decay=0.1,
                 patience=10, tol=1e-4, min_lr=0.0, warmup_epochs=0, power_t=0.5,
                 monitor="train_loss", lower_is_better=True, external=False):
        self.policy = policy
        self.max_epochs = max_epochs
        self.step_size = step_size
        self.decay = decay
        self.patience = patience
        self.tol = tol
        self.min_lr = min_lr
        self.warmup_epochs = warmup_epochs
        self.power_t = power_t
        self.monitor = monitor
        self.lower_is_better = lower_is_better
        self.external = external

    def initialize(self):
        self.plateau_factor_ = 1.0
        self.best_ = math.inf
        self.misses_ = 0
        self.start_epoch_ = 0  # a warm start's schedule counts from its own first epoch
        return self

    def epoch(self, net):
        """0-based epoch of this schedule at the current epoch of ``net``.

        Parameters
        ----------
        net : sktune.engine.Engine
            The net being trained; its history holds the current epoch.

        Returns
        -------
        int
            The epoch counted from this schedule's first (a warm start's own first).
        """
        return len(net.history) - 1 - self.start_epoch_

    def on_train_begin(self, net, **kwargs):
        for group in net.optimizer_.param_groups:
            group.setdefault("initial_lr", group["lr"])

    def factor(self, epoch, samples_seen):
        """Multiplier of the initial rate at 0-based ``epoch`` (plateau decays included).

        Parameters
        ----------
        epoch : int
            0-based epoch of this schedule.
        samples_seen : int
            Training samples seen so far (read by ``"invscaling"``).

        Returns
        -------
        float
            The factor applied to each group's initial rate (before ``min_lr``).
        """
        if epoch < self.warmup_epochs:
            return (epoch + 1) / (self.warmup_epochs + 1) * self.plateau_factor_
        e = epoch - self.warmup_epochs
        if self.policy == "step":
            factor = self.decay ** (e // self.step_size)
        elif self.policy == "exponential":
            factor = self.decay ** e
        elif self.policy == "cosine":
            span = max(self.max_epochs - self.warmup_epochs, 1)
            factor = 0.5 * (1 + math.cos(math.pi * min(e, span) / span))
        elif self.policy == "invscaling":
            factor = 1.0 / (samples_seen + 1) ** self.power_t
        else:
            factor = 1.0
        return factor * self.plateau_factor_

    def rate(self, initial_lr, epoch, samples_seen):
        """The learning rate of a group whose initial rate is ``initial_lr``.

        Parameters
        ----------
        initial_lr : float
            The group's rate before any schedule.
        epoch : int
            0-based epoch of this schedule.
        samples_seen : int
            Training samples seen so far (read by ``"invscaling"``).

        Returns
        -------
        float
            The rate to train the epoch at, ``min_lr`` applied.
        """
        if self.policy == "invscaling" and epoch >= self.warmup_epochs:
            # scikit-learn's arithmetic, to the last bit
            return initial_lr / (samples_seen + 1) ** self.power_t * self.plateau_factor_
        lr = initial_lr * self.factor(epoch, samples_seen)
        if self.policy in ("cosine", "plateau"):
            lr = max(lr, min(self.min_lr, initial_lr))
        return lr

    def on_epoch_begin(self, net, **kwargs):
        epoch, seen = self.epoch(net), net.samples_seen_
        if not self.external:
            for group in net.optimizer_.param_groups:
                group["lr"] = self.rate(group["initial_lr"], epoch, seen)
        net.history.record("lr", net.optimizer_.param_groups[0]["lr"])

    def on_epoch_end(self, net, **kwargs):
        if self.policy == "cosine" and self.epoch(net) + 1 >= self.max_epochs:
            # annealed to its floor: training is finished, not short of convergence
            # (no ConvergenceWarning), in every family and in fit, warm_start and
            # partial_fit alike
            net.request_stop(self.COMPLETE)
        if self.policy != "plateau":
            return
        score = net.history[-1, self.monitor]
        signed = score if self.lower_is_better else -score
        self.misses_ = self.misses_ + 1 if not signed < self.best_ - self.tol else 0
        self.best_ = min(self.best_, signed)
        if self.misses_ > self.patience:
            self.misses_ = 0
            self.plateau_factor_ *= self.decay


class EpochLog(Callback):
    """Progress of a fit: scikit-learn's lines, or a progress bar.

    ``verbose=1`` prints scikit-learn's ``Iteration N, loss = ...`` line per epoch (and
    ``Validation score: ...`` with early stopping) to standard output. ``verbose >= 2``
    shows a tqdm bar over the epochs with the latest loss and score when standard
    error is a terminal and tqdm is installed, and the plain lines otherwise (a log file
    or a pipe never receives control characters).

    Parameters
    ----------
    verbose : int, default=1
        1 for scikit-learn's lines, 2 or more for a progress bar on a terminal.

    Examples
    --------
    >>> from sktune.engine import EpochLog
    >>> EpochLog(verbose=2).verbose
    2
    """

    def __init__(self, verbose=1):
        self.verbose = verbose

    def on_train_begin(self, net, **kwargs):
        self.bar_ = None
        self.first_epoch_ = len(net.history)
        if self.verbose >= 2:
            self.bar_ = _progress_bar(net.max_epochs_this_call_)

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        if self.bar_ is not None:
            postfix = {"loss": f"{row['train_loss']:.4g}"}
            if "valid_score" in row:
                postfix["score"] = f"{row['valid_score']:.4g}"
            self.bar_.set_postfix(postfix, refresh=False)
            self.bar_.update(1)
            return
        print(f"Iteration {len(net.history) - self.first_epoch_}, loss = "
              f"{row['train_loss']:.8f}")
        if "valid_score" in row:
            print(f"Validation score: {row['valid_score']:f}")

    def close(self):
        """Close the progress bar, if one is open."""
        if getattr(self, "bar_", None) is not None:
            self.bar_.close()
        self.bar_ = None

    def on_train_end(self, net, **kwargs):
        self.close()
        reason = getattr(net, "stop_reason_", None)
        if reason and reason != "interrupted":
            print(f"{reason} Stopping.")

    def __getstate__(self):
        state = self.__dict__.copy()
        state["bar_"] = None
        return state


def _progress_bar(total):
    """A tqdm bar on a terminal; None (plain lines) otherwise."""
    import sys

    if not getattr(sys.stderr, "isatty", lambda: False)():
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="epoch", leave=False, dynamic_ncols=True)


class GradualUnfreeze(Callback):
    """Thaw the frozen blocks of a :class:`~sktune.nn.Freezable` module during training.

    The module arrives with its first blocks frozen (``module.freeze(k)``). At the start
    of each epoch listed in ``unfreeze_at`` (1-based), one more block — the frozen one
    nearest the head — starts training.

    Parameters
    ----------
    unfreeze_at : sequence of int, default=()
        1-based epochs at whose start one more block is unfrozen.

    Examples
    --------
    >>> from sktune.engine import GradualUnfreeze
    >>> GradualUnfreeze(unfreeze_at=(3, 5)).initialize().unfreeze_at
    (3, 5)
    """

    def __init__(self, unfreeze_at=()):
        self.unfreeze_at = unfreeze_at

    def initialize(self):
        self.start_ = None
        return self

    def on_train_begin(self, net, **kwargs):
        if self.start_ is None:
            self.start_ = net.module_.frozen_blocks

    def on_epoch_begin(self, net, **kwargs):
        thawed = sum(1 for e in self.unfreeze_at if e <= len(net.history))
        net.module_.freeze(max(self.start_ - thawed, 0))
        net.history.record("frozen_blocks", net.module_.frozen_blocks)
