"""Few-shot transfer: ``FineTuneClassifier`` with its defaults against training from scratch.

Protocol (issue #11): a ``CNNClassifier`` with default parameters is trained on the
source classes; then, for k images per target class (k shots, drawn with a seed),
``FineTuneClassifier(source)`` with default parameters and a default ``CNNClassifier``
trained from scratch on the same images are scored on every other target image.

Data sets and class splits:

- ``digits`` (scikit-learn's 8x8 digits): 0-4 -> 5-9 (the issue's protocol, on which
  the defaults were chosen) and 5-9 -> 0-4 (held out: never used to choose anything);
- ``glyphs``: synthetic 12x12 noisy images of ten shapes (disc, ring, square, hollow
  square, plus | X, triangle, horizontal bar, vertical bar, diamond) at a random place,
  size and stroke width; 0-4 -> 5-9 (held out too).

Besides the two contenders, the column ``random`` is the fine-tuner's recipe (its
defaults: probe, shifts, schedule) applied to the source's architecture with *random*
weights: how much of the gain is the pretraining rather than the recipe. It is an
ablation, not the issue's baseline (the scratch CNN with its own defaults).

The fine-tuner's default averages its network with a clone of the source trained from
scratch (``ensemble_scratch="auto"``). ``--ablate`` adds two columns that say what that
member adds and what transfer adds beyond it: ``alone``, the fine-tuner with
``ensemble_scratch=False``, and ``2 scratch``, the average of two scratch CNNs (a second
seed in place of the fine-tuned network: an ensemble with no transfer at all).

Usage::

    python benchmarks/bench_transfer.py                         # everything, 2/8/32 shots, 5 seeds
    python benchmarks/bench_transfer.py --cases digits:0-4:5-9 --shots 2 8 --seeds 0 1 2
    python benchmarks/bench_transfer.py --cases digits:0,2,4,6,8:1,3,5,7,9 --no-random \
        --tune wise_ft=0.7                                      # a variant, another split
    python benchmarks/bench_transfer.py --no-random --model-seeds 3  # each draw, 3 fits each
    python benchmarks/bench_transfer.py --no-random --ablate    # the member's share
    python benchmarks/bench_transfer.py --family mlp --cases digits:0-4:5-9  # MLP backbone

Prints one line per (case, shots, seed) and, per case, the mean and worst gain in
accuracy points, and the mean per shot count.
"""

import argparse
import time
import warnings

import numpy as np

CASES = ["digits:0-4:5-9", "digits:5-9:0-4", "glyphs:0-4:5-9"]


