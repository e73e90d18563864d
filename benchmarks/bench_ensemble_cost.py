"""What averaging K copies of a signal CNN costs, measured in one run: one network,
``CNNClassifier(n_ensemble=K)`` (copies in one module, the default on small signal
sets), ``SeedEnsembleClassifier(CNNClassifier(n_ensemble=1), n_estimators=K)`` (copies
fused as one stacked network by the engine) and K separate fits, alternating, medians.

Data: synthetic signals of the given sizes (nothing is downloaded). Epochs are fixed
(``--max-iter``, no early stop reached at these sizes), so the ratios are per epoch.

Usage::

    python benchmarks/bench_ensemble_cost.py                      # 40 x 100 and 36 x 251
    python benchmarks/bench_ensemble_cost.py --sizes 40x100 --k 3 5 --repeats 3
"""

import argparse
import time
import warnings

import numpy as np


def data(n, length, seed=0):
    rng = np.random.RandomState(seed)
    y = np.arange(n) % 3
    X = rng.randn(n, 1, length).astype(np.float32)
    for i, label in enumerate(y):
        at = rng.randint(0, length - 20)
        X[i, 0, at:at + 20] += (label - 1) * 2.0
    return X, y


def timed(make, X, y):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        make().fit(X, y)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["40x100", "36x251"])
    parser.add_argument("--k", nargs="+", type=int, default=[3, 5])
    parser.add_argument("--max-iter", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    import torch

    from sktune import CNNClassifier, SeedEnsembleClassifier

    torch.set_num_threads(args.threads)
    one = dict(max_iter=args.max_iter, n_iter_no_change=args.max_iter, random_state=0)
    print(f"{'size':>8s} {'K':>2s} {'one s':>7s} {'n_ensemble=K':>13s} {'seed ens.':>10s} "
          f"{'K separate':>11s}   ratios to one fit", flush=True)
    for size in args.sizes:
        n, length = (int(v) for v in size.split("x"))
        X, y = data(n, length)
        for k in args.k:
            contenders = {
                "one": lambda: CNNClassifier(n_ensemble=1, **one),
                "members": lambda k=k: CNNClassifier(n_ensemble=k, **one),
                "seed": lambda k=k: SeedEnsembleClassifier(
                    CNNClassifier(n_ensemble=1, **one), n_estimators=k, random_state=0),
            }
            times = {name: [] for name in (*contenders, "separate")}
            for _ in range(args.repeats):
                for name, make in contenders.items():
                    times[name].append(timed(make, X, y))
                times["separate"].append(sum(
                    timed(lambda s=s: CNNClassifier(n_ensemble=1, **{**one, "random_state": s}),
                          X, y) for s in range(k)))
            med = {name: float(np.median(v)) for name, v in times.items()}
            print(f"{size:>8s} {k:2d} {med['one']:7.1f} {med['members']:13.1f} "
                  f"{med['seed']:10.1f} {med['separate']:11.1f}   "
                  f"{med['members'] / med['one']:.2f} / {med['seed'] / med['one']:.2f} / "
                  f"{med['separate'] / med['one']:.2f}", flush=True)


if __name__ == "__main__":
    main()
