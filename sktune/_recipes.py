"""Recipes: sktune estimators configured for a kind of data, as plain estimators.

:func:`tabular_mlp` is the MLP with the settings that pay on small and medium tables
(measured in benchmarks/bench_tabular.py); ``MLPClassifier()`` itself keeps
scikit-learn's defaults.
"""

from sktune._mlp import MLPClassifier, MLPRegressor

#: the tabular recipe's settings, shared by both tasks (see :func:`tabular_mlp`)
TABULAR_MLP = {
    "hidden_layer_sizes": (256, 256), "activation": "relu", "solver": "adamw",
    "learning_rate_init": 1e-3, "alpha": 1e-4, "dropout": 0.1, "batch_size": 64,
    "max_iter": 200, "early_stopping": True, "validation_fraction": 0.2,
    "n_iter_no_change": 16, "numeric_embedding": "periodic", "dtype": "float32",
}
#: ... and the classifier's own
TABULAR_CLASSIFIER = {"label_smoothing": 0.1}


def tabular_mlp(task="classification", **params):
    """An MLP with strong defaults for tables (rows of numeric and one-hot features).

    Each feature enters as a learned periodic embedding (``numeric_embedding="periodic"``,
    as RealMLP's and TabM's defaults embed numbers), then two hidden layers of 256 units,
    AdamW at 1e-3 in batches of 64, dropout 0.1, up to 200 epochs with early stopping on
    20% of the rows (patience 16) and the best epoch's weights restored, and for
    classification label smoothing of 0.1, in float32 (``MLPClassifier``'s float64 is
    for scikit-learn's results; a network on a table does not need it, and it costs
    1.7-2 times the CPU in a two-seed check). Feed it robustly
    scaled features (the command line's preprocessing, ``sktune._tabular``) and tune it
    with ``search_space(model, X, recipe="tabular")``.

    Parameters
    ----------
    task : {"classification", "regression"}, default="classification"
        Which estimator to return.
    **params : dict
        Parameters that replace the recipe's (any parameter of the estimator).

    Returns
    -------
    estimator : MLPClassifier or MLPRegressor
        An ordinary, unfitted sktune estimator.

    Examples
    --------
    >>> from sktune import tabular_mlp
    >>> tabular_mlp("regression", dropout=0.2).get_params()["early_stopping"]
    True
    """
    if task == "classification":
        return MLPClassifier(**{**TABULAR_MLP, **TABULAR_CLASSIFIER, **params})
    if task == "regression":
        return MLPRegressor(**{**TABULAR_MLP, **params})
    raise ValueError(f"task must be 'classification' or 'regression'; got {task!r}.")
