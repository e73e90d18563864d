"""Reading a finished search: a leaderboard table and PNG plots.

"Best first" means one order everywhere: the leaderboard's rows, its ``rank`` column,
the candidates ``plot_learning_curves(top=k)`` refits and the one ``plot_scores`` marks.
For successive halving that order puts the candidates that reached the last round
first (ranked by their score there), then those eliminated one round earlier, and so
on: a score measured on a smaller budget never outranks one on the final budget.
"""

import math

import numpy as np
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.pipeline import Pipeline

_SCORE_COLUMNS = ["mean_test_score", "std_test_score", "mean_fit_time"]
_INFO_COLUMNS = ["rank", "iter", "n_resources", "state"] + _SCORE_COLUMNS


def leaderboard(search, top=None):
    """The candidates of a fitted search as a table, best first.

    Works with ``GridSearchCV``, ``RandomizedSearchCV``, the halving searches and
    ``OptunaSearchCV``. A halving search lists each candidate once, on the last round
    it reached (``iter``, ``n_resources``): the candidates of the final round first,
    ordered by their score there, then those eliminated earlier. An Optuna search
    lists its trials, completed ones first (``state``).

    Parameters
    ----------
    search : fitted search estimator
        A fitted scikit-learn or sktune search (grid, randomized, halving, Optuna).
    top : int, default=None
        Keep only the first ``top`` rows.

    Returns
    -------
    table : pandas.DataFrame
        Columns ``rank`` (1 for the best; equal scores share a rank), the scores and
        fit time, ``iter`` and ``n_resources`` (halving) or ``state`` (Optuna), and one
        column per hyperparameter (pipeline step prefixes removed). The index is the
        candidate's row in ``cv_results_`` (its trial number for Optuna).

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
    rows = _ordered_rows(results)
    table = pd.DataFrame(index=pd.Index(rows, name=None))
    keys = _order_keys(results)
    first = {}  # equal keys (equal scores on the same round) share the better rank
    table["rank"] = [first.setdefault(keys[i], pos) for pos, i in enumerate(rows, start=1)]
    for column in _SCORE_COLUMNS + ["iter", "n_resources", "state"]:
        if column in results:
            table[column] = np.asarray(results[column], dtype=object)[rows] \
                if column == "state" else np.asarray(results[column])[rows]
    params = pd.DataFrame([results["params"][i] for i in rows], index=table.index)
    params.columns = [c.split("__")[-1] for c in params.columns]
    table = pd.concat([table, params.astype(object)], axis=1)
    return table.head(top) if top else table


def _cv_results(search):
    if not hasattr(search, "cv_results_") and not hasattr(search, "trials_"):
        raise ValueError("the search is not fitted yet (no cv_results_).")
    if hasattr(search, "trials_"):  # OptunaSearchCV: one row per trial, pruned ones too
        trials = search.trials_
        results = {"params": [t.params for t in trials],
                   "state": [t.state.name.lower() for t in trials]}
        for column in _SCORE_COLUMNS:
            results[column] = np.array([t.user_attrs.get(column, np.nan) for t in trials],
                                       dtype=float)
        # a pruned trial has no mean over folds: its last reported score is not comparable
        done = np.array([t.state.name == "COMPLETE" for t in trials])
        results["mean_test_score"] = np.where(done, results["mean_test_score"], np.nan)
        return results
    return dict(search.cv_results_)


def _order_keys(results):
    """A sort key per row of ``results``: smaller is better."""
    scores = np.asarray(results["mean_test_score"], dtype=float)
    rung = np.asarray(results.get("iter", np.zeros(len(scores))))
    state = np.asarray(results.get("state", ["complete"] * len(scores)))
    return [(state[i] != "complete", -rung[i], np.isnan(scores[i]),
             -scores[i] if not np.isnan(scores[i]) else 0.0) for i in range(len(scores))]


def _ordered_rows(results):
    """Row indices best first; for halving, each candidate only on its last round."""
    keys = _order_keys(results)
    rows = range(len(keys))
    if "iter" in results:
        rows = _last_rounds(results)
    return sorted(rows, key=lambda i: (keys[i], i))


def _last_rounds(results):
    """Rows of a halving search on the last round their candidate reached.

    The candidates of a round are those of the previous round that went on, with the
    same parameters but the budget, so a row is superseded when its parameters appear
    in the next round. Candidates drawn twice with equal parameters stay distinct: the
    best-scoring copies are the ones that went on.
    """
    rung = np.asarray(results["iter"])
    scores = np.nan_to_num(np.asarray(results["mean_test_score"], dtype=float), nan=-np.inf)
    resource = _resource_name(results)
    keyed = [repr(sorted((k, repr(v)) for k, v in p.items() if k != resource))
             for p in results["params"]]
    groups = {}
    for i, key in enumerate(keyed):
        groups.setdefault((key, rung[i]), []).append(i)
    kept = []
    for (key, r), members in groups.items():
        went_on = len(groups.get((key, r + 1), []))
        members = sorted(members, key=lambda i: -scores[i])
        kept += members[went_on:]
    return kept


def _resource_name(results):
    """The parameter a halving search varies between rounds (None for n_samples)."""
    budgets = np.asarray(results["n_resources"])
    for name in results["params"][0]:
        values = [p.get(name) for p in results["params"]]
        if all(isinstance(v, (int, np.integer)) and v == b for v, b in zip(values, budgets)):
            return name
    return None


# ---- plots -------------------------------------------------------------------------
def plot_scores(search, path):
    """Save a PNG with the mean CV score against each searched hyperparameter.

    Numeric parameters are placed on a numeric axis (a log axis when they span more
    than two decades); other values get one position each, in a natural order (tuples
    of layer sizes by depth, then by widths; numbers numerically). The best candidate
    is marked with a star. For a halving search each candidate is shown on the last
    round it reached, one colour per budget.

    Parameters
    ----------
    search : fitted search estimator
        A fitted scikit-learn or sktune search (grid, randomized, halving, Optuna).
    path : str or path-like
        Where to write the PNG.

    Returns
    -------
    path : str or path-like
        ``path``, where the figure was written.
    """
    from matplotlib.figure import Figure

    table = leaderboard(search)
    names = [c for c in table.columns if c not in _INFO_COLUMNS
             and table[c].map(repr).nunique() > 1]
    if "n_resources" in table:  # the budget is the halving resource, not a hyperparameter
        names = [n for n in names if not table[n].equals(table["n_resources"].astype(object))]
    cols = min(3, max(len(names), 1))
    rows = math.ceil(max(len(names), 1) / cols)
    fig = Figure(figsize=(4.5 * cols, 3.2 * rows), layout="constrained")
    scores = table["mean_test_score"].astype(float).to_numpy()
    best = table["rank"].to_numpy() == 1
    groups = _budget_groups(table)
    for i, name in enumerate(names):
        ax = fig.add_subplot(rows, cols, i + 1)
        x, log = _positions(ax, table[name].tolist())
        for label, mask in groups:
            ax.scatter(x[mask], scores[mask], alpha=0.7, label=label)
        ax.scatter(x[best], scores[best], marker="*", s=220, color="red", edgecolor="black",
                   zorder=3, label="best")
        if log:
            ax.set_xscale("log")
        ax.set_xlabel(name)
        ax.set_ylabel("mean CV score")
        if i == 0:
            ax.legend(fontsize=7)
    if not names:
        ax = fig.add_subplot(1, 1, 1)
        ax.text(0.5, 0.5, "no hyperparameter took more than one value", ha="center")
        ax.set_axis_off()
    fig.suptitle("Score against each hyperparameter")
    fig.savefig(path, dpi=100)
    return path


def _budget_groups(table):
    if "n_resources" not in table:
        return [("candidates", np.ones(len(table), bool))]
    budgets = table["n_resources"].to_numpy()
    return [(f"budget {b}", budgets == b) for b in sorted(set(budgets))]


def _positions(ax, values):
    """x positions of ``values`` on ``ax``, and whether a log axis suits them."""
    if all(isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_))
           for v in values):
        x = np.asarray(values, dtype=float)
        finite = x[np.isfinite(x)]
        log = finite.size > 0 and finite.min() > 0 and finite.max() / finite.min() > 100
        return x, log
    labels = sorted(set(map(repr, values)), key=lambda r: _natural_key(_by_repr(values, r)))
    ax.set_xticks(range(len(labels)), [str(_by_repr(values, r)) for r in labels], rotation=30,
                  ha="right", fontsize=8)
    return np.array([labels.index(repr(v)) for v in values], dtype=float), False


def _by_repr(values, r):
    return next(v for v in values if repr(v) == r)


def _natural_key(value):
    """Order of categorical values: None, booleans, numbers, tuples (depth, widths), text."""
    if value is None:
        return (0,)
    if isinstance(value, (bool, np.bool_)):
        return (1, bool(value))
    if isinstance(value, (int, float, np.number)):
        return (2, float(value))
    if isinstance(value, (tuple, list)):
        return (3, len(value), tuple(_natural_key(v) for v in value))
    return (4, str(value))


def plot_learning_curves(search, X, y, path, top=3):
    """Refit the ``top`` best candidates on ``(X, y)`` and save their learning curves.

    Searches keep only the best model, so the other curves cost one fit each. The
    candidates are the first ``top`` rows of :func:`leaderboard` (for halving: the best
    on the final budget, refitted with that budget). Panels: the training loss per
    epoch, and the validation score of models trained with ``early_stopping`` (when
    none was, the panel says so).

    Parameters
    ----------
    search : fitted search estimator
        A fitted scikit-learn or sktune search (grid, randomized, halving, Optuna).
    X, y : array-like
        Training data for the refits.
    path : str or path-like
        Where to write the PNG.
    top : int, default=3
        Number of candidates to refit.

    Returns
    -------
    models : list
        The refitted estimators, best first.
    """
    from matplotlib.figure import Figure

    results = _cv_results(search)
    rows = _ordered_rows(results)[:top]
    models = [clone(search.estimator).set_params(**results["params"][i]).fit(X, y)
              for i in rows]
    fig = Figure(figsize=(9, 3.5), layout="constrained")
    loss_ax, score_ax = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    validated = False
    for rank, model in enumerate(models, start=1):
        history = _network(model).history_
        epochs = [row["epoch"] for row in history]
        loss_ax.plot(epochs, [row["train_loss"] for row in history], label=f"#{rank}")
        if history and "valid_score" in history[0]:
            validated = True
            score_ax.plot(epochs, [row["valid_score"] for row in history], label=f"#{rank}")
    loss_ax.set(xlabel="epoch", ylabel="training loss", title="Training loss")
    loss_ax.legend()
    if validated:
        score_ax.set(xlabel="epoch", ylabel="validation score", title="Validation score")
    else:
        score_ax.set_axis_off()
        score_ax.text(0.5, 0.5, "no validation score:\nearly_stopping was off",
                      ha="center", va="center", transform=score_ax.transAxes)
    fig.savefig(path, dpi=100)
    return models


def _network(model):
    """The fitted sktune estimator inside a fitted Pipeline / TransformedTargetRegressor."""
    if isinstance(model, TransformedTargetRegressor):
        return _network(model.regressor_)
    if isinstance(model, Pipeline):
        return _network(model[-1])
    return model
