"""Default search spaces: sensible distributions for each estimator's main hyperparameters.

The rules are data: one table of distributions per concept, and each estimator takes
the rows whose parameter it has. ``RandomizedSearchCV(est, search_space(est))`` is then
a complete random search, and a Pipeline gets its step prefix automatically.
"""

from scipy.stats import loguniform
from sklearn.base import BaseEstimator
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


def search_space(estimator, *, include=None, exclude=()):
    """Distributions for the main hyperparameters of an sktune estimator.

    Parameters
    ----------
    estimator : sktune estimator or Pipeline
        The model to tune. In a Pipeline, the last step that is an sktune estimator
        is used and every key gets its ``<step>__`` prefix.
    include : iterable of str, default=None
        Keep only these parameters (default: every parameter the estimator has).
    exclude : iterable of str, default=()
        Leave these parameters out.

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
    """
    prefix, est = _locate(estimator)
    params = est.get_params(deep=False)
    names = [n for n in DEFAULT_SPACE if n in params and n not in set(exclude)]
    if include is not None:
        unknown = set(include) - set(DEFAULT_SPACE)
        if unknown:
            raise ValueError(f"No default distribution for {sorted(unknown)}; "
                             f"known: {sorted(DEFAULT_SPACE)}.")
        names = [n for n in names if n in set(include)]
    return {prefix + n: DEFAULT_SPACE[n] for n in names}


def _locate(estimator):
    from sktune._base import BaseNeuralEstimator

    if isinstance(estimator, BaseNeuralEstimator):
        return "", estimator
    if isinstance(estimator, Pipeline):
        for name, step in reversed(estimator.steps):
            if isinstance(step, BaseNeuralEstimator):
                return name + "__", step
    if isinstance(estimator, BaseEstimator):
        raise TypeError(f"{type(estimator).__name__} is not an sktune estimator nor a "
                        "Pipeline that ends with one.")
    raise TypeError(f"Expected an estimator, got {type(estimator).__name__}.")
