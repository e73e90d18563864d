"""Few-shot transfer: ``FineTuneClassifier`` with its defaults against training from scratch.

Protocol (issue #11): a ``CNNClassifier`` with default parameters is trained on the
source classes of scikit-learn's digits; then, for k images per target class (k shots,
drawn with a seed), ``FineTuneClassifier(source)`` with default parameters and a
default ``CNNClassifier`` trained from scratch on the same images are scored on every
other target image. Two class splits: digits 0-4 -> 5-9 (the issue's) and 5-9 -> 0-4
(the reverse, never used to choose a default).

Usage::

    python benchmarks/bench_transfer.py                      # both pairs, 2/8/32 shots, 5 seeds
    python benchmarks/bench_transfer.py --pairs 0-4:5-9 --shots 2 8 --seeds 0 1 2

Prints one line per (pair, shots, seed) and, per pair, the mean and the worst gain in
accuracy points.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits


def classes(spec):
    lo, hi = (int(v) for v in spec.split("-"))
    return np.arange(lo, hi + 1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", nargs="+", default=["0-4:5-9", "5-9:0-4"])
    parser.add_argument("--shots", nargs="+", type=int, default=[2, 8, 32])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # ConvergenceWarning of the 200-epoch cap
    from sktune import CNNClassifier, FineTuneClassifier

    X, y = load_digits(return_X_y=True)
    print(f"{'pair':9s} {'shots':>5s} {'seed':>4s} {'scratch':>8s} {'finetune':>8s} "
          f"{'gain':>6s} {'s scratch':>9s} {'s tune':>7s}", flush=True)
    for pair in args.pairs:
        source_classes, target_classes = (classes(part) for part in pair.split(":"))
        source_rows = np.isin(y, source_classes)
        source = CNNClassifier(input_shape=(8, 8), random_state=0).fit(
            X[source_rows], y[source_rows])
        Xt, yt = X[np.isin(y, target_classes)], y[np.isin(y, target_classes)]
        gains = []
        for shots in args.shots:
            for seed in args.seeds:
                rng = np.random.RandomState(seed)
                few = np.concatenate([rng.choice(np.flatnonzero(yt == c), shots, replace=False)
                                      for c in target_classes])
                rest = np.setdiff1d(np.arange(len(yt)), few)
                start = time.perf_counter()
                scratch = CNNClassifier(input_shape=(8, 8), random_state=seed).fit(
                    Xt[few], yt[few]).score(Xt[rest], yt[rest])
                middle = time.perf_counter()
                tuned = FineTuneClassifier(source, random_state=seed).fit(
                    Xt[few], yt[few]).score(Xt[rest], yt[rest])
                end = time.perf_counter()
                gains.append(100 * (tuned - scratch))
                print(f"{pair:9s} {shots:5d} {seed:4d} {scratch:8.3f} {tuned:8.3f} "
                      f"{gains[-1]:+6.1f} {middle - start:9.1f} {end - middle:7.1f}", flush=True)
        print(f"{pair}: mean gain {np.mean(gains):+.2f} points, worst {np.min(gains):+.1f} "
              f"over {len(gains)} shot/seed cases", flush=True)


if __name__ == "__main__":
    main()
