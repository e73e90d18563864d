"""sktune's defaults on UCR/UEA time-series classification, next to the published FCN and
ResNet accuracies of Fawaz et al. (2019).

Datasets: the ones the aeon wheel bundles (aeon/datasets/data) that the review reports.
The wheel is fetched once with ``pip download aeon --no-deps`` into a cache folder (the
script does it if the folder has no wheel); tests never download anything.

Published figures (mean accuracy in %, over the review's runs): H. Ismail Fawaz, G.
Forestier, J. Weber, L. Idoumghar, P.-A. Muller, "Deep learning for time series
classification: a review", Data Mining and Knowledge Discovery 33, 2019 — the results
files of github.com/hfawaz/dl-4-tsc: results/results-uea-avg-std.csv (UCR/UEA 2015
archive, univariate) and results/results-mts-avg-std.csv (Baydogan's multivariate
archive, JapaneseVowels). FCN and ResNet are those of Wang, Yan and Oates (2017).

Usage::

    python benchmarks/bench_ucr.py                       # every dataset, seeds 0 1 2
    python benchmarks/bench_ucr.py --datasets ArrowHead GunPoint --seeds 0
    python benchmarks/bench_ucr.py --cache /tmp/aeon_cache --models cnn rnn

Each line prints the test accuracy of ``CNNClassifier()`` (and ``RNNClassifier()`` with
``--models cnn rnn``) with default parameters (only ``random_state`` set), the training
time, the published figures and the accuracy of always predicting the training split's
majority class; the last lines give the mean gap to FCN, and RNN against CNN.

X is given as aeon holds it (``(n, T)``, ``(n, C, T)``, or a list of ``(C, T_i)`` for
unequal lengths): the estimators' one input rule (docs/cnn_rnn.md) reads it with no
layout parameter.

These five sets are the ones sktune's defaults were tuned on. The other sets the aeon
and sktime wheels bundle are held out (issue #20): do not add them here.
"""

import argparse
import glob
import os
import subprocess
import sys
import time
import warnings
import zipfile

import numpy as np

#: (FCN, ResNet) mean test accuracy in %, Fawaz et al. 2019 (see the module docstring)
PUBLISHED = {
    "ArrowHead": (84.3, 84.5),
    "GunPoint": (100.0, 99.1),       # "Gun_Point" in the 2015 archive
    "ItalyPowerDemand": (96.1, 96.3),
    "OSULeaf": (97.7, 97.9),
    "JapaneseVowels": (99.3, 99.2),  # multivariate, 12 channels, 7 to 29 steps (ragged)
}


def wheel_path(cache):
    found = sorted(glob.glob(os.path.join(cache, "aeon-*.whl")))
    if not found:
        os.makedirs(cache, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "aeon", "--no-deps", "-q",
                        "-d", cache], check=True)
        found = sorted(glob.glob(os.path.join(cache, "aeon-*.whl")))
    return found[-1]


def parse_ts(text):
    """A .ts file -> (list of (C, T_i) arrays, labels), aeon's layout; handles ragged
    multivariate data."""
    X, y, data = [], [], False
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not data:
            data = line.lower().startswith("@data")
            continue
        *dims, label = line.split(":")
        channels = [np.array([float(v) for v in d.split(",")]) for d in dims]
        X.append(np.stack(channels, axis=0))
        y.append(label)
    return X, np.array(y)


def load(name, cache):
    with zipfile.ZipFile(wheel_path(cache)) as wheel:
        parts = [parse_ts(wheel.read(f"aeon/datasets/data/{name}/{name}_{split}.ts").decode())
                 for split in ("TRAIN", "TEST")]
    (X_train, y_train), (X_test, y_test) = parts
    lengths = {x.shape[1] for x in X_train + X_test}
    if len(lengths) == 1:  # equal lengths: (n, C, T) arrays
        X_train, X_test = np.stack(X_train), np.stack(X_test)
        if X_train.shape[1] == 1:
            X_train, X_test = X_train[:, 0], X_test[:, 0]  # univariate: (n, T)
    return X_train, y_train, X_test, y_test


