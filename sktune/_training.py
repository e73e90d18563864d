"""One call's training, from an estimator's parameters to a trained engine.

:meth:`BaseNeuralEstimator._begin_fit <sktune._base.BaseNeuralEstimator._begin_fit>`
prepares a :class:`FitRun` — a *staged* copy of the estimator holding the new fitted
attributes, an engine ready to train and the dataset — without touching the estimator
itself; :func:`train` runs it; ``_end_fit`` records the outcome on the staged copy and
only then makes it the estimator's state. Whatever happens in between (an exception,
Ctrl-C in the first epoch, a diverging loss), the estimator keeps its previous state.
The fused searches of :mod:`sktune.model_selection` use the same three steps, training
many runs at once in the middle one.
"""

import copy
import warnings
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import torch
from joblib import hash as joblib_hash
from sklearn.exceptions import ConvergenceWarning

from sktune.engine import (
    Convergence,
    Engine,
    EpochLog,
    HoldOut,
    LRSchedule,
    optimizer_spec,
)
from sktune.engine._data import ArrayDataset
from sktune.engine._precision import loss_scaler
from sktune.engine._random import seeded

#: default lr_decay of each schedule that uses one
DEFAULT_LR_DECAY = {"step": 0.1, "exponential": 0.95, "plateau": 0.2}


@dataclass
class FitInput:
    """What a ``fit`` / ``partial_fit`` call was given, as given (for the family's
    :meth:`~sktune._base.BaseNeuralEstimator._after_training` hook)."""

    X: object
    y: object
    sample_weight: object = None
    classes: object = None


@dataclass
class FitRun:
    """A prepared training call (see the module docstring).

    Attributes
    ----------
    estimator : BaseNeuralEstimator
        The staged copy: new fitted attributes, to replace the caller's on success.
    net : Engine
        The engine to train: new, or a copy of the fitted one when continuing.
    dataset : ArrayDataset
        Training data (the engine's ``train_split`` holds out validation rows).
    epochs : int
        Epochs to run (1 for ``partial_fit``).
    incremental : bool
        Whether this is a ``partial_fit`` call.
    continuing : bool
        Whether it continues the fitted network (``partial_fit``, ``warm_start``).
    raw : FitInput
        The call's inputs, as given.
    """

    estimator: object
    net: Engine
    dataset: ArrayDataset
    epochs: int
    incremental: bool
    continuing: bool = False
    raw: FitInput = None


def train(run):
    """Run ``run``'s training: the estimator's full-batch solver or the engine's loop."""
    if run.estimator.solver == "lbfgs":
        from sktune._lbfgs import train_lbfgs

        train_lbfgs(run)
    else:
        run.net.partial_fit(run.dataset, None, epochs=run.epochs)


def penalties(est, batch_size):
    """``(l1, weight_decay, l2_penalty)`` of the engine. alpha follows scikit-learn:
    ``alpha / (2 * batch) * ||W||^2`` added to the mean loss, whose gradient is the
    optimizer's coupled weight decay ``alpha / batch``; AdamW's whole point is decoupled
    decay, so there alpha is that coefficient (and adds nothing to the reported loss)."""
    decoupled = est.solver == "adamw"
    weight_decay = est.alpha if decoupled else est.alpha / batch_size
    return est.l1, weight_decay, 0.0 if decoupled else weight_decay


def engine_callbacks(est):
    """The engine's callbacks from ``est``'s parameters: schedule, stopping rule,
    clipping, the family's own, the user's (fresh copies), the progress log."""
    callbacks = [
        ("lr_schedule", LRSchedule(
            policy=est.learning_rate, max_epochs=est.max_iter, step_size=est.lr_step_size,
            decay=est.lr_decay or DEFAULT_LR_DECAY.get(est.learning_rate, 0.1),
            patience=est.lr_patience, tol=est.tol, min_lr=est.min_learning_rate,
            warmup_epochs=est.warmup_epochs, power_t=est.power_t,
            external=_has_lr_scheduler(est.callbacks))),
        ("convergence", Convergence(
            "train_loss", True, est.tol, est.n_iter_no_change, False,
            adaptive=est.learning_rate == "adaptive")),
    ]
    if est.max_grad_norm is not None:
        from skorch.callbacks import GradientNormClipping
        callbacks.append(("grad_clip", GradientNormClipping(est.max_grad_norm)))
    callbacks += est._extra_callbacks()
    callbacks += _user_callbacks(est.callbacks)
    if est.verbose:
        callbacks.append(("epoch_log", EpochLog(int(est.verbose))))
    return callbacks


