"""``python -m sktune`` / ``sktune``: a hyperparameter search from the command line.

Loads a dataset that ships with scikit-learn (or a CSV file), holds out a stratified
test set, searches over ``StandardScaler -> sktune model`` with a random, halving or
Optuna strategy (optionally on a Dask cluster), prints the best parameters and the test
score, and with ``--output`` writes the leaderboard, the best model and the plots.
"""

import argparse
import contextlib
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import RandomizedSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktune.model_selection._search_space import search_space

#: datasets bundled with scikit-learn (no download): name -> (loader, task)
DATASETS = {
    "iris": (datasets.load_iris, "classification"),
    "wine": (datasets.load_wine, "classification"),
    "breast_cancer": (datasets.load_breast_cancer, "classification"),
    "digits": (datasets.load_digits, "classification"),
    "diabetes": (datasets.load_diabetes, "regression"),
}
STRATEGIES = ("random", "halving", "optuna")


def load_data(args):
    """Return ``X, y, task`` from ``--dataset`` or ``--csv/--target``."""
    if args.csv:
        import pandas as pd

        frame = pd.read_csv(args.csv)
        if args.target not in frame:
            raise SystemExit(f"--target {args.target!r} is not a column of {args.csv}: "
                             f"{list(frame.columns)}")
        y = frame.pop(args.target).to_numpy()
        X = frame.select_dtypes("number").to_numpy(dtype=np.float64)
        task = args.task or ("classification" if y.dtype.kind in "OUSb" or
                             len(np.unique(y)) <= 20 else "regression")
        return X, y, task
    loader, task = DATASETS[args.dataset]
    X, y = loader(return_X_y=True)
    if task == "regression":
        y = (y - y.mean()) / y.std()  # networks train poorly on unscaled targets
    return X, y, args.task or task


def make_estimator(args, task):
    """The sktune model of ``--model``, configured for the data at hand."""
    import sktune

    kind = "Classifier" if task == "classification" else "Regressor"
    cls = getattr(sktune, {"mlp": "MLP", "cnn": "CNN", "rnn": "RNN"}[args.model] + kind)
    # Optuna prunes through partial_fit, which (as in scikit-learn) has no early stopping
    params = dict(max_iter=args.max_iter, early_stopping=args.strategy != "optuna",
                  n_iter_no_change=5, random_state=args.random_state)
    if args.model == "cnn" and args.dataset == "digits" and not args.csv:
        params["input_shape"] = (8, 8)
    elif args.model == "cnn":
        params["global_pool"] = False  # tabular rows as 1-D signals: keep positions
    return cls(**params)


