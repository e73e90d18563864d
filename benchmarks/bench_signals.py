"""Sequence defaults on synthetic signals (issue #20): units, memory of early events,
padding, and regression targets in large units — for CNNs and RNNs at their defaults.

Every task is generated here (nothing is downloaded); the held-out archive sets of
issue #20 are never used. Each line gives the test score of one seed and the fit time;
each task ends with the mean over seeds and, for classification, the accuracy of
always predicting the majority class.

Tasks:

- ``scale``: which of two 12-step shapes sits in a 40-step series, each series with its
  own offset and amplitude; X in its units and multiplied by 1e4 (shifted by 3e5).
  Compared with ``normalize=None`` (the previous behaviour).
- ``pulse``: the label is the sign of a pulse in the first 50 of 512 noisy steps (the
  issue's task); ``late``: the same pulse in the last 50 steps (the control).
- ``tail``: a 40-step shape followed by 200 steps of noise (noise-padded recordings).
- ``long``: the issue's cost case, 100 training series of 1,460 steps (a random walk)
  holding one of three 48-step shapes somewhere; ``long_fine``: the same with 12-step
  shapes (detail finer than the window the default averages, 3 steps). Each with the
  default ``downsample="auto"`` (window means of 3 steps: 487 steps) and with
  ``downsample=1`` (every step): accuracy and fit time.
- ``padding``: the largest change of a predicted probability when a short series is
  predicted alone or beside a series 300 steps longer (must be ~0).
- ``regression``: a target around 5e4 (spread 1e4) that follows the level of channel 0
  of two-channel series in raw units around 2000: RMSE of the model and of the
  training mean; for the RNN also with ``frontend="conv"`` (the classifier's default).

Usage::

    python benchmarks/bench_signals.py                        # every task, seeds 0 1 2
    python benchmarks/bench_signals.py --tasks pulse --models rnn --seeds 0
    python benchmarks/bench_signals.py --n-train 100          # smaller, quicker
"""

import argparse
import time
import warnings

import numpy as np


def shapes(n, seed, length=40, tail=0):
    rng = np.random.RandomState(seed)
    t = np.linspace(0, 1, 12)
    patterns = [np.sin(2 * np.pi * t), np.where(t < 0.5, 1.0, -1.0)]
    y = rng.randint(2, size=n)
    X = 0.2 * rng.randn(n, length + tail)
    for i, c in enumerate(y):
        start = rng.randint(0, length - 12)
        X[i, start:start + 12] += patterns[c]
    X = X * rng.uniform(0.5, 3, size=(n, 1)) + rng.uniform(-5, 5, size=(n, 1))
    return X, y


def long_shapes(n, seed, width, length=1460):
    """One of three shapes (sine, square, triangle) of ``width`` steps somewhere in a
    random walk of ``length`` steps."""
    rng = np.random.RandomState(seed)
    t = np.linspace(0, 1, width)
    patterns = [np.sin(2 * np.pi * t), np.where(t < 0.5, 1.0, -1.0), 1 - 2 * np.abs(2 * t - 1)]
    y = rng.randint(3, size=n)
    X = np.cumsum(0.05 * rng.randn(n, length), axis=1) + 0.2 * rng.randn(n, length)
    for i, c in enumerate(y):
        start = rng.randint(0, length - width)
        X[i, start:start + width] += 2 * patterns[c]
    return X, y


def pulse(n, seed, length=512, first=50, late=False):
    rng = np.random.RandomState(seed)
    y = rng.randint(2, size=n)
    t = np.arange(length)
    X = rng.randn(n, length)
    for i, c in enumerate(y):
        centre = rng.randint(3, first - 3)
        centre = length - 1 - centre if late else centre
        X[i] += (2 * c - 1) * 3 * np.exp(-0.5 * ((t - centre) / 2) ** 2)
    return X, y


def level(n, seed):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 2, 24) * 300 + 2000
    y = 5e4 + 1e4 * np.tanh((X[:, 0].mean(axis=1) - 2000) / 60)
    return X, y


def estimator(model, task, seed, **params):
    from sktune import CNNClassifier, CNNRegressor, RNNClassifier, RNNRegressor

    kinds = {("cnn", False): CNNClassifier, ("rnn", False): RNNClassifier,
             ("cnn", True): CNNRegressor, ("rnn", True): RNNRegressor}
    return kinds[model, task == "regression"](random_state=seed, **params)


def fit(est, X, y):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    return time.perf_counter() - start


def majority(y_train, y_test):
    labels, counts = np.unique(y_train, return_counts=True)
    return float(np.mean(y_test == labels[np.argmax(counts)]))


