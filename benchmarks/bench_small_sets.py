"""How many averaged copies a CNN needs on a small training set, chosen by
cross-validation inside the training split (issue #20: "robust training on small sets
... chosen by cross-validation on the training split").

For each dataset's *training* split only (the test split is never read), stratified
k-fold: on every fold one fused ``SeedEnsembleClassifier(CNNClassifier(), n_estimators=5)``
is fitted on the fold's training part; its five members give five single-model scores
(K=1), every 3 of them averaged give K=3 (ten subsets), all five give K=5. The figures are
validation accuracies of those averages: per fold the mean and the worst draw (how far
an unlucky seed falls), overall the mean and the mean of each fold's worst draw, and
the fused fit's time.

Datasets: the small sets among the five sktune's defaults were tuned on (the other sets
the aeon and sktime wheels bundle are held out: do not add them), and synthetic series
(``--synthetic``: 40 series of 150 steps, three shapes at random places under noise).

Usage::

    python benchmarks/bench_small_sets.py --cache /tmp/aeon_cache --datasets ArrowHead
    python benchmarks/bench_small_sets.py --synthetic --seeds 0 1

The aeon wheel is fetched as in ``bench_ucr.py`` (a benchmark script may download; tests
never do).
"""

import argparse
import itertools
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def synthetic(seed, n=40, length=150):
    """Three classes: a bump, a dip or a step at a random place, under noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    t = np.arange(length)
    X = rng.normal(0, 0.6, (n, 1, length))
    for i, label in enumerate(y):
        at = rng.integers(10, length - 40)
        shape = np.exp(-0.5 * ((t - at - 15) / 6.0) ** 2)
        X[i, 0] += (shape, -shape, (t > at) * 0.8)[label]
    return X.astype(np.float32), y


def fold_scores(X, y, train, valid, seed, members=5):
    """Validation accuracies of single members, averages of 3, and all ``members``."""
    from sktune import CNNClassifier, SeedEnsembleClassifier

    ens = SeedEnsembleClassifier(CNNClassifier(), n_estimators=members, random_state=seed)
    pick = (lambda rows: [X[i] for i in rows]) if isinstance(X, list) else (lambda rows: X[rows])
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ens.fit(pick(train), y[train])
    seconds = time.perf_counter() - start
    probas = [m.predict_proba(pick(valid)) for m in ens.estimators_]
    classes = ens.classes_
    truth = y[valid]

    def accuracy(subset):
        return float(np.mean(classes[np.mean([probas[i] for i in subset], 0).argmax(1)]
                             == truth))

    return {k: [accuracy(s) for s in itertools.combinations(range(members), k)]
            for k in (1, 3, members)}, seconds


def main(argv=None):
    from sklearn.model_selection import StratifiedKFold

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="*", default=["ArrowHead", "GunPoint",
                                                          "ItalyPowerDemand"])
    parser.add_argument("--synthetic", action="store_true")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--cache", default=os.path.expanduser("~/.cache/sktune-ucr"))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    sets = [(name, None) for name in args.datasets]
    if args.synthetic:
        sets = [("synthetic", None)]
    print(f"{'dataset':18s} {'seed':>4s} {'fold':>4s}  K=1 mean/worst   K=3 mean/worst   "
          f"K=5   fit s (5 copies)", flush=True)
    for name, _ in sets:
        totals = {1: [], 3: [], 5: []}
        worst = {1: [], 3: [], 5: []}  # each fold's worst draw: the seed-dependent collapse
        for seed in args.seeds:
            if name == "synthetic":
                X, y = synthetic(seed)
            else:
                from bench_ucr import load

                X, y = load(name, args.cache)[:2]  # the training split only
            y = np.asarray(y)
            folds = StratifiedKFold(args.folds, shuffle=True, random_state=seed)
            for f, (train, valid) in enumerate(folds.split(np.zeros(len(y)), y)):
                scores, seconds = fold_scores(X, y, train, valid, seed * 100 + f)
                for k, values in scores.items():
                    totals[k].extend(values)
                    worst[k].append(min(values))
                print(f"{name:18s} {seed:4d} {f:4d}  "
                      f"{100 * np.mean(scores[1]):5.1f} / {100 * np.min(scores[1]):5.1f}   "
                      f"{100 * np.mean(scores[3]):5.1f} / {100 * np.min(scores[3]):5.1f}   "
                      f"{100 * scores[5][0]:5.1f}   {seconds:6.1f}", flush=True)
        print(f"{name:18s} overall: " + ", ".join(
            f"K={k} mean {100 * np.mean(v):.1f} (sd {100 * np.std(v):.1f}, worst "
            f"{100 * np.min(v):.1f})" for k, v in totals.items()), flush=True)
        print(f"{name:18s} mean of each fold's worst draw: " + ", ".join(
            f"K={k} {100 * np.mean(v):.1f}" for k, v in worst.items()), flush=True)


if __name__ == "__main__":
    main()
