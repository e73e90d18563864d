"""``python -m sktune`` / ``sktune``: a hyperparameter search from the command line.

Loads a dataset that ships with scikit-learn (or a CSV file), holds out a stratified
test set, runs a search over ``StandardScaler -> sktune model`` and prints the best
parameters and the test score.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import RandomizedSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktune._search_space import search_space

#: datasets bundled with scikit-learn (no download): name -> (loader, task)
DATASETS = {
    "iris": (datasets.load_iris, "classification"),
    "wine": (datasets.load_wine, "classification"),
    "breast_cancer": (datasets.load_breast_cancer, "classification"),
    "digits": (datasets.load_digits, "classification"),
    "diabetes": (datasets.load_diabetes, "regression"),
}


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
    return X, y, args.task or task


def make_estimator(family, task, args):
    from sktune import MLPClassifier, MLPRegressor

    families = {"mlp": (MLPClassifier, MLPRegressor)}
    cls = families[family][0 if task == "classification" else 1]
    return cls(max_iter=args.max_iter, early_stopping=True, n_iter_no_change=5,
               random_state=args.random_state)


def build_parser():
    parser = argparse.ArgumentParser(prog="sktune", description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--dataset", choices=sorted(DATASETS), default="digits",
                        help="a dataset bundled with scikit-learn (default: digits)")
    source.add_argument("--csv", help="a CSV file; numeric columns are the features")
    parser.add_argument("--target", help="target column of --csv")
    parser.add_argument("--task", choices=["classification", "regression"],
                        help="override the task inferred from the data")
    parser.add_argument("--model", default="mlp", choices=["mlp"], help="model family")
    parser.add_argument("--n-iter", type=int, default=12, help="candidates to try")
    parser.add_argument("--cv", type=int, default=3, help="cross-validation folds")
    parser.add_argument("--max-iter", type=int, default=40, help="maximum epochs per fit")
    parser.add_argument("--n-jobs", type=int, default=1, help="parallel fits (joblib)")
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help="a tiny search (4 candidates, 2 folds, 10 epochs) for smoke tests")
    return parser


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
    pipe = make_pipeline(StandardScaler(), make_estimator(args.model, task, args))
    search = RandomizedSearchCV(pipe, search_space(pipe), n_iter=args.n_iter, cv=args.cv,
                                n_jobs=args.n_jobs, random_state=args.random_state,
                                error_score=np.nan)
    source = args.csv or args.dataset
    print(f"sktune: {args.model} {task} on {source} ({X.shape[0]} rows, {X.shape[1]} "
          f"features), {args.n_iter} candidates x {args.cv} folds")
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X_train, y_train)
    print(f"search took {time.perf_counter() - start:.1f} s")
    print(f"best cross-validation score: {search.best_score_:.4f}")
    print("best parameters:")
    for name, value in sorted(search.best_params_.items()):
        value = value.item() if hasattr(value, "item") else value
        print(f"  {name.split('__', 1)[-1]} = {value!r}")
    print(f"test score: {search.score(X_test, y_test):.4f}")
    return search


if __name__ == "__main__":  # pragma: no cover
    main()