def majority(y_train, y_test):
    """Accuracy (%) of always predicting the training split's most frequent class."""
    labels, counts = np.unique(y_train, return_counts=True)
    return 100 * float(np.mean(y_test == labels[np.argmax(counts)]))


def run(model, X_train, y_train, X_test, y_test, seed, params=None, ensemble=1):
    from sktune import CNNClassifier, RNNClassifier, SeedEnsembleClassifier

    est = {"cnn": CNNClassifier, "rnn": RNNClassifier}[model](random_state=seed,
                                                               **(params or {}))
    if ensemble > 1:  # members' seeds drawn from this seed; the estimator's is replaced
        est = SeedEnsembleClassifier(est, n_estimators=ensemble, random_state=seed)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X_train, y_train)
    if ensemble > 1:
        members = [100 * m.score(X_test, y_test) for m in est.estimators_]
        print(f"    members: {' / '.join(f'{a:.1f}' for a in members)} "
              f"(mean {np.mean(members):.1f})", flush=True)
        epochs = max(m.n_iter_ for m in est.estimators_)
    else:
        epochs = est.n_iter_
    return 100 * est.score(X_test, y_test), time.perf_counter() - start, epochs


def _parse_setting(item):
    import json

    name, _, value = item.partition("=")
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(PUBLISHED))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--models", nargs="+", default=["cnn"], choices=["cnn", "rnn"])
    parser.add_argument("--cache", default=os.path.expanduser("~/.cache/sktune-ucr"))
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--set", nargs="+", default=[], metavar="NAME=VALUE",
                        help="parameters other than the defaults, e.g. downsample=3 "
                             "(values read as JSON, else as strings)")
    parser.add_argument("--ensemble", type=int, default=1, metavar="K",
                        help="score a SeedEnsembleClassifier of K such models (each line "
                             "then also prints its members' accuracies)")
    args = parser.parse_args(argv)
    params = dict(_parse_setting(item) for item in args.set)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    gaps = {m: [] for m in args.models}
    means = {m: [] for m in args.models}
    print(f"{'dataset':18s} {'model':5s} {'seed':>4s} {'acc %':>6s} {'epochs':>6s} "
          f"{'fit s':>7s}   FCN   ResNet  majority", flush=True)
    for name in args.datasets:
        X_train, y_train, X_test, y_test = load(name, args.cache)
        fcn, resnet = PUBLISHED[name]
        base = majority(y_train, y_test)
        for model in args.models:
            accs, times = [], []
            for seed in args.seeds:
                acc, secs, epochs = run(model, X_train, y_train, X_test, y_test, seed,
                                        params, args.ensemble)
                accs.append(acc)
                times.append(secs)
                print(f"{name:18s} {model:5s} {seed:4d} {acc:6.1f} {epochs:6d} {secs:7.1f} "
                      f"{fcn:6.1f} {resnet:6.1f} {base:8.1f}", flush=True)
            mean = float(np.mean(accs))
            gaps[model].append(mean - fcn)
            means[model].append(mean)
            print(f"{name:18s} {model:5s} mean {mean:6.1f} +- {np.std(accs):.1f} "
                  f"(gap to FCN {mean - fcn:+.1f}, to majority {mean - base:+.1f}; "
                  f"fit {np.mean(times):.1f} s)", flush=True)
    for model, g in gaps.items():
        print(f"{model}: mean gap to FCN over {len(g)} datasets: {np.mean(g):+.2f} points "
              f"(per dataset: {', '.join(f'{v:+.1f}' for v in g)})")
    if "cnn" in means and "rnn" in means:
        diff = np.array(means["rnn"]) - np.array(means["cnn"])
        print(f"rnn - cnn: {np.mean(diff):+.2f} points on average "
              f"(per dataset: {', '.join(f'{v:+.1f}' for v in diff)})")


if __name__ == "__main__":
    main()
