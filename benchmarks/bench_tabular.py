"""Tabular benchmark: sktune's default search against the strongest deep defaults.

Eight small tables (four classification, four regression; 340-1,500 rows; numeric and
categorical columns, missing values), three seeds of a 75/25 split each, contenders:

* ``realmlp``, ``tabm``: pytabkit's RealMLP-TD and TabM-D defaults (``pip install
  pytabkit``; CPU, one thread);
* ``hgb``: scikit-learn's HistGradientBoosting (native categories and missing values);
* ``sk_mlp``, ``sktune_default``: scikit-learn's and sktune's MLP with their defaults in
  a standard pipeline (median imputation, standard scaling, one-hot; a standardised
  target for regression);
* ``sktune_search``: the command line's default search (``python -m sktune --csv ...
  --target ...``, its preprocessing, search space and refit), run through its own
  functions on the same split; ``sktune_search_folds``: the same with
  ``--average-folds`` (the 3 best candidates' cross-validation fits averaged, no refit);
  ``sktune_search8``: with ``--n-iter 8`` (the default before it became 6);
* ``sktune_search_api``: the library's way to the same search — the standard pipeline
  above around ``sktune.tabular_mlp``, ``search_space(..., recipe="tabular",
  n_iter=6)`` and sktune's fused ``RandomizedSearchCV(n_iter=6, cv=3,
  refit_ensemble=3)``;
* ``sktune_recipe``, ``sktune_recipe_plain``: one fit of ``sktune.tabular_mlp`` (no
  search) after the command line's preprocessing, with its periodic numeric embedding
  and without it (``numeric_embedding=None``): what the embedding is worth alone.

Metric: accuracy (classification) or R² (regression) on the 25% test rows. Printed:
mean ± std over seeds per dataset, the average rank (1 = best) over datasets, and CPU
seconds per dataset (fit + predict, the process's CPU time, all threads). The data are
scikit-learn's bundled sets, palmerpenguins, vega_datasets and synthetic tables: the
pydataset package is the acceptance test of issue #23 and is never used here.

Every (model, dataset, seed) result is cached in ``--results`` (JSON), so contenders can
run in separate processes and a rerun only fits what is missing::

    OMP_NUM_THREADS=1 python benchmarks/bench_tabular.py --models realmlp,tabm
    OMP_NUM_THREADS=1 python benchmarks/bench_tabular.py \
        --models hgb,sk_mlp,sktune_default,sktune_search
    python benchmarks/bench_tabular.py --report
"""

import argparse
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

MODELS = ("realmlp", "tabm", "hgb", "sk_mlp", "sktune_default", "sktune_search",
          "sktune_search_folds", "sktune_search8", "sktune_search_api", "sktune_recipe",
          "sktune_recipe_plain")
SEEDS = (0, 1, 2)
TEST_SIZE = 0.25


# ---- datasets: name -> (frame with a "target" column, task) ---------------------------
def _breast_cancer():
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    return frame, "classification"


def _diabetes():
    from sklearn.datasets import load_diabetes

    return load_diabetes(as_frame=True).frame, "regression"


def _penguins(target):
    from palmerpenguins import load_penguins

    frame = load_penguins()
    frame = frame[frame[target].notna()].reset_index(drop=True)
    frame["year"] = frame["year"].astype(str)  # three field seasons: a category
    return frame.rename(columns={target: "target"})


def _penguin_species():
    return _penguins("species"), "classification"


def _penguin_mass():
    return _penguins("body_mass_g"), "regression"


def _seattle_weather():
    from vega_datasets import local_data

    frame = local_data.seattle_weather()
    dates = pd.to_datetime(frame.pop("date"))
    frame["month"] = dates.dt.month.astype(str)  # season as a category
    frame["year"] = dates.dt.year
    return frame.rename(columns={"weather": "target"}), "classification"