def make_engine(est, batch_size, device, n_samples, previous=None):
    """A new engine configured from ``est``'s parameters.

    With ``previous`` (a ``warm_start`` fit) the network, history, sample count, random
    state and stopping state carry over, as in scikit-learn, while the optimizer and the
    schedule start afresh from the current parameters (an epoch-based schedule counts
    this call's epochs: a cosine schedule runs again over ``max_iter``).
    """
    optimizer, opt_kwargs = optimizer_spec(
        est.solver if est.solver != "lbfgs" else "adam", momentum=est.momentum,
        nesterovs_momentum=est.nesterovs_momentum, beta_1=est.beta_1, beta_2=est.beta_2,
        epsilon=est.epsilon, device=device)
    l1, weight_decay, l2_penalty = penalties(est, batch_size)
    callbacks = engine_callbacks(est)
    if previous is not None:
        module = continued_module(est, previous.module_, device)
    else:
        with seeded(est._seed_, device):
            module = est._new_module()
        est._module_params_ = module_params(est)
    net = Engine(
        module=module, criterion=est._criterion(), optimizer=optimizer,
        lr=est.learning_rate_init, max_epochs=est.max_iter, batch_size=batch_size,
        callbacks=callbacks, device=device, verbose=int(est.verbose),
        score_fn=est._score_fn(), l1=l1, weight_decay=weight_decay,
        l2_penalty=l2_penalty, shuffle=est.shuffle,
        seed=est._seed_, train_split=None, divergence_threshold=est.divergence_threshold,
        loss_floor=est._loss_floor_, keep_optimizer_state=est.keep_optimizer_state,
        outputs=est._outputs(), precision=est.precision,
        **est._engine_kwargs(), **{f"optimizer__{k}": v for k, v in opt_kwargs.items()},
    ).initialize()
    if previous is not None:
        net.history_ = copy.deepcopy(previous.history_)
        net.samples_seen_ = previous.samples_seen_
        net.generator_ = copy.deepcopy(previous.generator_)
        net.rng_state_ = previous.rng_state_
        new, old = dict(net.callbacks_)["convergence"], dict(previous.callbacks_)["convergence"]
        new.best_, new.best_score_, new.misses_ = old.best_, old.best_score_, old.misses_
        dict(net.callbacks_)["lr_schedule"].start_epoch_ = len(previous.history_)
    return net


def refresh_engine(est, net, batch_size):
    """``partial_fit``'s copy of the fitted engine with the settings it reads from the
    parameters brought up to date — L1, L2, clipping, verbosity, the user's and the
    family's callbacks, the network (:func:`continue_module`) — while what the engine
    learned carries on: weights, optimizer state, schedule, stopping state, history.
    The optimizer itself stays the first call's (solver, learning rate, momentum), as in
    scikit-learn. A callback whose settings did not change keeps its state."""
    rebuilt = continue_module(est, net)
    net.l1, weight_decay, net.l2_penalty = penalties(est, batch_size)
    if weight_decay != net.weight_decay:
        if bool(weight_decay) != bool(net.weight_decay):  # the parameter groups change
            state = {id(p): s for p, s in net.optimizer_.state.items()}
            net.weight_decay = weight_decay
            net.initialize_optimizer()
            for p in net.module_.parameters():
                if id(p) in state:
                    net.optimizer_.state[p] = state[id(p)]
        net.weight_decay = weight_decay
        for group in net.optimizer_.param_groups:
            if group["weight_decay"]:
                group["weight_decay"] = weight_decay
    old = dict(net.callbacks_)
    family = {name for name, _ in est._extra_callbacks()}
    merged = []
    for name, callback in engine_callbacks(est):
        previous = old.get(name)
        keep = previous is not None and type(previous) is type(callback) and \
            _same_value(previous.get_params(), callback.get_params()) and \
            not (rebuilt and name in family)  # tied to the network it was built for
        merged.append((name, previous if keep else callback.initialize()))
    net.callbacks = merged
    net.callbacks_ = [(n, c) for n, c in net.callbacks_ if n in ("epoch_timer", "loss_marks")]
    net.callbacks_ += merged
    net.initialize_hooks()