def classification(task, model, seed, n_train, variant):
    makers = {"scale": lambda n, s: shapes(n, s), "pulse": lambda n, s: pulse(n, s),
              "late": lambda n, s: pulse(n, s, late=True),
              "tail": lambda n, s: shapes(n, s, tail=200),
              "long": lambda n, s: long_shapes(n, s, 48),
              "long_fine": lambda n, s: long_shapes(n, s, 12)}
    if task.startswith("long"):
        n_train = 100  # the 100 series x 1,460 steps
    X, y = makers[task](n_train, 100 + seed)
    X_test, y_test = makers[task](500, 200 + seed)
    if "x1e4" in variant:  # other units: x 1e4, shifted by 3e5
        X, X_test = X * 1e4 + 3e5, X_test * 1e4 + 3e5
    params = {"normalize": None} if "normalize=None" in variant else {}
    if "downsample=1" in variant:
        params["downsample"] = 1
    if MAX_ITER is not None:
        params["max_iter"] = MAX_ITER
    est = estimator(model, task, seed, **params)
    secs = fit(est, X, y)
    return est.score(X_test, y_test), secs, est.n_iter_, majority(y, y_test)


def padding(model, seed, n_train):
    rng = np.random.RandomState(seed)
    X = [rng.randn(3, rng.randint(20, 60)) for _ in range(n_train)]
    y = np.array([int(x[0, :5].sum() > 0) for x in X])
    est = estimator(model, "padding", seed, max_iter=5)
    secs = fit(est, X, y)
    short = X[int(np.argmin([x.shape[1] for x in X]))]
    alone = est.predict_proba([short])
    beside = est.predict_proba([short, rng.randn(3, short.shape[1] + 300)])
    return float(np.abs(beside[:1] - alone).max()), secs, est.n_iter_


def regression(model, seed, n_train, variant="default"):
    X, y = level(n_train, 100 + seed)
    X_test, y_test = level(500, 200 + seed)
    params = {"frontend": "conv"} if variant == "frontend=conv" else {}
    est = estimator(model, "regression", seed, **params)
    secs = fit(est, X, y)
    rmse = float(np.sqrt(np.mean((est.predict(X_test) - y_test) ** 2)))
    mean = float(np.sqrt(np.mean((y.mean() - y_test) ** 2)))
    return rmse, secs, est.n_iter_, mean


#: --max-iter: a fixed number of epochs for every classification fit (cost per epoch)
MAX_ITER = None
VARIANTS = {"scale": ["default", "x1e4", "normalize=None", "normalize=None x1e4"],
            "long": ["default", "downsample=1"], "long_fine": ["default", "downsample=1"],
            # the RNN regressor's default front-end ("strided") against the classifier's
            "regression": ["default", "frontend=conv"]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+",
                        default=["scale", "pulse", "late", "tail", "padding", "regression"])
    parser.add_argument("--models", nargs="+", default=["cnn", "rnn"], choices=["cnn", "rnn"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--n-train", type=int, default=200)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--variants", nargs="+", default=None,
                        help="only these variants of each task (e.g. default)")
    parser.add_argument("--max-iter", type=int, default=None,
                        help="train the classification tasks this many epochs (to time an "
                             "epoch of the long tasks; the scores are then not the defaults')")
    args = parser.parse_args(argv)
    global MAX_ITER
    MAX_ITER = args.max_iter
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    print(f"{'task':10s} {'variant':22s} {'model':5s} {'seed':>4s} {'score':>9s} "
          f"{'epochs':>6s} {'fit s':>7s}  baseline", flush=True)
    for task in args.tasks:
        for variant in VARIANTS.get(task, ["default"]):
            if args.variants and variant not in args.variants:
                continue
            for model in args.models:
                if task == "regression" and variant != "default" and model != "rnn":
                    continue  # the front-end is the RNN's
                scores, times, bases = [], [], []
                for seed in args.seeds:
                    if task == "padding":
                        score, secs, epochs = padding(model, seed, args.n_train)
                        base = 0.0
                    elif task == "regression":
                        score, secs, epochs, base = regression(model, seed, args.n_train,
                                                               variant)
                    else:
                        score, secs, epochs, base = classification(
                            task, model, seed, args.n_train, variant)
                    scores.append(score)
                    times.append(secs)
                    bases.append(base)
                    print(f"{task:10s} {variant:22s} {model:5s} {seed:4d} {score:9.4g} "
                          f"{epochs:6d} {secs:7.1f}  {base:.4g}", flush=True)
                what = {"padding": "max |change of probability|",
                        "regression": "RMSE (baseline: the training mean's)"}.get(
                            task, "accuracy (baseline: majority class)")
                print(f"{task:10s} {variant:22s} {model:5s} mean {np.mean(scores):9.4g} "
                      f"+- {np.std(scores):.3g}  fit {np.mean(times):.1f} s  baseline "
                      f"{np.mean(bases):.4g}   [{what}]", flush=True)


if __name__ == "__main__":
    main()