def make_search(args, estimator, space):
    common = dict(cv=args.cv, n_jobs=args.n_jobs, random_state=args.random_state,
                  error_score=np.nan, verbose=2 if args.verbose else 1)
    step = estimator.steps[-1][0] + "__" if hasattr(estimator, "steps") else ""
    if args.strategy == "halving":
        from sklearn.experimental import enable_halving_search_cv  # noqa: F401
        from sklearn.model_selection import HalvingRandomSearchCV

        return HalvingRandomSearchCV(estimator, space, n_candidates=args.n_iter, factor=3,
                                     resource=step + "max_iter", max_resources=args.max_iter,
                                     min_resources=max(2, args.max_iter // 9), **common)
    if args.strategy == "optuna":
        from optuna_integration import OptunaSearchCV

        common.pop("n_jobs"), common.pop("verbose")
        return OptunaSearchCV(estimator, optuna_space(space), n_trials=args.n_iter,
                              enable_pruning=True, max_iter=args.max_iter, n_jobs=args.n_jobs,
                              verbose=1 if args.verbose else 0, **common)
    return RandomizedSearchCV(estimator, space, n_iter=args.n_iter, **common)


def optuna_space(space):
    """sktune's default distributions as Optuna distributions (tuple choices as tuples)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    out = {}
    for name, dist in space.items():
        if isinstance(dist, list):
            if any(isinstance(v, tuple) for v in dist):
                continue  # Optuna stores only scalar categorical choices
            out[name] = CategoricalDistribution(dist)
        else:
            low, high = dist.support()
            out[name] = FloatDistribution(float(low), float(high), log=True)
    return out


def build_parser():
    parser = argparse.ArgumentParser(prog="sktune", description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--dataset", choices=sorted(DATASETS), default="digits",
                        help="a dataset bundled with scikit-learn (default: digits)")
    source.add_argument("--csv", help="a CSV file; numeric columns are the features")
    parser.add_argument("--target", help="target column of --csv")
    parser.add_argument("--task", choices=["classification", "regression"],
                        help="override the task inferred from the data")
    parser.add_argument("--model", default="mlp", choices=["mlp", "cnn", "rnn"],
                        help="model family (cnn reads digits as 8x8 images)")
    parser.add_argument("--strategy", default="random", choices=STRATEGIES,
                        help="random search, successive halving on epochs, or Optuna "
                             "(TPE with pruning through partial_fit)")
    parser.add_argument("--n-iter", type=int, default=12, help="candidates to try")
    parser.add_argument("--cv", type=int, default=3, help="cross-validation folds")
    parser.add_argument("--max-iter", type=int, default=40, help="maximum epochs per fit")
    parser.add_argument("--n-jobs", type=int, default=1, help="parallel fits (joblib)")
    parser.add_argument("--dask", metavar="ADDRESS",
                        help="run the fits on a Dask scheduler (tcp://host:8786), or 'local' "
                             "for a LocalCluster of --n-jobs workers")
    parser.add_argument("--output", type=Path,
                        help="folder for leaderboard.csv, best_model.joblib and the plots")
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--verbose", action="store_true", help="one line per fit")
    parser.add_argument("--quick", action="store_true",
                        help="a tiny search (4 candidates, 2 folds, 10 epochs) for smoke tests")
    return parser


@contextlib.contextmanager
def _backend(args):
    if not args.dask:
        yield
        return
    from joblib import parallel_config

    from sktune.model_selection._parallel import dask_client

    address = None if args.dask == "local" else args.dask
    with dask_client(address, n_workers=max(args.n_jobs, 1)) as client, \
            parallel_config("dask-resilient"):
        print(f"running on Dask: {client}")
        yield


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.csv and not args.target:
        raise SystemExit("--csv needs --target")
    if args.quick:
        args.n_iter, args.cv, args.max_iter = 4, 2, 10
    X, y, task = load_data(args)
    stratify = y if task == "classification" else None
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=stratify, random_state=args.random_state)
    if args.strategy == "optuna":  # pruning needs the estimator's own partial_fit
        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
        estimator = make_estimator(args, task)
    else:
        estimator = make_pipeline(StandardScaler(), make_estimator(args, task))
    search = make_search(args, estimator, search_space(estimator))
    print(f"sktune: {args.model} {task} on {args.csv or args.dataset} ({X.shape[0]} rows, "
          f"{X.shape[1]} features), {args.strategy} search, {args.n_iter} candidates x "
          f"{args.cv} folds, up to {args.max_iter} epochs")
    start = time.perf_counter()
    with warnings.catch_warnings(), _backend(args):
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X_train, y_train)
    print(f"search took {time.perf_counter() - start:.1f} s")
    print(f"best cross-validation score: {search.best_score_:.4f}")
    print("best parameters:")
    for name, value in sorted(search.best_params_.items()):
        value = value.item() if hasattr(value, "item") else value
        print(f"  {name.split('__', 1)[-1]} = {value!r}")
    print(f"test score: {search.score(X_test, y_test):.4f}")
    if args.output:
        write_outputs(search, X_train, y_train, args.output)
    return search


def write_outputs(search, X, y, folder):
    """Leaderboard CSV, best model (joblib) and the two plots, in ``folder``."""
    import joblib

    from sktune.model_selection._results import leaderboard, plot_learning_curves, plot_scores

    folder.mkdir(parents=True, exist_ok=True)
    table = leaderboard(search)
    table.to_csv(folder / "leaderboard.csv", index=False)
    joblib.dump(search.best_estimator_, folder / "best_model.joblib")
    plot_scores(search, folder / "scores.png")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plot_learning_curves(search, X, y, folder / "learning_curves.png", top=3)
    print(table.head(5).to_string(index=False))
    print(f"wrote leaderboard.csv, best_model.joblib, scores.png, learning_curves.png to "
          f"{folder}")