def module_params(est):
    """The values of the parameters ``est``'s network is built from (its family's
    ``_module_parameters``), as recorded by a fresh fit."""
    return {name: getattr(est, name) for name in sorted(est._module_parameters)}


def _changed(est):
    """The module parameters whose values differ from those the network was built with."""
    built = getattr(est, "_module_params_", None)
    if built is None:  # pickled before the record existed: continue as it was
        return []
    current = module_params(est)
    return [name for name in current if not _same_value(current[name], built.get(name))]


def _same_value(a, b):
    if a is b:
        return True
    try:
        return joblib_hash(a) == joblib_hash(b)
    except Exception:  # an unhashable object (a module, an estimator): identity only
        return False


def continuing_caller(incremental):
    return "partial_fit" if incremental else "warm_start=True"


def _settings(est, names):
    return ", ".join(f"{n}={getattr(est, n)!r} (fitted with {est._module_params_.get(n)!r})"
                     for n in names)


def refuse_changed_input(est, incremental):
    """A continued fit reads X as the first fit did: when a parameter that decides how X
    is read (the family's ``_input_parameters``: a CNN's ``input_shape``, ``conv_dim``,
    ``channels_last``, ``embedding_dim``) changed since then, raise a ``ValueError``
    that names it, before X is read (reading X the old way would train a network that
    ``get_params`` no longer describes; the new way, one the weights do not fit)."""
    changed = [n for n in _changed(est) if n in est._input_parameters]
    if changed:
        raise ValueError(
            f"{continuing_caller(incremental)} continues the fitted network, which reads X "
            f"as its first fit did, but {_settings(est, changed)} changes how X is read. "
            "Train a new network (fit with warm_start=False), or set the parameter back.")


def continued_module(est, fitted, device, caller="warm_start=True"):
    """The network a ``warm_start`` fit continues: a copy of the fitted one, or — after a
    parameter it was built from changed (``activation``, ``dropout``...) — a network
    built from the current parameters holding the fitted weights, as scikit-learn's MLP
    continues its weights under a new activation. Raises ``ValueError`` when the
    fitted weights do not fit the new network (other layer sizes, batch norm added)."""
    changed = _changed(est)
    if not changed:
        return copy.deepcopy(fitted)
    with seeded(est._seed_, device):
        module = est._new_module().to(device)
    tensors, new = list(fitted.state_dict().values()), list(module.state_dict().values())
    if [t.shape for t in tensors] != [t.shape for t in new]:
        settings = _settings(est, changed)
        raise ValueError(
            f"{caller} continues the fitted network, but its weights do not fit the "
            f"network that {settings} describes. Train a new network (fit with "
            "warm_start=False), or set the parameter back.")
    with torch.no_grad():
        for target, value in zip(new, tensors):
            target.copy_(value)
    est._module_params_ = module_params(est)
    return module


def continue_module(est, net):
    """``partial_fit``'s copy of the fitted engine, its network rebuilt as
    :func:`continued_module` does when a module parameter changed; the optimizer keeps
    its state (same parameter shapes, same order). Returns whether it was rebuilt."""
    if not _changed(est):
        return False
    state = net.optimizer_.state_dict() if net.optimizer_ is not None else None
    net.module = net.module_ = continued_module(est, net.module_, net.device, "partial_fit")
    net.initialize_optimizer()
    if state is not None:
        net.optimizer_.load_state_dict(state)
    return True


def _has_lr_scheduler(callbacks):
    """Whether the user's callbacks hold skorch's LRScheduler (it then sets the rate)."""
    from skorch.callbacks import LRScheduler

    return any(isinstance(item[1] if isinstance(item, tuple) else item, LRScheduler)
               for item in callbacks or ())


def _user_callbacks(callbacks):
    """The ``callbacks`` parameter as fresh, named copies (the parameter stays untouched)."""
    named = []
    for i, item in enumerate(callbacks or ()):
        name, callback = item if isinstance(item, tuple) else (None, item)
        name = name or f"user_{i}_{type(callback).__name__}"
        named.append((name, copy.deepcopy(callback)))
    return named


