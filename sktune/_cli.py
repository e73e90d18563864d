"""``python -m sktune`` / ``sktune``: a hyperparameter search from the command line.

Loads a dataset that ships with scikit-learn (or a CSV file), holds out a stratified
test set, searches over ``preprocessing -> sktune model`` with a random, halving or
Optuna strategy (optionally on a Dask cluster), prints the best parameters and the test
score, and with ``--output`` writes the leaderboard, the best model and the plots.
"""

import argparse
import contextlib
import importlib
import os
import sys
import time
import traceback
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn import datasets
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktune._tabular import (
    DataError,
    check_target,
    describe,
    infer_task,
    make_preprocessor,
    plan_columns,
    read_csv,
)
from sktune.model_selection._search_space import optuna_distributions, search_space

#: datasets bundled with scikit-learn (no download): name -> (loader, task)
DATASETS = {
    "iris": (datasets.load_iris, "classification"),
    "wine": (datasets.load_wine, "classification"),
    "breast_cancer": (datasets.load_breast_cancer, "classification"),
    "digits": (datasets.load_digits, "classification"),
    "diabetes": (datasets.load_diabetes, "regression"),
}
STRATEGIES = ("random", "halving", "optuna")
TEST_SIZE = 0.25
#: 6 candidates x 3 folds and the 3 best refitted: on bench_tabular.py's eight tables
#: the search's CPU time is then that of one RealMLP-TD fit (12.5 s against 13.4 s per
#: table, the same scores as 8 candidates: benchmarks/README.md#tabular)
DEFAULTS = {"n_iter": 6, "cv": 3, "max_iter": 100, "ensemble": 3}
QUICK = {"n_iter": 4, "cv": 2, "max_iter": 10, "ensemble": 1}  # --quick
#: epochs without a better validation score before a fit of the search stops
PATIENCE = 10
OUTPUT_FILES = ("leaderboard.csv", "best_model.joblib", "scores.png", "learning_curves.png")


@dataclass
class Data:
    """What the search runs on: features, target, task, the preprocessing of raw rows."""

    X: object
    y: np.ndarray
    task: str
    name: str
    preprocessor: object
    notes: list = field(default_factory=list)


# ---- the search classes: one place --------------------------------------------------
def search_class(strategy):
    """The class that runs ``strategy``: sktune's fused searches (scikit-learn's, with the
    network fits trained together and a progress line), or optuna-integration's."""
    if strategy == "halving":
        from sktune.model_selection import HalvingRandomSearchCV

        return HalvingRandomSearchCV
    if strategy == "optuna":
        from optuna_integration import OptunaSearchCV

        return OptunaSearchCV
    from sktune.model_selection import RandomizedSearchCV

    return RandomizedSearchCV


# ---- data --------------------------------------------------------------------------
def load_data(args):
    """The :class:`Data` of ``--dataset`` or ``--csv/--target``, checked before any fit."""
    if args.csv:
        frame, y, notes = read_csv(args.csv, args.target,
                                   drop_missing_target=args.drop_missing_target)
        task, why = (args.task, f"{args.task} (--task)") if args.task else \
            infer_task(y, args.target)
        plan = plan_columns(frame)
        notes = notes + [f"task: {why}"] + describe(plan)
        y = y.to_numpy()
        if task == "classification" and y.dtype.kind == "f" and np.all(np.mod(y, 1) == 0):
            y = y.astype(int)  # labels 0.0/1.0 read as floats: print them as 0/1
        data = Data(frame, y, task, Path(args.csv).name, make_preprocessor(plan), notes)
    else:
        loader, task = DATASETS[args.dataset]
        X, y = loader(return_X_y=True)
        data = Data(X, y, args.task or task, args.dataset, StandardScaler())
    check_target(data.y, data.task, args.target or "target", cv=args.cv, test_size=TEST_SIZE)
    return data