def glyphs(n, seed, size=12):
    """``n`` noisy ``size`` x ``size`` images of ten glyphs at a random place, size and
    stroke width, flattened; labels 0-9."""
    rng = np.random.RandomState(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(float)
    y = rng.randint(0, 10, n)
    X = np.empty((n, size, size))
    for i, c in enumerate(y):
        cy, cx = rng.uniform(size * 0.35, size * 0.65, 2)
        r = rng.uniform(size * 0.2, size * 0.35)
        w = rng.uniform(0.6, 1.2) / r
        dy, dx = (yy - cy) / r, (xx - cx) / r
        d, box = np.hypot(dy, dx), np.maximum(np.abs(dy), np.abs(dx))
        shape = [
            d < 1,                                                          # disc
            np.abs(d - 0.8) < w,                                            # ring
            box < 1,                                                        # square
            (box < 1) & (box > 1 - w),                                      # hollow square
            ((np.abs(dy) < w) & (np.abs(dx) < 1)) | ((np.abs(dx) < w) & (np.abs(dy) < 1)),
            ((np.abs(dy - dx) < w) | (np.abs(dy + dx) < w)) & (d < 1.2),    # X
            (dy > -1) & (dy < 1) & (np.abs(dx) < (dy + 1) / 2),             # triangle
            (np.abs(dy) < w) & (np.abs(dx) < 1),                            # horizontal bar
            (np.abs(dx) < w) & (np.abs(dy) < 1),                            # vertical bar
            np.abs(dy) + np.abs(dx) < 1,                                    # diamond
        ][c]
        X[i] = shape * rng.uniform(0.7, 1.0) + 0.25 * rng.randn(size, size)
    return X.reshape(n, -1), y


def load(name):
    """``(X, y, input_shape)``."""
    if name == "digits":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        return X, y, (8, 8)
    if name == "glyphs":
        return (*glyphs(2000, 0), (12, 12))
    raise ValueError(f"unknown data set {name!r}")


def classes(spec):
    """``"0-4"`` (a range) or ``"0,2,4"`` (a list) -> class labels."""
    if "," in spec:
        return np.array([int(v) for v in spec.split(",")])
    lo, hi = (int(v) for v in spec.split("-"))
    return np.arange(lo, hi + 1)


def _value(text):
    """A ``--tune`` value: a number or a bool where it reads as one, else the string."""
    if text in ("True", "False"):
        return text == "True"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _mean_score(make, seeds, X, y, X_test, y_test):
    """Mean test accuracy of ``make(seed).fit(X, y)`` over ``seeds``."""
    return np.mean([make(s).fit(X, y).score(X_test, y_test) for s in seeds])


def _default(family, shape, seed):
    """The family's estimator with default parameters (a CNN reads rows as images)."""
    from sktune import CNNClassifier, MLPClassifier

    if family == "cnn":
        return CNNClassifier(input_shape=shape, random_state=seed)
    return MLPClassifier(random_state=seed)


def _two_scratch_score(family, shape, seeds, X, y, X_test, y_test):
    """Mean accuracy over ``seeds`` of the average of two scratch networks (seeds s and
    s + 7)."""
    scores = []
    for s in seeds:
        members = [_default(family, shape, r).fit(X, y) for r in (s, s + 7)]
        proba = np.mean([m.predict_proba(X_test) for m in members], axis=0)
        scores.append(np.mean(members[0].classes_[proba.argmax(axis=1)] == y_test))
    return np.mean(scores)


def _random_backbone(source, shape, seed, tune):
    """The fine-tuner's recipe on the source's architecture with random weights."""
    import torch

    from sktune import FineTuneClassifier
    from sktune.nn import CNNModule

    torch.manual_seed(seed)
    body = CNNModule((1, *shape), len(source.classes_), channels=source.channels_,
                     kernel_size=source.kernel_size_, pooling=source.pooling_,
                     hidden_layer_sizes=source.hidden_layer_sizes_).without_head()
    return FineTuneClassifier(body, input_shape=(1, *shape), random_state=seed, **tune)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", nargs="+", default=CASES)
    parser.add_argument("--shots", nargs="+", type=int, default=[2, 8, 32])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--tune", nargs="*", default=[], metavar="PARAM=VALUE",
                        help="non-default FineTuneClassifier parameters (a variant to compare)")
    parser.add_argument("--family", choices=["cnn", "mlp"], default="cnn",
                        help="the source and scratch networks: default CNNClassifier "
                             "(images) or MLPClassifier (flat rows)")
    parser.add_argument("--no-random", action="store_true",
                        help="skip the random-backbone ablation column (CNN only)")
    parser.add_argument("--ablate", action="store_true",
                        help="add the fine-tuner without its scratch member and an "
                             "ensemble of two scratch networks of the --family")
    parser.add_argument("--model-seeds", type=int, default=1, metavar="N",
                        help="score each contender as the mean over N model seeds (seed, "
                             "seed + 1000, ...) on the same draw of images, to tell a draw "
                             "where fine-tuning loses from one lucky or unlucky fit")
    args = parser.parse_args(argv)
    tune = {k: _value(v) for k, v in (item.split("=", 1) for item in args.tune)}
    warnings.simplefilter("ignore")  # ConvergenceWarning of the 200-epoch cap
    from sktune import FineTuneClassifier

    print(f"{'case':15s} {'shots':>5s} {'seed':>4s} {'scratch':>8s} {'finetune':>8s} "
          f"{'gain':>6s} {'random':>8s} {'s scratch':>9s} {'s tune':>7s} {'alone':>6s} "
          f"{'2 scratch':>9s}", flush=True)
    summary = []
    for case in args.cases:
        name, source_spec, target_spec = case.split(":")
        X, y, shape = load(name)
        source_classes, target_classes = classes(source_spec), classes(target_spec)
        source_rows = np.isin(y, source_classes)
        source = _default(args.family, shape, 0).fit(
            X[source_rows], y[source_rows])
        Xt, yt = X[np.isin(y, target_classes)], y[np.isin(y, target_classes)]
        gains = {}
        for shots in args.shots:
            for seed in args.seeds:
                rng = np.random.RandomState(seed)
                few = np.concatenate([rng.choice(np.flatnonzero(yt == c), shots, replace=False)
                                      for c in target_classes])
                rest = np.setdiff1d(np.arange(len(yt)), few)
                model_seeds = [seed + 1000 * k for k in range(args.model_seeds)]
                data = (Xt[few], yt[few], Xt[rest], yt[rest])
                start = time.perf_counter()
                scratch = _mean_score(lambda s: _default(args.family, shape, s), model_seeds,
                                      *data)
                middle = time.perf_counter()
                tuned = _mean_score(lambda s: FineTuneClassifier(source, random_state=s, **tune),
                                    model_seeds, *data)
                end = time.perf_counter()
                random = np.nan
                if not args.no_random and args.family == "cnn":
                    random = _mean_score(lambda s: _random_backbone(source, shape, s, tune),
                                         model_seeds, *data)
                alone = pair = np.nan
                if args.ablate:
                    alone = _mean_score(
                        lambda s: FineTuneClassifier(source, random_state=s, **{
                            **tune, "ensemble_scratch": False}), model_seeds, *data)
                    pair = _two_scratch_score(args.family, shape, model_seeds, *data)
                gains.setdefault(shots, []).append(100 * (tuned - scratch))
                print(f"{case:15s} {shots:5d} {seed:4d} {scratch:8.3f} {tuned:8.3f} "
                      f"{gains[shots][-1]:+6.1f} {random:8.3f} {middle - start:9.1f} "
                      f"{end - middle:7.1f} {alone:6.3f} {pair:9.3f}",
                      flush=True)  # seconds: all model seeds of scratch / of the fine-tuner
        every = np.concatenate(list(gains.values()))
        per_shot = ", ".join(f"{k} shots {np.mean(v):+.2f}" for k, v in gains.items())
        summary.append(f"{case}: mean gain {np.mean(every):+.2f} points, worst "
                       f"{np.min(every):+.1f} over {len(every)} shot/seed cases ({per_shot})")
        print(summary[-1], flush=True)
    print("\n".join(["", *summary]))


if __name__ == "__main__":
    main()