def configure_run(est, net, incremental, batch_size):
    """Per-call settings: partial_fit is one epoch on all data (no hold-out), as in
    scikit-learn; fit monitors the validation score with early stopping."""
    if net.precision != est.precision:  # partial_fit continues an engine: the new setting
        net.precision = est.precision
        net.scaler_ = loss_scaler(net.device, net.precision)
    early = est._early_stopping_ and not incremental and est.solver != "lbfgs"
    monitor, lower = ("valid_score", False) if early else ("train_loss", True)
    net.train_split = HoldOut(est.validation_fraction, est._seed_) if early else None
    net.batch_size = batch_size
    callbacks = dict(net.callbacks_)
    callbacks["convergence"].set_params(
        monitor=monitor, lower_is_better=lower, restore_best=early and est.restore_best_weights)
    callbacks["lr_schedule"].set_params(monitor=monitor, lower_is_better=lower)


def record_training(est, net, incremental):
    """Fitted attributes from the engine's history, with scikit-learn's meanings."""
    history = net.history
    est.n_iter_ = net.epochs_done_
    est.t_ = net.samples_seen_
    est.loss_curve_ = [float(v) for v in history[:, "train_loss"]] if len(history) else []
    est.loss_ = est.loss_curve_[-1] if est.loss_curve_ else None
    scores = [float(row["valid_score"]) for row in history if "valid_score" in row]
    early = est._early_stopping_ and est.solver != "lbfgs"
    est.validation_scores_ = scores if early else None
    est.best_validation_score_ = max(scores) if early and scores else None
    est.best_loss_ = None if early else (min(est.loss_curve_) if est.loss_curve_ else None)
    est.history_ = [{k: v for k, v in row.items() if k != "batches"} for row in history]
    est.stop_reason_ = net.stop_reason_
    # scikit-learn's private state under its own names (its test suite reads them):
    # the stopping rule's count, and the rate the next epoch would use
    callbacks = dict(net.callbacks_)
    est._no_improvement_count = callbacks["convergence"].misses_
    group = net.optimizer_.param_groups[0] if net.optimizer_ is not None else None
    if group is not None:
        schedule = callbacks["lr_schedule"]
        rate = schedule.rate(group.get("initial_lr", group["lr"]),
                             len(history) - schedule.start_epoch_, net.samples_seen_)
        est._optimizer = SimpleNamespace(learning_rate=rate)


def warn_end(est, incremental):
    """The one warning a finished fit may give: interrupted, or not converged; for
    ``partial_fit``, a call that trained at a learning rate of 0 (a cosine schedule past
    its ``max_iter`` epochs with ``min_learning_rate=0``): it changed nothing."""
    if incremental and est.history_ and est.history_[-1].get("lr") == 0.0:
        warnings.warn(
            f"This partial_fit trained at a learning rate of 0 and changed no weight: "
            f"learning_rate={est.learning_rate!r} has run its max_iter={est.max_iter} "
            "epochs. Set min_learning_rate > 0 to go on training with partial_fit, or "
            "learning_rate='constant'.", RuntimeWarning, stacklevel=6)
    if incremental or est.solver == "lbfgs":
        return
    if est.stop_reason_ == "interrupted":
        warnings.warn(f"Training was interrupted after {est.n_iter_} of {est.max_iter} "
                      "epochs; the estimator keeps the best weights reached so far.",
                      RuntimeWarning, stacklevel=5)
    elif est.stop_reason_ is None and est.n_iter_ == est.max_iter:
        warnings.warn(
            f"Stochastic Optimizer: Maximum iterations ({est.max_iter}) reached and the "
            "optimization hasn't converged yet.", ConvergenceWarning, stacklevel=5)


def batch_size_for(est, n_samples):
    """``"auto"`` asks the family (scikit-learn's min(200, n) by default); larger sizes
    than the data are clipped, with a warning."""
    if est.batch_size == "auto":
        return est._auto_batch_size(n_samples)
    if est.batch_size > n_samples:
        warnings.warn(f"Got batch_size={est.batch_size} larger than the sample size "
                      f"{n_samples}; it is clipped to {n_samples}.", stacklevel=5)
        return n_samples
    return est.batch_size


def new_seed(random_state):
    """The int seed of a new fit, drawn from ``random_state`` (scikit-learn's rule)."""
    from sklearn.utils import check_random_state

    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