def make_estimator(args, data):
    """The sktune model of ``--model``, configured for the data at hand."""
    import sktune

    kind = "Classifier" if data.task == "classification" else "Regressor"
    # Optuna prunes through partial_fit, which (as in scikit-learn) has no early stopping
    params = dict(max_iter=args.max_iter, early_stopping=args.strategy != "optuna",
                  n_iter_no_change=PATIENCE, random_state=args.random_state)
    if args.model == "mlp":  # the tabular recipe (sktune.tabular_mlp), searched around it
        return sktune.tabular_mlp(data.task, **params)
    cls = getattr(sktune, {"cnn": "CNN", "rnn": "RNN"}[args.model] + kind)
    if args.model == "cnn" and args.dataset == "digits" and not args.csv:
        params["input_shape"] = (8, 8)
    elif args.model == "cnn":
        params["global_pool"] = False  # tabular rows as 1-D signals: keep positions
    return cls(**params)


def full_model(data, estimator):
    """Preprocessing -> estimator; a regressor learns a standardised target
    (``TransformedTargetRegressor``): networks train poorly on targets far from unit scale."""
    model = make_pipeline(clone(data.preprocessor), estimator)
    if data.task == "regression":
        model = TransformedTargetRegressor(model, transformer=StandardScaler())
    return model


def _fit_rows(n_train, args, estimator):
    """Rows one fit of the search trains on: a CV training fold less the hold-out."""
    rows = n_train - int(np.ceil(n_train / args.cv))
    return rows - int(np.ceil(rows * estimator.validation_fraction))


