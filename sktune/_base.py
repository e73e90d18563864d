"""The estimator base every model family shares: parameters, the fit transaction, inference.

A family module (``_mlp.py``, ...) adds its architecture parameters and
``_build_module``; a task base (:mod:`sktune._supervised`) adds target encoding, the
loss and the prediction methods. How one call trains is :mod:`sktune._training`; the
training itself is the engine's (:class:`sktune.engine.Engine`).
"""

import copy
import datetime
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
    validate_data,
)

from sktune import _training
from sktune._compat import (
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
    check_sample_weight,
)
from sktune._training import FitRun
from sktune.engine import SOLVERS, ArrayDataset, resolve_device
from sktune.engine._data import n_rows
from sktune.engine._precision import PRECISIONS, check_precision

#: learning_rate schedules: sklearn's three plus sktune's.
LEARNING_RATES = {"constant", "invscaling", "adaptive", "step", "exponential", "cosine", "plateau"}
#: the float precisions a network can train in
DTYPES = {"auto", "float32", "float64"}


class BaseNeuralEstimator(BaseEstimator):
    """Shared machinery of sktune estimators; not for direct use.

    Subclasses define ``__init__`` (keyword arguments stored as given) and
    ``_build_module(n_features, n_outputs)``; task bases define ``_prepare_targets``,
    ``_criterion``, ``_score_fn``, ``_transform_output`` and ``_loss_floor``.

    Every ``fit`` / ``partial_fit`` is a transaction: :meth:`_begin_fit` prepares a
    staged copy, the engine trains it, :meth:`_end_fit` commits it. A call that raises
    — bad input, a diverging loss, Ctrl-C before the first epoch ends — leaves the
    estimator exactly as it was.
    """

    _parameter_constraints: dict = {
        "solver": [StrOptions(set(SOLVERS) | {"lbfgs"})],
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
        "dtype": [StrOptions(DTYPES)],
        "callbacks": [list, None],
        "divergence_threshold": [Interval(Real, 1, None, closed="neither"), None],
        "keep_optimizer_state": ["boolean"],
        "precision": [StrOptions(set(PRECISIONS))],
    }
    #: whether ``clone(estimator)`` trains from random weights (the fine-tuners and text
    #: transformers say no: their clones start from pretrained weights)
    _clone_trains_from_scratch = True
    #: the parameters a family builds its network from (``_build_module`` reads them):
    #: a fit that continues the network after one of them changed rebuilds it
    _module_parameters = frozenset()
    #: the module parameters that also decide how X is read (a CNN's input_shape...)
    _input_parameters = frozenset()
    #: what ``dtype="auto"`` trains in: "input" follows scikit-learn (float32 input in
    #: float32, any other input in float64, on the CPU); "float32" always float32
    _auto_dtype = "float32"

    def _validate_params(self):
        super()._validate_params()
        _check_callbacks(self)

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
        return self._fit(X, y, sample_weight, incremental=False)

    def _partial_fit(self, X, y, sample_weight, classes=None):
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _fit(self, X, y, sample_weight, *, incremental, classes=None):
        run = self._begin_fit(X, y, sample_weight, incremental=incremental, classes=classes)
        _training.train(run)
        return self._end_fit(run)

    # ---- the transaction --------------------------------------------------------------
    # Every caller that trains an estimator — fit, partial_fit, the fused searches of
    # sktune.model_selection — runs these two steps around the training in between
    # (sktune._training.train, or the engine's stacked loop for many runs at once), so
    # that what one caller checks or does, every caller checks and does.
    def _begin_fit(self, X, y, sample_weight=None, *, incremental=False, classes=None):
        """Validate the parameters and the data and prepare a
        :class:`~sktune._training.FitRun`; ``self`` is not modified (the new attributes
        live on the run's staged copy)."""
        self._validate_params()
        if incremental and self.early_stopping is not False and self.early_stopping != "auto":
            raise ValueError("partial_fit does not support early_stopping=True")
        _require_X(self, X)
        raw = _training.FitInput(X, y, sample_weight, classes)
        est = self._staged()
        continuing = self._continues(incremental)
        if continuing:
            _training.refuse_changed_input(est, incremental)
        X, y = est._check_data(X, y, reset=not continuing)
        if not continuing:
            est._dtype_ = est._resolve_dtype(_float_dtype(X))
        elif self.dtype != "auto" and np.dtype(self.dtype) != est._dtype_:
            raise ValueError(
                f"{_training.continuing_caller(incremental)} continues the fitted network, "
                f"which trains in {est._dtype_.name}, but dtype={self.dtype!r}. Train a new "
                "network (fit with warm_start=False), or set dtype back.")
        X = est._to_training_dtype(X)
        y_enc, stratify = est._prepare_targets(y, reset=not continuing, classes=classes,
                                               incremental=incremental)
        weight = est._combined_sample_weight(sample_weight, X, y)
        n_samples = n_rows(X)
        est._early_stopping_ = est._resolve_early_stopping(n_samples)
        _check_monitors(est, incremental)
        batch_size = _training.batch_size_for(est, n_samples)
        device = resolve_device(self.device)
        check_precision(self.precision, device, torch.float64 if est._dtype_ == np.float64
                        else torch.float32)
        if not continuing:
            est._inspect_features(X)
            est._seed_ = _training.new_seed(self.random_state)
            est._loss_floor_ = est._loss_floor(y_enc)
            net = _training.make_engine(est, batch_size, device, n_samples)
        elif incremental:
            net = copy.deepcopy(self.net_)
            _training.refresh_engine(est, net, batch_size)
        else:
            net = _training.make_engine(est, batch_size, device, n_samples, previous=self.net_)
        _training.configure_run(est, net, incremental, batch_size)
        dataset = ArrayDataset(X, y_enc, weight, stratify)
        return FitRun(est, net, dataset, 1 if incremental else self.max_iter, incremental,
                      continuing, raw)

    def _end_fit(self, run):
        """Record the run's outcome on its staged copy, run the family's own work after
        training (:meth:`_after_training`), and make the staged copy ``self``'s state.
        Anything that raises on the way — the hook, a warning filtered into an error —
        leaves ``self`` as it was."""
        est, net = run.estimator, run.net
        if net.stop_reason_ == "interrupted" and net.epochs_done_ == 0:
            raise KeyboardInterrupt  # nothing trained: the estimator keeps its state
        est.net_ = net
        _training.record_training(est, net, run.incremental)
        est._after_training(run)
        _training.warn_end(est, run.incremental)
        self.__dict__.clear()
        self.__dict__.update(est.__dict__)
        return self

    def _after_training(self, run):
        """Family hook, called on the staged copy once the network is trained and its
        attributes recorded, before the fit is committed: more work that belongs to the
        fit (a fine-tuner's member from scratch). ``run.raw`` holds the call's inputs."""

    def _continues(self, incremental):
        """Whether a fit continues the fitted network (``partial_fit``, ``warm_start``)."""
        return hasattr(self, "net_") and (incremental or self.warm_start)

    def _staged(self):
        """A shallow copy whose attribute changes do not reach ``self``."""
        staged = object.__new__(type(self))
        staged.__dict__.update(self.__dict__)
        return staged

    def _resolve_early_stopping(self, n_samples):
        """Family hook: whether this fit holds out a validation split (a family may
        accept ``early_stopping="auto"`` and decide from the data)."""
        return bool(self.early_stopping)

    def _auto_batch_size(self, n_samples):
        """Family hook: what ``batch_size="auto"`` means (scikit-learn's min(200, n))."""
        return min(200, n_samples)

    def _inspect_features(self, X):
        """Family hook: read what the network's shape depends on from the validated
        training data of a new network (not a continued one), as fitted attributes."""

    def _member_link(self):
        """How the outputs of an ensemble trained as one network are averaged
        (:func:`~sktune.nn.mean_of_members`): by the output's activation."""
        return {"softmax": "softmax", "logistic": "sigmoid",
                "exp": "exp"}.get(self.out_activation_, "identity")

    def _extra_callbacks(self):
        """Family hook: more skorch callbacks for the engine."""
        return []

    def _engine_kwargs(self):
        """Family hook: more arguments for the engine."""
        return {}

    def _new_module(self):
        """The untrained network, in the training dtype (called under a seeded RNG)."""
        module = self._build_module(self.n_features_in_, self.n_outputs_)
        return module.to(torch.float64 if self._dtype_ == np.float64 else torch.float32)

    # ---- data -----------------------------------------------------------------------
    #: how ``validate_data`` checks X; a family accepting n-d input changes it
    _X_checks = {"accept_sparse": "csr", "dtype": (np.float64, np.float32)}
    #: regressors need numeric y
    _y_numeric = False

    def _check_data(self, X, y, *, reset):
        """Validate ``X`` and ``y`` for fit; families reshape X in ``_prepare_X``."""
        self._require_y(y)
        if self._y_numeric:
            reject_dates(y, "y")
        if not reset:
            self._check_sample_shape(X)
        X, y = validate_data(self, X, y, reset=reset, multi_output=True,
                             y_numeric=self._y_numeric, **self._X_checks)
        if reset:
            self._sample_shape_ = tuple(X.shape[1:])
        return self._prepare_X(X, reset=reset), y

    def _to_training_dtype(self, X):
        """Cast the float arrays of prepared X (an array, sparse matrix or tuple of arrays)
        to the training dtype; integer parts (token ids, lengths) stay as they are."""
        if isinstance(X, tuple):
            return tuple(self._to_training_dtype(part) for part in X)
        data = X.data if sp.issparse(X) else X
        if not isinstance(data, np.ndarray) or data.dtype.kind != "f" or \
                data.dtype == self._dtype_:
            return X
        X = X.astype(self._dtype_)
        if not np.isfinite(X.data if sp.issparse(X) else X).all():
            raise ValueError(f"Input X contains infinity or a value too large for "
                             f"{self._dtype_.name}, the dtype this model trains in.")
        return X

    def _resolve_dtype(self, input_dtype):
        if self.dtype != "auto":
            return np.dtype(self.dtype)
        if self.precision != "full":  # mixed precision keeps float32 master weights
            return np.dtype(np.float32)
        on_cpu = torch.device(resolve_device(self.device)).type == "cpu"
        if self._auto_dtype == "input" and on_cpu and input_dtype != np.float32:
            return np.dtype(np.float64)
        return np.dtype(np.float32)

    def _require_y(self, y):
        """The error scikit-learn gives an estimator fitted without a target."""
        if y is None:
            raise ValueError(f"This {type(self).__name__} estimator requires y to be passed, "
                             "but the target y is None.")

    def _check_target(self, X, y):
        """Validate ``y`` against an already converted X (sequences, token ids...)."""
        if self._y_numeric:
            reject_dates(y, "y")
        y = check_array(y, ensure_2d=False, dtype="numeric" if self._y_numeric else None,
                        input_name="y")
        check_consistent_length(X[0] if isinstance(X, tuple) else X, y)
        return y

    def _check_X(self, X):
        """Validate ``X`` for prediction, against what fit saw."""
        self._check_sample_shape(X)
        X = validate_data(self, X, reset=False, **self._X_checks)
        return self._prepare_X(X, reset=False)

    def _check_sample_shape(self, X):
        """n-d input (images, signals) must come in the per-sample shape fit saw: say so,
        rather than scikit-learn's "X has 3 features" about the second axis alone."""
        fitted, shape = getattr(self, "_sample_shape_", None), getattr(X, "shape", None)
        if fitted is None or shape is None or len(shape) < 2 or tuple(shape[1:]) == fitted \
                or (len(shape) == 2 and len(fitted) == 1):  # tables: scikit-learn's message
            return
        hint = ""
        if sorted(shape[1:]) == sorted(fitted):
            hint = (" It has the same axes in another order: pass X in the layout of fit "
                    "(channels first or channels last).")
        elif int(np.prod(shape[1:])) == int(np.prod(fitted)):
            hint = f" Reshape X to (n_samples, {', '.join(map(str, fitted))}), as in fit."
        raise ValueError(f"X has samples of shape {tuple(shape[1:])}, but "
                         f"{type(self).__name__} was fitted on samples of shape {fitted}."
                         + hint)

    def _prepare_X(self, X, *, reset):
        """Family hook: turn validated X into what the network takes (default: as is)."""
        return X

    def _combined_sample_weight(self, sample_weight, X, y):
        """sample_weight times class weights; ``None`` when every weight is equal."""
        weight = None
        if sample_weight is not None:
            weight = check_sample_weight(sample_weight, X[0] if isinstance(X, tuple) else X)
        class_weight = self._class_sample_weight(y)
        if class_weight is not None:
            weight = class_weight if weight is None else weight * class_weight
        if weight is None:
            return None
        if not weight.sum() > 0:
            raise ValueError("sample_weight must contain at least one positive weight.")
        if np.all(weight == weight[0]):
            return None
        return weight.astype(self._dtype_)

    def _class_sample_weight(self, y):
        return None

    # ---- inference ------------------------------------------------------------------
    def _forward(self, X):
        """Validated ``X`` -> transformed network outputs, batch by batch, as numpy."""
        check_is_fitted(self)
        _require_X(self, X)
        float32_input = _is_float32(X)
        out = self._forward_checked(self._to_training_dtype(self._check_X(X)))
        # outputs keep float32 only for float32 input, as scikit-learn's do
        return out if float32_input else out.astype(np.float64, copy=False)

    def _forward_checked(self, X):
        dataset = ArrayDataset(X)
        chunks = [self._transform_output(out).numpy() for out in self.net_.forward_iter(dataset)]
        return np.concatenate(chunks) if chunks else np.empty((0, self.n_outputs_), self._dtype_)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "net_")

    def __getstate__(self):
        """Pickles hold the weights once; the optimizer's state only with
        ``keep_optimizer_state`` (as set when pickling)."""
        state = super().__getstate__()
        if "net_" in state:
            state["net_"].keep_optimizer_state = self.keep_optimizer_state
        return state


