"""Default search spaces: sensible distributions for each estimator's main hyperparameters.

The rules are data: one table of distributions per concept, and each estimator takes
the rows whose parameter it has. ``RandomizedSearchCV(est, search_space(est))`` is then
a complete random search, and a Pipeline gets its step prefix automatically. Given the
training data, the table is narrowed to what that data can use (``DATA_RULES``).
"""

import math
import warnings

from scipy.stats import loguniform
from sklearn.base import BaseEstimator
from sklearn.compose import TransformedTargetRegressor
from sklearn.pipeline import Pipeline

#: parameter -> distribution (scipy.stats frozen distribution or list of choices)
DEFAULT_SPACE = {
    "learning_rate_init": loguniform(1e-4, 3e-2),
    "alpha": loguniform(1e-7, 1e-2),
    "dropout": [0.0, 0.1, 0.2, 0.3, 0.5],
    "batch_norm": [False, True],
    "solver": ["adam", "adamw", "sgd", "rmsprop"],
    "learning_rate": ["constant", "cosine", "plateau"],
    "batch_size": [32, 64, 128, 256],
    "hidden_layer_sizes": [(64,), (128,), (256,), (128, 64), (256, 128), (256, 128, 64)],
    "activation": ["relu", "gelu", "tanh"],
    # CNN
    "channels": [(16, 32), (32, 64), (32, 64, 128)],
    "kernel_size": [3, 5],
    # RNN
    "cell": ["lstm", "gru"],
    "hidden_size": [32, 64, 128],
    "num_layers": [1, 2],
    "bidirectional": [False, True],
}


#: ``recipe="tabular"``: the options that pay on tables (benchmarks/bench_tabular.py), for
#: the :func:`~sktune.tabular_mlp` recipe. Rates and regularisation are per-copy
#: settings (the candidates train fused); the structural choices (layer sizes, batch
#: size, label smoothing, embeddings, ensembles) are kept as the budget allows
#: (``TABULAR_STRUCTURE``, see :func:`search_space`).
TABULAR_SPACE = {
    "learning_rate_init": loguniform(3e-4, 3e-3),
    "alpha": loguniform(1e-6, 1e-2),
    "dropout": [0.0, 0.1, 0.2, 0.3],
    "learning_rate": ["constant", "cosine"],
    "numeric_embedding": [None, "periodic"],
    "label_smoothing": [0.0, 0.1],
    "hidden_layer_sizes": [(256, 256), (512, 512), (256, 256, 256)],
    "batch_size": [32, 64, 128],
    "n_ensemble": [1, 8],
}
#: structural choices of ``recipe="tabular"``, most valuable first: a choice is kept
#: while every combination of the kept ones still gets ``MIN_GROUP`` candidates of the
#: budget (candidates that share a structure train as one fused network)
TABULAR_STRUCTURE = ("numeric_embedding", "label_smoothing", "hidden_layer_sizes",
                     "batch_size", "n_ensemble")
MIN_GROUP = 6
RECIPES = {"default": DEFAULT_SPACE, "tabular": TABULAR_SPACE}


def _batch_sizes(choices, n_fit):
    # at least two optimizer steps per epoch, and never a batch larger than the data
    # (which the estimator would clip, with a warning, to one full batch)
    return [b for b in choices if 2 * b <= n_fit]


#: parameter -> rule(choices, n_fit) giving the choices a fit on ``n_fit`` rows can use;
#: an empty result leaves the parameter out (the estimator's default applies)
DATA_RULES = {
    "batch_size": _batch_sizes,
}