# ---- search ------------------------------------------------------------------------
def make_search(args, model, space):
    """The search of ``--strategy`` over ``model`` (the bare estimator for Optuna)."""
    cls = search_class(args.strategy)
    common = dict(cv=args.cv, random_state=args.random_state, error_score=np.nan)
    # each for the epochs its folds chose, or their cross-validation fits averaged
    refit = dict(refit_ensemble=args.ensemble, average_folds=args.average_folds)
    if args.strategy == "optuna":
        import optuna

        optuna.logging.set_verbosity(optuna.logging.INFO if args.verbose else
                                     optuna.logging.WARNING)
        with warnings.catch_warnings():  # "OptunaSearchCV is experimental": not actionable
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return cls(model, optuna_distributions(space), n_trials=args.n_iter,
                       enable_pruning=True, max_iter=args.max_iter, n_jobs=args.n_jobs,
                       refit=False, verbose=0, **common)
    common.update(n_jobs=args.n_jobs, verbose=3 if args.verbose else 1)
    if args.strategy == "halving":
        resource = next(k for k in model.get_params() if k.endswith("__max_iter"))
        return cls(model, space, n_candidates=args.n_iter, factor=3, resource=resource,
                   max_resources=args.max_iter, min_resources=max(2, args.max_iter // 9),
                   **refit, **common)
    return cls(model, space, n_iter=args.n_iter, **refit, **common)


def run_search(args, data, X_train, y_train):
    """Fit the search; return ``(search, best_model, X, y)``: the best model takes raw
    rows, ``X, y`` are what the search was fitted on."""
    estimator = make_estimator(args, data)
    n_fit = _fit_rows(len(y_train), args, estimator)
    if isinstance(estimator.batch_size, int) and 2 * estimator.batch_size > n_fit:
        estimator.set_params(batch_size="auto")  # the recipe's batch: more than half a fit
    # the tabular space; a fused search keeps the structural choices its candidates can
    # fill (search_space's n_iter), Optuna's trials run one by one and take them all
    recipe = {} if args.model != "mlp" else dict(
        recipe="tabular", n_iter=None if args.strategy == "optuna" else args.n_iter)
    if args.strategy != "optuna":
        model = full_model(data, estimator)
        search = make_search(args, model, search_space(model, n_samples=n_fit, **recipe))
        _quiet_fit(args, search, X_train, y_train)
        return search, search.best_estimator_, X_train, y_train
    # Optuna prunes through the estimator's own partial_fit, which a Pipeline lacks: the
    # preprocessing (and target scaling) is fitted once on the training rows, the search
    # runs on the bare estimator, and the best parameters are refitted in the full model.
    prepared = clone(data.preprocessor).fit(X_train)
    Xt, yt = prepared.transform(X_train), y_train
    if data.task == "regression":
        yt = StandardScaler().fit_transform(np.reshape(y_train, (-1, 1)).astype(float)).ravel()
    search = make_search(args, estimator, search_space(estimator, n_samples=n_fit, **recipe))
    _quiet_fit(args, search, Xt, yt)
    best = full_model(data, clone(estimator).set_params(**search.best_params_))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        best.fit(X_train, y_train)
    return search, best, Xt, yt


def _quiet_fit(args, search, X, y):
    """Fit ``search``; per-fit warnings become one summary line each (with a count).

    sktune's searches count their fits' ConvergenceWarnings themselves (in every worker)
    and issue one summary, printed here as a note. With Optuna, every warning of this
    process is recorded and summarised; its fits in other processes (``--n-jobs`` > 1,
    Dask) inherit an "ignore" filter for ConvergenceWarning instead and are not counted.
    """
    from sktune.model_selection._search import _FusedSearchCV

    summarised = isinstance(search, _FusedSearchCV)
    in_process = summarised or (args.n_jobs == 1 and not args.dask)
    with warnings.catch_warnings(record=in_process) as caught, _backend(args):
        if in_process:
            warnings.simplefilter("always")
        else:
            for category in (ConvergenceWarning, DeprecationWarning, FutureWarning):
                warnings.simplefilter("ignore", category)
        search.fit(X, y)
    if not in_process:
        print("note: fits that ended at --max-iter before converging were not reported one "
              "by one (ConvergenceWarning, silenced in parallel fits)")
        return
    # deprecations in libraries are for their developers, not for this command's users
    shown = [w for w in caught if issubclass(w.category, (UserWarning, RuntimeWarning))]
    counts = Counter((w.category, str(w.message).strip().splitlines()[0]) for w in shown)
    unconverged = 0
    for (category, message), n in counts.items():
        if not issubclass(category, ConvergenceWarning):
            times = f" ({n} times)" if n > 1 else ""
            print(f"warning: {category.__name__}: {message}{times}", file=sys.stderr)
        elif summarised:  # "k of n fits reached max_iter ...; ... (One warning per search ...)"
            print(f"note: {message.split('; ')[0]}; a larger --max-iter may help")
        else:
            unconverged += n
    if unconverged:
        print(f"note: {unconverged} fits ended at their epoch budget before converging "
              f"(ConvergenceWarning); a larger --max-iter may help")


@contextlib.contextmanager
def _backend(args):
    if not args.dask:
        yield
        return
    from joblib import parallel_config

    from sktune.model_selection._parallel import dask_client

    address = None if args.dask == "local" else args.dask
    workers = args.n_jobs if args.n_jobs > 0 else os.cpu_count() or 1
    with dask_client(address, n_workers=workers) as client, \
            parallel_config("dask-resilient"):
        print(f"running on Dask: {client}")
        yield


# ---- command line ------------------------------------------------------------------
def build_parser():
    parser = argparse.ArgumentParser(prog="sktune", description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--dataset", choices=sorted(DATASETS), default="digits",
                        help="a dataset bundled with scikit-learn (default: digits)")
    source.add_argument("--csv", help="a CSV file: numeric columns are imputed and robustly "
                        "scaled with clipping, categorical ones one-hot encoded, dates split "
                        "into parts; identifiers and free text are dropped (a note says so)")
    parser.add_argument("--target", help="target column of --csv")
    parser.add_argument("--drop-missing-target", action="store_true",
                        help="drop CSV rows without a target value (default: an error)")
    parser.add_argument("--task", choices=["classification", "regression"],
                        help="override the task inferred from the data")
    parser.add_argument("--model", default="mlp", choices=["mlp", "cnn", "rnn"],
                        help="model family (cnn reads digits as 8x8 images)")
    parser.add_argument("--strategy", default="random", choices=STRATEGIES,
                        help="random search, successive halving on epochs, or Optuna "
                             "(TPE with pruning through partial_fit)")
    parser.add_argument("--n-iter", type=int, help="candidates to try (default: 6)")
    parser.add_argument("--cv", type=int, help="cross-validation folds (default: 3)")
    parser.add_argument("--max-iter", type=int, help="maximum epochs per fit (default: 100; "
                        f"each fit early-stops after {PATIENCE} epochs without progress)")
    parser.add_argument("--ensemble", type=int,
                        help="average the K best candidates, each refitted on all training "
                        "rows for the epochs its cross-validation chose (default: 3; 1 "
                        "refits the best alone; ignored by --strategy optuna)")
    parser.add_argument("--average-folds", action="store_true",
                        help="no refit: average the cross-validation fits of the --ensemble "
                        "best candidates (K x folds networks, no training after the search; "
                        "ignored by --strategy optuna)")
    parser.add_argument("--n-jobs", type=int,
                        help="parallel fits (joblib; default: 1, or with --dask every "
                        "worker of the cluster)")
    parser.add_argument("--dask", metavar="ADDRESS",
                        help="run the fits on a Dask scheduler (tcp://host:8786), or 'local' "
                             "for a LocalCluster of --n-jobs workers (default: one per core)")
    parser.add_argument("--output", type=Path,
                        help="folder for leaderboard.csv, best_model.joblib (the preprocessing "
                             "included: it predicts on raw rows) and the plots")
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--verbose", action="store_true",
                        help="one line per fit with its parameters, score and time (Optuna: "
                             "one per trial); on failure, the full traceback")
    parser.add_argument("--quick", action="store_true",
                        help="a tiny search for smoke tests: defaults of 4 candidates, 2 folds, "
                             "10 epochs, no ensemble")
    return parser