#: the names of the engine's own callbacks (a user's callback may not take one)
RESERVED_CALLBACK_NAMES = frozenset({"epoch_timer", "loss_marks", "lr_schedule",
                                     "convergence", "grad_clip", "epoch_log", "unfreeze",
                                     "linear_probe", "l2_sp", "wise_ft"})


def inherit_input_features(est, source):
    """``est`` reads what the fitted ``source`` read: its ``n_features_in_`` and, when it
    has them, its ``feature_names_in_`` (a stale one of ``est`` is removed)."""
    est.n_features_in_ = source.n_features_in_
    if hasattr(source, "feature_names_in_"):
        est.feature_names_in_ = source.feature_names_in_
    elif hasattr(est, "feature_names_in_"):
        del est.feature_names_in_


def _check_callbacks(est):
    """Each entry of ``callbacks`` is a skorch callback or a ``(name, callback)`` pair
    that this estimator's training can run (see the messages)."""
    from skorch.callbacks import Callback, EpochScoring, LRScheduler

    for i, item in enumerate(est.callbacks or ()):
        named = isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)
        callback = item[1] if named else item
        if not isinstance(callback, Callback):
            raise InvalidParameterError(
                f"callbacks[{i}] is {type(callback).__name__!r}, not a skorch callback: pass "
                "instances of skorch.callbacks.Callback (EpochScoring, Checkpoint, your own "
                "subclass...) or (name, callback) pairs.")
        if named and item[0] in RESERVED_CALLBACK_NAMES:
            raise InvalidParameterError(
                f"callbacks[{i}] is named {item[0]!r}, the name of one of the engine's own "
                "callbacks; give it another name.")
        if isinstance(callback, EpochScoring) and callback.use_caching is False:
            raise InvalidParameterError(
                f"callbacks[{i}]: EpochScoring(use_caching=False) re-reads its targets from "
                "skorch datasets, which the engine does not train on; keep use_caching=True "
                "(the default: it scores the epoch's own predictions).")
        if isinstance(callback, LRScheduler) and (est.learning_rate != "constant" or
                                                  est.warmup_epochs):
            raise InvalidParameterError(
                f"callbacks[{i}] is skorch's LRScheduler, which sets the learning rate "
                f"itself, while learning_rate={est.learning_rate!r} (warmup_epochs="
                f"{est.warmup_epochs}) sets it too: use learning_rate='constant' and no "
                "warm-up with it, or drop it and choose a learning_rate schedule.")
    if est.callbacks and est.solver == "lbfgs":
        raise InvalidParameterError(
            "solver='lbfgs' runs scipy's L-BFGS over the full batch, not the engine's epoch "
            "loop, so callbacks would never run: use a mini-batch solver ('adam', 'sgd'...) "
            "with them, or callbacks=None.")