def _cars_mpg():
    from vega_datasets import local_data

    frame = local_data.cars().drop(columns=["Name"])
    frame["Year"] = pd.to_datetime(frame["Year"]).dt.year
    frame = frame[frame["Miles_per_Gallon"].notna()].reset_index(drop=True)
    return frame.rename(columns={"Miles_per_Gallon": "target"}), "regression"


def _synthetic(task, n=1500, seed=0):
    """Mixed columns with missing values: 6 numeric (two heavy-tailed), 3 categorical
    (one with 12 levels), a target with interactions, a threshold and a sine."""
    rng = np.random.default_rng(seed)
    num = rng.normal(size=(n, 6))
    num[:, 4] = rng.standard_t(2, size=n)            # heavy tails
    num[:, 5] = np.exp(rng.normal(size=n))           # skewed
    city = rng.choice([f"c{i}" for i in range(12)], size=n)
    kind = rng.choice(["a", "b", "c"], size=n, p=[0.6, 0.3, 0.1])
    flag = rng.choice(["yes", "no"], size=n)
    effect = {f"c{i}": v for i, v in enumerate(rng.normal(size=12))}
    signal = (np.sin(2 * num[:, 0]) + num[:, 1] * num[:, 2] + (num[:, 3] > 0.5)
              + 0.5 * np.log(num[:, 5]) + np.vectorize(effect.get)(city)
              + np.where(kind == "c", 1.5, 0.0) * (flag == "yes"))
    frame = pd.DataFrame(num, columns=[f"x{i}" for i in range(6)])
    frame["city"], frame["kind"], frame["flag"] = city, kind, flag
    for column in ("x1", "x3", "x5", "city"):        # 8% missing in four columns
        frame.loc[rng.random(n) < 0.08, column] = np.nan
    noisy = signal + rng.normal(scale=0.7, size=n)
    if task == "classification":
        frame["target"] = np.digitize(noisy, np.quantile(noisy, [0.33, 0.67]))
    else:
        frame["target"] = noisy
    return frame, task


DATASETS = {
    "breast_cancer": _breast_cancer,
    "penguin_species": _penguin_species,
    "synthetic_clf": lambda: _synthetic("classification"),
    "seattle_weather": _seattle_weather,
    "diabetes": _diabetes,
    "cars_mpg": _cars_mpg,
    "penguin_mass": _penguin_mass,
    "synthetic_reg": lambda: _synthetic("regression", seed=1),
}


# ---- contenders ----------------------------------------------------------------------
def _columns(X):
    categorical = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    return [c for c in X.columns if c not in categorical], categorical


def _standard_pipeline(X, model, task):
    from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric, categorical = _columns(X)
    prep = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"),
                              OneHotEncoder(handle_unknown="ignore")), categorical)])
    pipe = make_pipeline(prep, model)
    if task == "regression":
        pipe = TransformedTargetRegressor(pipe, transformer=StandardScaler())
    return pipe


def _as_categories(X_train, X_test):
    """Numeric columns imputed with the training medians, the others as pandas
    categories (``missing`` a category of its own): what pytabkit and HGB read."""
    numeric, categorical = _columns(X_train)
    X_train, X_test = X_train.copy(), X_test.copy()
    medians = X_train[numeric].median()
    for frame in (X_train, X_test):
        frame[numeric] = frame[numeric].fillna(medians).astype(float)
    for c in categorical:
        levels = sorted(set(X_train[c].dropna().astype(str))) + ["missing"]
        for frame in (X_train, X_test):
            values = frame[c].astype(object).where(frame[c].notna(), "missing").astype(str)
            frame[c] = pd.Categorical(values.where(values.isin(levels), "missing"),
                                      categories=levels)
    return X_train, X_test