def parse_args(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.csv and not args.target:
        parser.error("--csv needs --target")
    if args.target and not args.csv:
        parser.error("--target goes with --csv")
    defaults = QUICK if args.quick else DEFAULTS
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    for name in ("n_iter", "cv", "max_iter", "n_jobs", "ensemble"):
        if name == "n_jobs" and args.n_jobs is None:
            continue
        if getattr(args, name) < (2 if name == "cv" else 1):
            parser.error(f"--{name.replace('_', '-')} must be at least "
                         f"{2 if name == 'cv' else 1}")
    if args.n_jobs is None:  # on Dask, n_jobs=1 would run every fit in this process
        args.n_jobs = -1 if args.dask else 1
    if args.strategy == "halving" and args.max_iter < 2:
        parser.error("--strategy halving needs --max-iter of at least 2")
    return args


def check_environment(args):
    """What the run needs beyond the core install, checked before the search starts."""
    need = {"pandas": args.csv, "optuna_integration": args.strategy == "optuna",
            "distributed": args.dask}
    missing = [name for name, wanted in need.items() if wanted and not _installed(name)]
    if missing:
        raise DataError(f"missing packages for these options: {', '.join(missing)}; install "
                        "them with: pip install -e '.[tune]' (from the repository)")
    if args.output is None:
        return []
    folder = args.output
    if folder.exists() and not folder.is_dir():
        raise DataError(f"--output {folder} exists and is not a folder")
    parent = next(p for p in [folder, *folder.parents] if p.exists())
    if not parent.is_dir():  # os.access says nothing of a folder that cannot be made
        raise DataError(f"--output {folder}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK):
        raise DataError(f"--output {folder}: cannot write to {parent}")
    notes = []
    for package in ("pandas", "matplotlib"):
        if not _installed(package):
            notes.append(f"note: {package} is not installed: --output will write what it can "
                         "without it (pip install -e '.[tune]' for everything)")
    return notes


def _installed(package):
    try:
        importlib.import_module(package)
    except ImportError:
        return False
    return True


def run(argv=None):
    """Run the command line's search; return the fitted search (raises on failure)."""
    args = parse_args(argv)
    for note in check_environment(args):
        print(note)
    data = load_data(args)
    for note in data.notes:
        print(note)
    stratify = data.y if data.task == "classification" else None
    X_train, X_test, y_train, y_test = train_test_split(
        data.X, data.y, test_size=TEST_SIZE, stratify=stratify, random_state=args.random_state)
    n_features = data.X.shape[1]
    print(f"sktune: {args.model} {data.task} on {data.name} ({len(data.y)} rows, {n_features} "
          f"columns), {args.strategy} search, {args.n_iter} candidates x {args.cv} folds, up "
          f"to {args.max_iter} epochs")
    start = time.perf_counter()
    search, best, X_searched, y_searched = run_search(args, data, X_train, y_train)
    print(f"search took {time.perf_counter() - start:.1f} s")
    if not np.isfinite(search.best_score_):
        raise DataError("every candidate failed (NaN score); run with --verbose to see why")
    print(f"best cross-validation score: {search.best_score_:.4f}")
    print("best parameters:")
    for name, value in sorted(search.best_params_.items()):
        value = value.item() if hasattr(value, "item") else value
        print(f"  {name.split('__')[-1]} = {value!r}")
    print(f"test score: {best.score(X_test, y_test):.4f}")
    if args.output:
        write_outputs(search, best, X_searched, y_searched, args.output)
    return search


def main(argv=None):
    """Entry point of ``sktune`` and ``python -m sktune``: 0 on success, else 1 (2 for a
    wrong option, 130 when interrupted), with a one-line reason on stderr."""
    verbose = "--verbose" in (sys.argv[1:] if argv is None else argv)
    try:
        run(argv)
    except KeyboardInterrupt:
        print("sktune: interrupted", file=sys.stderr)
        return 130
    except SystemExit as exc:  # argparse: usage errors (2) and --help (0)
        return exc.code if isinstance(exc.code, int) else 1
    except DataError as exc:
        print(f"sktune: error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - a one-line reason, the traceback on request
        if verbose:
            traceback.print_exc()
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(f"sktune: error: {type(exc).__name__}: {first}"
              + ("" if verbose else " (--verbose shows the traceback)"), file=sys.stderr)
        return 1
    return 0


# ---- outputs -----------------------------------------------------------------------
def write_outputs(search, best, X, y, folder):
    """Leaderboard CSV, best model (joblib) and the two plots, in ``folder``.

    ``X, y`` are the rows the search was fitted on (the learning curves refit on them).
    Each file is written on its own, atomically (:func:`_write_atomically`): one that
    cannot be made (a missing package, a failing plot, a full disk) is reported, the
    file of a previous run stays as it was, and the others are still written. Without a
    new ``best_model.joblib`` the command fails (exit status 1). The folder is only
    created when there is something to put in it.
    """
    import joblib

    def leaderboard_csv(path):
        from sktune.model_selection._results import leaderboard

        table = leaderboard(search)
        table.to_csv(path, index=False)
        print(table.head(5).to_string(index=False))

    def scores_png(path):
        from sktune.model_selection._results import plot_scores

        plot_scores(search, path)

    def curves_png(path):
        from sktune.model_selection._results import plot_learning_curves

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            plot_learning_curves(search, X, y, path, top=3)

    writers = {"leaderboard.csv": leaderboard_csv,
               "best_model.joblib": lambda path: joblib.dump(best, path),
               "scores.png": scores_png, "learning_curves.png": curves_png}
    existed = folder.exists()
    written = []
    for name, write in writers.items():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            _write_atomically(folder / name, write)
            written.append(name)
        except Exception as exc:  # noqa: BLE001 - write the others, say what went wrong
            kept = " (the previous one is kept)" if (folder / name).exists() else ""
            print(f"sktune: could not write {name}{kept}: {type(exc).__name__}: {exc}",
                  file=sys.stderr)
    if not written and not existed:
        with contextlib.suppress(OSError):
            folder.rmdir()  # only if empty: never leave an empty folder behind
    if written:
        print(f"wrote {', '.join(written)} to {folder}")
    if not written:
        raise DataError(f"nothing could be written to {folder}")
    if "best_model.joblib" not in written:
        raise DataError(f"the best model could not be written to {folder}")


def _write_atomically(path, write):
    """``write(temporary path)`` in the same folder, then rename it to ``path``: a reader
    (or a later run) sees the old file or the new one, never a partial one, and a
    failure leaves the old file as it was. The temporary name keeps the suffix (the
    plots' format is read from it)."""
    temporary = path.with_name(f".{path.stem}.{os.getpid()}.partial{path.suffix}")
    try:
        write(temporary)
        with open(temporary, "rb") as f:
            os.fsync(f.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