def _check_monitors(est, incremental):
    """A callback that monitors a validation entry (``Checkpoint()``'s valid_loss_best,
    ``EarlyStopping()``'s valid_loss) needs a fit that holds out validation rows; skorch
    fails without them at the first epoch's end, with a bare KeyError for EarlyStopping."""
    if est._early_stopping_ and not incremental:
        return
    for i, item in enumerate(est.callbacks or ()):
        callback = item[1] if isinstance(item, tuple) else item
        monitor = getattr(callback, "monitor", None)
        if isinstance(monitor, str) and monitor.startswith("valid_"):
            why = ("partial_fit holds out no validation rows" if incremental else
                   "this fit holds out no validation rows (early_stopping=False)")
            raise ValueError(
                f"callbacks[{i}] ({type(callback).__name__}) monitors {monitor!r}, which only "
                f"a fit that holds out validation rows records, and {why}: fit with "
                "early_stopping=True (validation_fraction of the rows are held out), or "
                f"monitor a training entry such as 'train_loss'.")


def _require_X(est, X):
    if X is None:
        raise ValueError(f"{type(est).__name__} got X=None; expected an array-like of shape "
                         "(n_samples, n_features) (or the input its family documents).")
    reject_dates(X, "X")


#: Python objects that stand for dates or durations (pandas' Timestamp and Timedelta
#: subclass the first two; Period is recognised by its type name)
_DATE_OBJECTS = (datetime.date, datetime.time, datetime.timedelta, np.datetime64,
                 np.timedelta64)