def fit_predict(model, X_train, y_train, X_test, task, seed):
    """The test predictions of contender ``model``."""
    clf = task == "classification"
    if model in ("realmlp", "tabm"):
        import pytabkit

        name = {"realmlp": "RealMLP_TD", "tabm": "TabM_D"}[model]
        cls = getattr(pytabkit, f"{name}_{'Classifier' if clf else 'Regressor'}")
        X_train, X_test = _as_categories(X_train, X_test)
        est = cls(device="cpu", random_state=seed, n_threads=1, verbosity=0)
        return est.fit(X_train, y_train).predict(X_test)
    if model == "hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier as HGBC
        from sklearn.ensemble import HistGradientBoostingRegressor as HGBR

        X_train, X_test = _as_categories(X_train, X_test)
        est = (HGBC if clf else HGBR)(categorical_features="from_dtype", random_state=seed)
        return est.fit(X_train, y_train).predict(X_test)
    if model in ("sk_mlp", "sktune_default"):
        if model == "sk_mlp":
            from sklearn import neural_network as family
        else:
            import sktune as family
        net = getattr(family, "MLPClassifier" if clf else "MLPRegressor")(random_state=seed)
        est = _standard_pipeline(X_train, net, task)
        return est.fit(X_train, y_train).predict(X_test)
    if model in ("sktune_search", "sktune_search_folds", "sktune_search8"):
        more = {"sktune_search_folds": ["--average-folds"],
                "sktune_search8": ["--n-iter", "8"]}.get(model, [])
        return _cli_search(X_train, y_train, X_test, task, seed, more)
    if model == "sktune_search_api":
        return _api_search(X_train, y_train, X_test, task, seed)
    if model in ("sktune_recipe", "sktune_recipe_plain"):
        return _cli_recipe(X_train, y_train, X_test, task, seed,
                           plain=model == "sktune_recipe_plain")
    raise ValueError(f"unknown model {model!r}; known: {MODELS}")


def _cli_search(X_train, y_train, X_test, task, seed, more=()):
    """The command line's default search on these training rows (its own preprocessing,
    search space, refit), through its functions: what ``python -m sktune --csv`` fits."""
    from sktune import _cli

    args, data = _cli_data(X_train, y_train, task, seed, more)
    _, best, _, _ = _cli.run_search(args, data, data.X, data.y)
    return best.predict(X_test)


def _api_search(X_train, y_train, X_test, task, seed):
    """``search_space(recipe="tabular")`` and a fused RandomizedSearchCV around the
    recipe in the standard pipeline: the search a library user writes."""
    import sktune
    from sktune.model_selection import RandomizedSearchCV

    model = _standard_pipeline(X_train, sktune.tabular_mlp(task, random_state=seed), task)
    space = sktune.search_space(model, X_train, cv=3, recipe="tabular", n_iter=6)
    search = RandomizedSearchCV(model, space, n_iter=6, cv=3, random_state=seed,
                                refit_ensemble=3)
    return search.fit(X_train, y_train).predict(X_test)


def _cli_recipe(X_train, y_train, X_test, task, seed, plain):
    """One fit of the tabular recipe in the command line's preprocessing (and target
    scaling), without a search; ``plain``: without the numeric embedding."""
    import sktune
    from sktune import _cli

    _, data = _cli_data(X_train, y_train, task, seed)
    params = {"numeric_embedding": None} if plain else {}
    model = _cli.full_model(data, sktune.tabular_mlp(task, random_state=seed, **params))
    return model.fit(data.X, data.y).predict(X_test)


def _cli_data(X_train, y_train, task, seed, more=()):
    """The command line's reading of these training rows (its ``Data``)."""
    from sktune import _cli

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "train.csv"
        X_train.assign(target=y_train).to_csv(path, index=False)
        args = _cli.parse_args(["--csv", str(path), "--target", "target", "--task", task,
                                "--random-state", str(seed), *more])
        return args, _cli.load_data(args)


def score(task, y_true, y_pred):
    from sklearn.metrics import accuracy_score, r2_score

    if task == "classification":
        return float(accuracy_score(np.asarray(y_true).astype(str),
                                    np.asarray(y_pred).astype(str)))
    return float(r2_score(y_true, y_pred))


