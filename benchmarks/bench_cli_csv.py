"""The command line on a messy CSV, against scikit-learn on the same rows.

The CSV is what people have: a customer id, missing ages and hours, a city (a string
with missing values), a join date, a free-text comment, an income in the tens of
thousands (the regression target) and a yes/no label (the classification target).
For each seed a table is drawn, ``python -m sktune --csv ... --target ...`` runs with
its defaults, and its held-out test score is printed next to scikit-learn models
(RidgeCV / LogisticRegressionCV and HistGradientBoosting) trained on the same training
rows with the same preprocessing (sktune's ColumnTransformer), scored on the same test
rows. Run: python benchmarks/bench_cli_csv.py [--seeds 0 1 2] [--quick]
"""

import argparse
import contextlib
import io
import re
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.linear_model import LogisticRegressionCV, RidgeCV
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from sktune._cli import TEST_SIZE, run  # noqa: E402
from sktune._tabular import make_preprocessor, plan_columns  # noqa: E402


def messy_frame(n=300, seed=0):
    rng = np.random.RandomState(seed)
    city = rng.choice(["Paris", "Lyon", "Nantes", "Lille"], n)
    age = rng.randint(18, 70, n).astype(float)
    hours = rng.uniform(10, 60, n)
    bonus = {"Paris": 9000, "Lyon": 3000, "Nantes": 0, "Lille": -2000}
    income = (20000 + 600 * (age - 18) + 350 * hours + np.vectorize(bonus.get)(city)
              + rng.normal(0, 2000, n))
    frame = pd.DataFrame({
        "customer_id": np.arange(1000, 1000 + n), "age": age, "hours": hours.round(1),
        "city": city,
        "joined": (pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.randint(0, 3000, n),
                                                                unit="D")).strftime("%Y-%m-%d"),
        "comment": [" ".join(rng.choice(["great", "service", "slow", "delivery", "would", "buy",
                                         "again", "not", "happy", "with", "the"], 8))
                    for _ in range(n)],
        "income": income.round(0)})
    frame["churned"] = np.where(income + rng.normal(0, 4000, n) > np.median(income), "no", "yes")
    for column, share in (("age", 0.1), ("city", 0.05), ("hours", 0.05)):
        frame.loc[rng.rand(n) < share, column] = np.nan
    return frame


def references(frame, target, task):
    X, y = frame.drop(columns=target), frame[target]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=TEST_SIZE, stratify=y if task == "classification" else None,
        random_state=0)  # the CLI's split (its --random-state 0)
    models = ({"RidgeCV": RidgeCV(), "HistGradientBoosting": HistGradientBoostingRegressor(
        random_state=0)} if task == "regression" else
        {"LogisticRegressionCV": LogisticRegressionCV(max_iter=2000),
         "HistGradientBoosting": HistGradientBoostingClassifier(random_state=0)})
    return {name: make_pipeline(make_preprocessor(plan_columns(X)), model)
            .fit(X_train, y_train).score(X_test, y_test) for name, model in models.items()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(f"{'seed':<5} {'target':<8} {'sktune CLI':>10}   references (same split)")
    for seed in args.seeds:
        frame = messy_frame(seed=seed)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "customers.csv"
            frame.to_csv(path, index=False)
            for target, task in (("income", "regression"), ("churned", "classification")):
                out = io.StringIO()
                with contextlib.redirect_stdout(out):
                    run(["--csv", str(path), "--target", target] +
                        (["--quick"] if args.quick else []))
                score = float(re.search(r"test score: (\S+)", out.getvalue()).group(1))
                refs = references(frame, target, task)
                print(f"{seed:<5} {target:<8} {score:>10.3f}   " +
                      "  ".join(f"{k} {v:.3f}" for k, v in refs.items()), flush=True)


if __name__ == "__main__":
    main()