def reject_dates(data, name):
    """Refuse dates and durations — datetime64 / timedelta64 arrays, pandas date columns,
    and date objects inside object arrays or lists: numpy and scikit-learn would turn them
    into integer nanoseconds (or raise a raw ``float()`` error) and train on those."""
    columns = getattr(data, "columns", None)  # a DataFrame: one dtype per column
    if columns is not None and hasattr(data, "dtypes"):
        found = [str(c) for c, d in zip(columns, data.dtypes) if _is_date_dtype(d)]
        found += [str(c) for c, d in zip(columns, data.dtypes)  # (a period dtype's kind
                  if getattr(d, "kind", None) == "O" and not _is_date_dtype(d)  # is "O")
                  and _holds_dates(data[c].to_numpy())]
    else:
        dtype = getattr(data, "dtype", None)
        if dtype is not None and _is_date_dtype(dtype):
            found = ["all"]
        elif dtype is not None and getattr(dtype, "kind", None) != "O":
            found = []  # a numeric (or string) array or Series
        else:  # an object array, a list of rows or of sequences
            found = ["all"] if _holds_dates(data) else []
    if found:
        where = "" if found == ["all"] else f" (columns {found[:5]})"
        raise ValueError(
            f"{name} holds datetime or timedelta values{where}, which a network would read "
            "as integer nanoseconds. Turn them into numbers first: parts of the date (year, "
            "month, day of week...), or a duration in seconds.")


