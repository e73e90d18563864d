"""The estimator base every model family shares: parameters, the fit loop, inference.

A family module (``_mlp.py``, ...) adds its architecture parameters and
``_build_module``; a task base (:mod:`sktune._supervised`) adds target encoding, the
loss and the prediction methods. Training itself is the engine's
(:class:`sktune.engine.Engine`).
"""

import warnings
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import (
    check_array, check_consistent_length, check_is_fitted, validate_data,
)

from sktune.engine import (
    SOLVERS, ArrayDataset, Convergence, Engine, HoldOut, LRSchedule, optimizer_spec,
    resolve_device,
)
from sktune.engine._data import n_rows

#: learning_rate schedules: sklearn's three plus sktune's.
LEARNING_RATES = {"constant", "invscaling", "adaptive", "step", "exponential", "cosine", "plateau"}
#: default lr_decay of each schedule that uses one (``adaptive`` divides by 5 as in sklearn).
DEFAULT_LR_DECAY = {"step": 0.1, "exponential": 0.95, "plateau": 0.2, "adaptive": 0.2}


@contextmanager
def _seeded(seed, device):
    """Seed torch for this block and restore the caller's random state afterwards."""
    dev = torch.device(device)
    devices = [dev.index or 0] if dev.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


class BaseNeuralEstimator(BaseEstimator):
    """Shared machinery of sktune estimators; not for direct use.

    Subclasses define ``__init__`` (keyword arguments stored as given) and
    ``_build_module(n_features, n_outputs)``; task bases define ``_prepare_targets``,
    ``_criterion``, ``_score_fn`` and ``_transform_output``.
    """

    _parameter_constraints: dict = {
        "solver": [StrOptions(set(SOLVERS))],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions(LEARNING_RATES)],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "lr_step_size": [Interval(Integral, 1, None, closed="left")],
        "lr_decay": [None, Interval(Real, 0, 1, closed="neither")],
        "lr_patience": [Interval(Integral, 0, None, closed="left")],
        "min_learning_rate": [Interval(Real, 0, None, closed="left")],
        "warmup_epochs": [Interval(Integral, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
        "restore_best_weights": ["boolean"],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "max_grad_norm": [None, Interval(Real, 0, None, closed="neither")],
        "device": [str],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
    }

    def _store_init_params(self, params):
        """Assign the ``__init__`` arguments, unchanged (sklearn's rule for ``__init__``)."""
        for name in self._get_param_names():
            setattr(self, name, params[name])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.required = True
        return tags

    # ---- entry points ---------------------------------------------------------------
    def fit(self, X, y, sample_weight=None):
        """Train the network on ``(X, y)`` for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; any numeric dtype, pandas, lists. Sparse input is densified
            one batch at a time.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the training loss and of the early-stopping validation score.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._validate_hyperparams()
        return self._fit(X, y, sample_weight, incremental=False)

    def _partial_fit(self, X, y, sample_weight, classes=None):
        self._validate_hyperparams()
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _validate_hyperparams(self):
        if self.solver == "lbfgs":
            raise ValueError(
                "solver='lbfgs' is a full-batch method that sktune does not provide; use "
                f"one of {sorted(SOLVERS)} (mini-batch, GPU-capable).")
        self._validate_params()

    # ---- training ------------------------------------------------------------------
    def _fit(self, X, y, sample_weight, *, incremental, classes=None):
        fitted = hasattr(self, "net_")
        first = not fitted or not (incremental or self.warm_start)
        X, y = self._check_data(X, y, reset=first)
        y_enc, stratify = self._prepare_targets(y, reset=first, classes=classes)
        weight = self._combined_sample_weight(sample_weight, X, y)
        n_samples = n_rows(X)
        batch_size = self._effective_batch_size(n_samples)
        device = resolve_device(self.device)
        if first:
            self._seed_ = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        seed = (self._seed_ + (len(self.net_.history) if fitted and not first else 0)) % 2**31
        dataset = ArrayDataset(X, y_enc, weight, stratify)

        with _seeded(seed, device):
            if incremental and fitted and not first:
                net = self.net_
            else:
                previous = self.net_ if fitted and not first else None
                net = self._make_engine(batch_size, device, seed, previous)
            self._configure_run(net, incremental, seed)
            epochs = 1 if incremental else self.max_iter
            before = len(net.history)
            net.partial_fit(dataset, None, epochs=epochs)
        self.net_ = net
        self._record_training(epochs, len(net.history) - before, incremental)
        return self

    def _make_engine(self, batch_size, device, seed, previous=None):
        optimizer, opt_kwargs = optimizer_spec(
            self.solver, momentum=self.momentum, nesterovs_momentum=self.nesterovs_momentum,
            beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon, device=device)
        # alpha follows sklearn: alpha / (2 * batch) * ||W||^2 added to the mean loss,
        # whose gradient is the optimizer's coupled weight decay alpha / batch. AdamW's
        # whole point is decoupled decay, so there alpha is that coefficient.
        weight_decay = self.alpha if self.solver == "adamw" else self.alpha / batch_size
        adaptive = self.learning_rate == "adaptive"
        callbacks = [
            ("lr_schedule", LRSchedule(
                policy=self.learning_rate, max_epochs=self.max_iter, step_size=self.lr_step_size,
                decay=self.lr_decay or DEFAULT_LR_DECAY.get(self.learning_rate, 0.1),
                patience=self.n_iter_no_change if adaptive else self.lr_patience,
                tol=self.tol, min_lr=1e-6 if adaptive else self.min_learning_rate,
                warmup_epochs=self.warmup_epochs, power_t=self.power_t)),
            ("convergence", Convergence(
                "train_loss", True, self.tol, self.n_iter_no_change, False,
                stop_on_plateau=not adaptive)),
        ]
        if self.max_grad_norm is not None:
            from skorch.callbacks import GradientNormClipping
            callbacks.append(("grad_clip", GradientNormClipping(self.max_grad_norm)))
        callbacks += self._extra_callbacks()
        if self.verbose >= 2:
            from skorch.callbacks import ProgressBar
            callbacks.append(("progress", ProgressBar()))
        module = previous.module_ if previous is not None else self._new_module()
        net = Engine(
            module=module, criterion=self._criterion(), optimizer=optimizer,
            lr=self.learning_rate_init, max_epochs=self.max_iter, batch_size=batch_size,
            callbacks=callbacks, device=device, verbose=int(self.verbose),
            score_fn=self._score_fn(), l1=self.l1, weight_decay=weight_decay,
            shuffle=self.shuffle, seed=seed, train_split=None, **self._engine_kwargs(),
            **{f"optimizer__{k}": v for k, v in opt_kwargs.items()},
        ).initialize()
        if previous is not None:
            net.history_ = previous.history_
        return net

    def _extra_callbacks(self):
        """Family hook: more skorch callbacks for the engine."""
        return []

    def _engine_kwargs(self):
        """Family hook: more arguments for the engine."""
        return {}

    def _new_module(self):
        return self._build_module(self.n_features_in_, self.n_outputs_)

    def _configure_run(self, net, incremental, seed):
        """Per-call settings: partial_fit is one epoch on all data, as in sklearn."""
        early = self.early_stopping and not incremental
        monitor, lower = ("valid_score", False) if early else ("train_loss", True)
        net.train_split = HoldOut(self.validation_fraction, seed) if early else None
        net.seed = seed
        callbacks = dict(net.callbacks_)
        callbacks["convergence"].set_params(
            monitor=monitor, lower_is_better=lower,
            restore_best=early and self.restore_best_weights)
        callbacks["lr_schedule"].set_params(monitor=monitor, lower_is_better=lower)

    def _record_training(self, requested, ran, incremental):
        history = self.net_.history
        if history and "train_loss" not in history[-1]:  # epoch cut short by Ctrl-C
            history.pop()
            ran -= 1
        self.n_iter_ = len(history)
        self.loss_curve_ = [float(v) for v in history[:, "train_loss"]]
        scores = [row["valid_score"] for row in history if "valid_score" in row]
        self.validation_scores_ = scores or None
        self.best_validation_score_ = max(scores) if scores else None
        self.best_loss_ = None if scores else min(self.loss_curve_)
        self.history_ = [{k: v for k, v in row.items() if k != "batches"} for row in history]
        self.stop_reason_ = self.net_.stop_reason_
        if incremental:
            return
        if ran < requested and self.stop_reason_ is None:
            warnings.warn(f"Training was interrupted after {ran} of {requested} epochs; the "
                          "estimator keeps the weights reached so far.", RuntimeWarning,
                          stacklevel=3)
        elif self.stop_reason_ is None:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and "
                "the optimization hasn't converged yet.", ConvergenceWarning, stacklevel=3)
        elif self.verbose:
            print(self.stop_reason_)

    # ---- data -----------------------------------------------------------------------
    #: how ``validate_data`` checks X; a family accepting n-d input changes it
    _X_checks = {"accept_sparse": "csr", "dtype": np.float32}
    #: regressors need numeric y
    _y_numeric = False

    def _check_data(self, X, y, *, reset):
        """Validate ``X`` and ``y`` for fit; families reshape X in ``_prepare_X``."""
        X, y = validate_data(self, X, y, reset=reset, multi_output=True,
                             y_numeric=self._y_numeric, **self._X_checks)
        return self._prepare_X(X, reset=reset), y

    def _require_y(self, y):
        """The error scikit-learn gives an estimator fitted without a target."""
        if y is None:
            raise ValueError(f"This {type(self).__name__} estimator requires y to be passed, "
                             "but the target y is None.")

    def _check_target(self, X, y):
        """Validate ``y`` against an already converted X (sequences, token ids...)."""
        y = check_array(y, ensure_2d=False, dtype="numeric" if self._y_numeric else None,
                        input_name="y")
        check_consistent_length(X[0] if isinstance(X, tuple) else X, y)
        return y

    def _check_X(self, X):
        """Validate ``X`` for prediction, against what fit saw."""
        return self._prepare_X(validate_data(self, X, reset=False, **self._X_checks), reset=False)

    def _prepare_X(self, X, *, reset):
        """Family hook: turn validated X into what the network takes (default: as is)."""
        return X

    def _effective_batch_size(self, n_samples):
        if self.batch_size == "auto":
            return self._auto_batch_size(n_samples)
        if self.batch_size > n_samples:
            warnings.warn(f"Got batch_size={self.batch_size} larger than the sample size "
                          f"{n_samples}; it is clipped to {n_samples}.", stacklevel=3)
            return n_samples
        return self.batch_size

    def _auto_batch_size(self, n_samples):
        """Family hook: what ``batch_size="auto"`` means (scikit-learn's min(200, n))."""
        return min(200, n_samples)

    def _combined_sample_weight(self, sample_weight, X, y):
        """sample_weight times class weights; ``None`` when every weight is equal."""
        from sklearn.utils.validation import _check_sample_weight

        weight = None
        if sample_weight is not None:
            weight = _check_sample_weight(sample_weight, X[0] if isinstance(X, tuple) else X,
                                          dtype=np.float64, ensure_non_negative=True)
        class_weight = self._class_sample_weight(y)
        if class_weight is not None:
            weight = class_weight if weight is None else weight * class_weight
        if weight is None:
            return None
        if not weight.sum() > 0:
            raise ValueError("sample_weight must contain at least one positive weight.")
        if np.all(weight == weight[0]):
            return None
        return weight.astype(np.float32)

    def _class_sample_weight(self, y):
        return None

    # ---- inference ------------------------------------------------------------------
    def _forward(self, X):
        """Validated ``X`` -> transformed network outputs as float64, batch by batch."""
        check_is_fitted(self)
        X = self._check_X(X)
        return self._forward_checked(X)

    def _forward_checked(self, X):
        dataset = ArrayDataset(X)
        chunks = [self._transform_output(out).double().numpy()
                  for out in self.net_.forward_iter(dataset)]
        return np.concatenate(chunks) if chunks else np.empty((0, self.n_outputs_))

    def __sklearn_is_fitted__(self):
        return hasattr(self, "net_")
