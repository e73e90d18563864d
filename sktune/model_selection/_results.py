"""Reading a finished search: a leaderboard table and PNG plots."""

import math

import numpy as np
from sklearn.base import clone
from sklearn.pipeline import Pipeline

_SCORE_COLUMNS = ["mean_test_score", "std_test_score", "mean_fit_time"]


def leaderboard(search, top=None):
    """The candidates of a fitted search as a table, best first.

    Works with ``GridSearchCV``, ``RandomizedSearchCV``, the halving searches (their
    ``iter`` and ``n_resources`` columns are kept; rows on the largest budget come
    first) and ``OptunaSearchCV``.

    Parameters
    ----------
    search : fitted search estimator
    top : int, default=None
        Keep only the first ``top`` rows.

    Returns
    -------
    table : pandas.DataFrame
        Columns ``rank``, the scores and fit time, ``n_resources`` where present, and
        one column per hyperparameter (pipeline step prefixes removed).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sktune import MLPClassifier, leaderboard
    >>> X, y = load_iris(return_X_y=True)
    >>> search = GridSearchCV(MLPClassifier(max_iter=5, random_state=0),
    ...                       {"alpha": [1e-4, 1e-1]}, cv=2).fit(X, y)
    >>> list(leaderboard(search).columns)
    ['rank', 'mean_test_score', 'std_test_score', 'mean_fit_time', 'alpha']
    """
    import pandas as pd

    results = _cv_results(search)
    table = pd.DataFrame({"rank": results["rank_test_score"]})
    for column in _SCORE_COLUMNS + ["iter", "n_resources"]:
        if column in results:
            table[column] = results[column]
    params = pd.DataFrame(list(results["params"]))
    params.columns = [c.split("__")[-1] for c in params.columns]
    table = pd.concat([table, params.astype(object)], axis=1)
    keys = (["n_resources"] if "n_resources" in table else []) + ["mean_test_score"]
    table = table.sort_values(keys, ascending=False, na_position="last", kind="stable")
    return table.head(top).reset_index(drop=True) if top else table.reset_index(drop=True)


def _cv_results(search):
    if not hasattr(search, "cv_results_"):
        raise ValueError("the search is not fitted yet (no cv_results_).")
    if hasattr(search, "trials_"):  # OptunaSearchCV: one row per trial, pruned ones too
        attrs = [t.user_attrs for t in search.trials_]
        results = {"params": [t.params for t in search.trials_]}
        for column in _SCORE_COLUMNS:
            results[column] = [a.get(column, np.nan) for a in attrs]
    else:
        results = dict(search.cv_results_)
    if "rank_test_score" not in results:
        scores = np.asarray(results["mean_test_score"], dtype=float)
        order = np.argsort(-np.nan_to_num(scores, nan=-np.inf), kind="stable")
        results["rank_test_score"] = np.empty(len(scores), int)
        results["rank_test_score"][order] = np.arange(1, len(scores) + 1)
    return results


def plot_scores(search, path):
    """Save a PNG with the mean CV score against each searched hyperparameter.

    Numeric parameters spanning more than two decades get a log axis; categorical ones
    (solvers, tuples of layer sizes...) one position per value.
    """
    from matplotlib.figure import Figure

    table = leaderboard(search)
    names = [c for c in table.columns
             if c not in ["rank", "iter", "n_resources"] + _SCORE_COLUMNS]
    cols = min(3, max(len(names), 1))
    rows = math.ceil(max(len(names), 1) / cols)
    fig = Figure(figsize=(4.5 * cols, 3.2 * rows), layout="constrained")
    for i, name in enumerate(names):
        ax = fig.add_subplot(rows, cols, i + 1)
        values, scores = table[name], table["mean_test_score"].astype(float)
        numeric = all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
                      for v in values)
        if numeric:
            x = values.astype(float)
            ax.scatter(x, scores, alpha=0.7)
            if x.min() > 0 and x.max() / x.min() > 100:
                ax.set_xscale("log")
        else:
            labels = sorted({str(v) for v in values})
            ax.scatter([labels.index(str(v)) for v in values], scores, alpha=0.7)
            ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
        ax.set_xlabel(name)
        ax.set_ylabel("mean CV score")
    fig.suptitle("Score against each hyperparameter")
    fig.savefig(path, dpi=100)
    return path


def plot_learning_curves(search, X, y, path, top=3):
    """Refit the ``top`` best candidates on ``(X, y)`` and save their learning curves.

    Searches keep only the best model, so the other curves cost one fit each. Each
    panel shows the training loss per epoch, and the validation score where the model
    used ``early_stopping``.

    Returns
    -------
    models : list
        The refitted estimators, best first.
    """
    from matplotlib.figure import Figure

    results = _cv_results(search)
    params = [results["params"][i] for i in _best_indices(results, top)]
    models = [clone(search.estimator).set_params(**p).fit(X, y) for p in params]
    fig = Figure(figsize=(9, 3.5), layout="constrained")
    loss_ax, score_ax = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for rank, model in enumerate(models, start=1):
        history = (model[-1] if isinstance(model, Pipeline) else model).history_
        epochs = [row["epoch"] for row in history]
        loss_ax.plot(epochs, [row["train_loss"] for row in history], label=f"#{rank}")
        if "valid_score" in history[0]:
            score_ax.plot(epochs, [row["valid_score"] for row in history], label=f"#{rank}")
    loss_ax.set(xlabel="epoch", ylabel="training loss", title="Training loss")
    score_ax.set(xlabel="epoch", ylabel="validation score", title="Validation score")
    loss_ax.legend()
    fig.savefig(path, dpi=100)
    return models


def _best_indices(results, k):
    scores = np.asarray(results["mean_test_score"], dtype=float)
    if "n_resources" in results:
        budget = np.asarray(results["n_resources"])
        scores = np.where(budget == budget.max(), scores, -np.inf)
    return list(np.argsort(-np.nan_to_num(scores, nan=-np.inf), kind="stable")[:k])