def _is_date_dtype(dtype):
    kind = getattr(dtype, "kind", None)
    return kind in ("M", "m") or type(dtype).__name__ in ("DatetimeTZDtype", "PeriodDtype")


def _holds_dates(data):
    """Whether an object array or a list (of rows, of sequences) holds a date anywhere."""
    try:
        values = np.asarray(data)  # numbers convert natively (no Python loop below)
    except (ValueError, TypeError):  # ragged: one sequence at a time
        return any(_holds_dates(part) for part in data)
    if values.dtype.kind != "O":
        return values.dtype.kind in "mM"
    for value in values.ravel():
        if isinstance(value, _DATE_OBJECTS) or type(value).__name__ == "Period":
            return True
        if isinstance(value, np.ndarray) and value.dtype.kind in "mMO" and value.ndim:
            if value.dtype.kind != "O" or _holds_dates(value):
                return True
    return False


def _is_float32(X):
    """Whether raw input X (array, sparse, DataFrame...) is float32 throughout."""
    dtype = getattr(X, "dtype", None)
    if dtype is not None:
        return dtype == np.float32
    dtypes = getattr(X, "dtypes", None)  # pandas
    return dtypes is not None and len(dtypes) > 0 and all(d == np.float32 for d in dtypes)


def _float_dtype(X):
    """The dtype of the first float array in prepared X (float32 if there is none)."""
    for part in X if isinstance(X, tuple) else (X,):
        data = part.data if sp.issparse(part) else part
        if isinstance(data, np.ndarray) and data.dtype.kind == "f":
            return data.dtype
    return np.dtype(np.float32)
