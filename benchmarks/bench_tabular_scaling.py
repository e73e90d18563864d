"""How the numeric columns are scaled, on bench_tabular.py's eight tables (issue #23).

sktune's MLP with its (scikit-learn) defaults in bench_tabular.py's standard pipeline
(median imputation, one-hot categories, a standardised regression target), with the
numeric columns scaled five ways: StandardScaler; the CLI's RobustScaler(unit_variance)
+ smooth clip at 3 (``sktune._tabular.robust_scaling``); RealMLP's IQR scaling + the same
clip; RobustScaler without a clip; StandardScaler + the clip. Three seeds of the 75/25
split; prints each table's mean score (accuracy or R²) per scaling and the mean over the
tables. No pydataset table (issue #23's acceptance test) is read.

Run: OMP_NUM_THREADS=1 python benchmarks/bench_tabular_scaling.py [--seeds 0 1 2]
"""

import argparse
import warnings

import bench_tabular as bt
import numpy as np


def _clip():
    from sklearn.preprocessing import FunctionTransformer

    from sktune._tabular import smooth_clip

    return FunctionTransformer(smooth_clip)


def _scalings():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import RobustScaler, StandardScaler

    from sktune._tabular import robust_scaling

    return {
        "standard": lambda: StandardScaler(),
        "robust_clip": robust_scaling,  # the CLI's own numeric step
        "iqr_clip": lambda: make_pipeline(RobustScaler(), _clip()),
        "robust": lambda: RobustScaler(unit_variance=True),
        "standard_clip": lambda: make_pipeline(StandardScaler(), _clip()),
    }


def run(dataset, seed, scaling):
    from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    import sktune

    frame, task = bt.DATASETS[dataset]()
    y = frame.pop("target")
    X_train, X_test, y_train, y_test = train_test_split(
        frame, y, test_size=bt.TEST_SIZE, random_state=seed,
        stratify=y if task == "classification" else None)
    numeric, categorical = bt._columns(X_train)
    prep = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), scaling()), numeric),
        ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"),
                              OneHotEncoder(handle_unknown="ignore")), categorical)])
    net = (sktune.MLPClassifier if task == "classification" else sktune.MLPRegressor)(
        random_state=seed)
    model = make_pipeline(prep, net)
    if task == "regression":
        model = TransformedTargetRegressor(model, transformer=StandardScaler())
    return bt.score(task, y_test, model.fit(X_train, y_train).predict(X_test))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    scalings = _scalings()
    means = {name: [] for name in scalings}
    print(f"{'dataset':18s}" + "".join(f"{name:>15s}" for name in scalings))
    for dataset in bt.DATASETS:
        row = {name: np.mean([run(dataset, seed, make) for seed in args.seeds])
               for name, make in scalings.items()}
        for name, value in row.items():
            means[name].append(value)
        print(f"{dataset:18s}" + "".join(f"{row[name]:15.3f}" for name in scalings),
              flush=True)
    print(f"{'mean':18s}" + "".join(f"{np.mean(means[n]):15.3f}" for n in scalings))


if __name__ == "__main__":
    main()
