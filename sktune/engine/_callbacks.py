"""Callbacks that give the skorch engine scikit-learn's training semantics."""

import copy
import math

from skorch.callbacks import Callback


class Convergence(Callback):
    """Stop when the monitored metric stops improving, as scikit-learn's MLP does.

    An epoch counts as no improvement when the metric is not better than the best so
    far by at least ``tol``; training stops once more than ``n_iter_no_change`` such
    epochs follow each other. The weights of the best epoch are kept and restored at
    the end of training when ``restore_best`` is true, including after Ctrl-C.

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
    stop_on_plateau : bool, default=True
        If false, only track the best score (the ``'adaptive'`` learning rate reacts to
        plateaus instead, by lowering the rate).
    """

    def __init__(self, monitor, lower_is_better, tol, n_iter_no_change, restore_best,
                 stop_on_plateau=True):
        self.monitor = monitor
        self.lower_is_better = lower_is_better
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.restore_best = restore_best
        self.stop_on_plateau = stop_on_plateau

    def on_train_begin(self, net, **kwargs):
        self.best_ = math.inf
        self.best_score_ = None
        self.misses_ = 0
        self.best_state_ = None

    def on_epoch_end(self, net, **kwargs):
        score = net.history[-1, self.monitor]
        signed = score if self.lower_is_better else -score
        self.misses_ = self.misses_ + 1 if signed > self.best_ - self.tol else 0
        if signed < self.best_:
            self.best_, self.best_score_ = signed, score
            net.history.record(self.monitor + "_best", True)
            if self.restore_best:
                self.best_state_ = copy.deepcopy(net.module_.state_dict())
        if self.stop_on_plateau and self.misses_ > self.n_iter_no_change:
            what = "Training loss" if self.monitor == "train_loss" else "Validation score"
            net.request_stop(
                f"{what} did not improve more than tol={self.tol:f} for "
                f"{self.n_iter_no_change} consecutive epochs.")

    def on_train_end(self, net, **kwargs):
        if self.best_state_ is not None:
            net.module_.load_state_dict(self.best_state_)
        self.best_state_ = None


class LRSchedule(Callback):
    """Set every parameter group's learning rate at the start of each epoch.

    The rate is ``initial_lr * warm-up factor * schedule factor * plateau factor``, a
    pure function of the epoch except for the plateau factor, which persists across
    ``partial_fit`` calls. torch's schedulers cover the single policies, but not a
    warm-up in front of reduce-on-plateau, scikit-learn's ``invscaling`` (driven by
    samples seen) or ``adaptive`` (which also ends training), nor resuming the schedule
    one ``partial_fit`` epoch at a time; hence one small callback for all of them.

    Parameters
    ----------
    policy : {"constant", "step", "exponential", "cosine", "plateau", "invscaling", "adaptive"}
    max_epochs : int
        Length of the cosine schedule (warm-up epochs excluded).
    step_size : int
        Epochs between decays for ``"step"``.
    decay : float
        Multiplicative factor of ``"step"``, ``"exponential"`` and ``"plateau"``.
    patience : int or float
        Epochs without improvement before a plateau decay.
    tol : float
        Minimum absolute improvement of the monitored metric for the plateau policies.
    min_lr : float
        Floor of the cosine and plateau schedules; ``"adaptive"`` stops training at it.
    warmup_epochs : int
        Linear warm-up from ``lr / (warmup_epochs + 1)`` to ``lr``.
    power_t : float
        Exponent of ``"invscaling"``.
    monitor, lower_is_better
        Metric watched by the plateau policies.
    """

    def __init__(self, policy="constant", max_epochs=1, step_size=10, decay=0.1,
                 patience=10, tol=1e-4, min_lr=0.0, warmup_epochs=0, power_t=0.5,
                 monitor="train_loss", lower_is_better=True):
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

    def initialize(self):
        self.plateau_factor_ = 1.0
        self.best_ = math.inf
        self.misses_ = 0
        return self

    def on_train_begin(self, net, **kwargs):
        for group in net.optimizer_.param_groups:
            group.setdefault("initial_lr", group["lr"])

    def factor(self, epoch, n_samples):
        """Schedule multiplier of the initial learning rate at 0-based ``epoch``."""
        if epoch < self.warmup_epochs:
            return (epoch + 1) / (self.warmup_epochs + 1)
        e = epoch - self.warmup_epochs
        if self.policy == "step":
            return self.decay ** (e // self.step_size)
        if self.policy == "exponential":
            return self.decay ** e
        if self.policy == "cosine":
            span = max(self.max_epochs - self.warmup_epochs, 1)
            return 0.5 * (1 + math.cos(math.pi * min(e, span) / span))
        if self.policy == "invscaling":
            return 1.0 / (e * n_samples + 1) ** self.power_t
        return self.plateau_factor_

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        epoch = len(net.history) - 1
        factor = self.factor(epoch, len(dataset_train))
        for group in net.optimizer_.param_groups:
            group["lr"] = max(group["initial_lr"] * factor, min(self.min_lr, group["initial_lr"]))
        net.history.record("lr", net.optimizer_.param_groups[0]["lr"])

    def on_epoch_end(self, net, **kwargs):
        if self.policy not in ("plateau", "adaptive"):
            return
        score = net.history[-1, self.monitor]
        signed = score if self.lower_is_better else -score
        self.misses_ = self.misses_ + 1 if signed > self.best_ - self.tol else 0
        self.best_ = min(self.best_, signed)
        if self.misses_ <= self.patience:
            return
        self.misses_ = 0
        lr = net.optimizer_.param_groups[0]["lr"]
        if self.policy == "adaptive" and lr <= self.min_lr:
            net.request_stop(f"Learning rate too small ({lr:g}); stopping.")
        self.plateau_factor_ *= self.decay


class GradualUnfreeze(Callback):
    """Thaw the frozen blocks of a :class:`~sktune.nn.FineTuneModule` during training.

    The module arrives with its first blocks frozen (``module.freeze(k)``). At the start
    of each epoch listed in ``unfreeze_at`` (1-based), one more block — the frozen one
    nearest the head — starts training.
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