def run_one(model, dataset, seed):
    from sklearn.model_selection import train_test_split

    frame, task = DATASETS[dataset]()
    y = frame.pop("target")
    stratify = y if task == "classification" else None
    X_train, X_test, y_train, y_test = train_test_split(
        frame, y, test_size=TEST_SIZE, stratify=stratify, random_state=seed)
    X_train, X_test = X_train.reset_index(drop=True), X_test.reset_index(drop=True)
    y_train, y_test = y_train.reset_index(drop=True), y_test.reset_index(drop=True)
    start = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y_pred = fit_predict(model, X_train, y_train, X_test, task, seed)
    cpu = time.process_time() - start
    return {"score": score(task, y_test, y_pred), "cpu": cpu, "task": task}


# ---- report --------------------------------------------------------------------------
def report(results, models):
    datasets = [d for d in DATASETS if all(f"{m}|{d}|{s}" in results for m in models
                                           for s in SEEDS)]
    if not datasets:
        print("no dataset has every contender's results yet")
        return
    means = {(m, d): np.mean([results[f"{m}|{d}|{s}"]["score"] for s in SEEDS])
             for m in models for d in datasets}
    width = max(map(len, models)) + 2
    print(f"{'dataset':17s}" + "".join(f"{m:>{width + 8}s}" for m in models))
    ranks = {m: [] for m in models}
    for d in datasets:
        scores = [[results[f"{m}|{d}|{s}"]["score"] for s in SEEDS] for m in models]
        order = pd.Series([means[(m, d)] for m in models]).rank(ascending=False)
        for m, r in zip(models, order):
            ranks[m].append(r)
        print(f"{d:17s}" + "".join(f"{np.mean(s):>{width + 2}.3f} ± {np.std(s):.3f}"
                                   for s in scores))
    print(f"{'average rank':17s}" + "".join(f"{np.mean(ranks[m]):>{width + 8}.2f}"
                                           for m in models))
    cpu = {m: np.mean([results[f"{m}|{d}|{s}"]["cpu"] for d in datasets for s in SEEDS])
           for m in models}
    print(f"{'CPU s / dataset':17s}" + "".join(f"{cpu[m]:>{width + 8}.1f}" for m in models))
    for task in ("classification", "regression"):
        ds = [d for d in datasets if results[f"{models[0]}|{d}|0"]["task"] == task]
        if ds:
            print(f"mean {'accuracy' if task == 'classification' else 'R2'} over {len(ds)} "
                  f"{task} sets: " + ", ".join(
                      f"{m} {np.mean([means[(m, d)] for d in ds]):.3f}" for m in models))
    print(f"({len(datasets)} datasets, seeds {list(SEEDS)}, {TEST_SIZE:.0%} test split)")


def _load(path):
    """Cached results: ``path`` and its siblings ``bench_tabular_results*.json`` (one
    file per process that ran contenders)."""
    results = {}
    for file in sorted(path.parent.glob("bench_tabular_results*.json")) + [path]:
        if file.exists():
            results.update(json.loads(file.read_text()))
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--results", type=Path,
                        default=Path(__file__).with_name("bench_tabular_results.json"))
    parser.add_argument("--refresh", action="store_true",
                        help="refit the chosen models even where results are cached")
    parser.add_argument("--report", action="store_true", help="only print the tables")
    args = parser.parse_args(argv)
    models = [m for m in args.models.split(",") if m]
    results = _load(args.results)
    if not args.report:
        import torch

        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
        for dataset in args.datasets.split(","):
            for seed in SEEDS:
                for model in models:
                    key = f"{model}|{dataset}|{seed}"
                    if key in results and not args.refresh:
                        continue
                    results[key] = run_one(model, dataset, seed)
                    print(f"{key}: {results[key]['score']:.4f} "
                          f"({results[key]['cpu']:.1f} s CPU)", flush=True)
                    own = json.loads(args.results.read_text()) if args.results.exists() \
                        else {}
                    own[key] = results[key]
                    args.results.write_text(json.dumps(own, indent=1, sort_keys=True))
        results = _load(args.results)
    report(results, [m for m in MODELS if m in models] if args.report else models)
    return 0


if __name__ == "__main__":
    sys.exit(main())