def search_space(estimator, X=None, *, cv=5, n_samples=None, include=None, exclude=(),
                 recipe="default", n_iter=None):
    """Build distributions for the main hyperparameters of an sktune estimator.

    Parameters
    ----------
    estimator : sktune estimator, Pipeline or TransformedTargetRegressor
        The model to tune. In a Pipeline, the last step that is an sktune estimator
        is used and every key gets its ``<step>__`` prefix; in a
        ``TransformedTargetRegressor``, its ``regressor`` (prefix ``regressor__``).
    X : array-like, default=None
        The data the search will be fitted on. With it (or ``n_samples``), choices the
        data cannot use are dropped: batch sizes over half of the rows one fit trains
        on (after the ``cv`` split and the ``early_stopping`` hold-out).
    cv : int, default=5
        Number of cross-validation folds the search will use (to size a fit's data).
    n_samples : int, default=None
        The rows one fit trains on, when known exactly (overrides ``X`` and ``cv``).
    include : iterable of str, default=None
        Keep only these parameters (default: every parameter the estimator has).
    exclude : iterable of str, default=()
        Leave these parameters out.
    recipe : {"default", "tabular"}, default="default"
        ``"tabular"``: the space of the tabular recipe (:func:`~sktune.tabular_mlp`):
        learning rate, L2, dropout and schedule, and the structural options that pay
        on tables — periodic numeric embeddings, label smoothing (classifiers), layer
        sizes, batch size, TabM-style ensembles — as many as ``n_iter`` affords.
    n_iter : int, default=None
        The number of candidates the search will draw. With ``recipe="tabular"``,
        structural choices (those that split the candidates into separately trained
        groups) are kept in the order of ``TABULAR_STRUCTURE`` while their combinations
        number at most ``n_iter // MIN_GROUP`` (6); the others stay at the
        estimator's value. None keeps them all.

    Returns
    -------
    space : dict
        ``param -> distribution or list``, ready for ``RandomizedSearchCV`` or
        ``HalvingRandomSearchCV``.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sktune import MLPClassifier, search_space
    >>> sorted(search_space(MLPClassifier(), include=["alpha", "dropout"]))
    ['alpha', 'dropout']
    >>> pipe = make_pipeline(StandardScaler(), MLPClassifier())
    >>> "mlpclassifier__learning_rate_init" in search_space(pipe)
    True

    On 300 rows with 3-fold cross-validation a fit trains on 200 rows, so batches of
    128 and 256 are left out:

    >>> search_space(MLPClassifier(), n_samples=200)["batch_size"]
    [32, 64]
    """
    if recipe not in RECIPES:
        raise ValueError(f"recipe must be one of {sorted(RECIPES)}; got {recipe!r}.")
    table = RECIPES[recipe]
    prefix, est = _locate(estimator)
    params = est.get_params(deep=False)
    names = [n for n in table if n in params and n not in set(exclude)]
    if include is not None:
        unknown = set(include) - set(table)
        if unknown:
            raise ValueError(f"No {recipe} distribution for {sorted(unknown)}; "
                             f"known: {sorted(table)}.")
        names = [n for n in names if n in set(include)]
    n_fit = n_samples if n_samples is not None else _fit_rows(X, cv, est)
    space = {}
    for name in names:
        choices = table[name]
        if n_fit is not None and name in DATA_RULES:
            choices = DATA_RULES[name](choices, n_fit)
            if not choices:
                continue
        space[name] = choices
    if recipe == "tabular" and n_iter is not None:
        space = _within_budget(space, n_iter)
    return {prefix + name: choices for name, choices in space.items()}


def _within_budget(space, n_iter):
    """Drop the structural choices whose combinations the budget cannot fill."""
    combinations, allowed = 1, max(1, n_iter // MIN_GROUP)
    for name in TABULAR_STRUCTURE:
        if name in space:
            if combinations * len(space[name]) > allowed:
                del space[name]
            else:
                combinations *= len(space[name])
    return space


def _fit_rows(X, cv, estimator):
    """Rows one fit of a ``cv``-fold search over ``X`` trains on (None without X)."""
    if X is None:
        return None
    from sktune.engine._data import n_rows

    rows = math.floor(n_rows(X) * (cv - 1) / cv)
    params = estimator.get_params(deep=False)
    if params.get("early_stopping"):
        rows -= math.ceil(rows * params["validation_fraction"])
    return rows


def optuna_distributions(space):
    """The distributions of :func:`search_space` as Optuna distributions.

    Lists become ``CategoricalDistribution`` (tuples of layer sizes included: they are
    searched like any other choice), log-uniform distributions ``FloatDistribution(log=True)``.

    Parameters
    ----------
    space : dict
        Output of :func:`search_space`.

    Returns
    -------
    distributions : dict
        ``param -> optuna distribution``, for ``optuna_integration.OptunaSearchCV``.

    Notes
    -----
    Optuna's in-memory storage (what ``OptunaSearchCV`` uses by default) keeps tuple
    choices as they are. A persistent (RDB) storage accepts only scalar choices: leave
    tuple-valued parameters out there (``search_space(est, exclude=[...])``).

    Examples
    --------
    >>> from sktune import MLPClassifier, search_space
    >>> from sktune.model_selection import optuna_distributions
    >>> dists = optuna_distributions(search_space(MLPClassifier()))
    >>> dists["hidden_layer_sizes"].choices[:2]
    ((64,), (128,))
    """
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    out = {}
    for name, dist in space.items():
        if isinstance(dist, list):
            with warnings.catch_warnings():  # "tuple choices need in-memory storage": see Notes
                warnings.filterwarnings("ignore", "Choices for a categorical distribution",
                                        UserWarning)
                out[name] = CategoricalDistribution(dist)
        else:
            low, high = dist.support()
            out[name] = FloatDistribution(float(low), float(high), log=True)
    return out


def _locate(estimator):
    from sktune._base import BaseNeuralEstimator

    if isinstance(estimator, BaseNeuralEstimator):
        return "", estimator
    if isinstance(estimator, TransformedTargetRegressor):
        prefix, est = _locate(estimator.regressor)
        return "regressor__" + prefix, est
    if isinstance(estimator, Pipeline):
        for name, step in reversed(estimator.steps):
            if isinstance(step, (BaseNeuralEstimator, Pipeline, TransformedTargetRegressor)):
                prefix, est = _locate(step)
                return name + "__" + prefix, est
    if isinstance(estimator, BaseEstimator):
        raise TypeError(f"{type(estimator).__name__} is not an sktune estimator nor a "
                        "Pipeline that ends with one.")
    raise TypeError(f"Expected an estimator, got {type(estimator).__name__}.")
