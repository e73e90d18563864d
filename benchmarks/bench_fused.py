"""Fused searches against unfused ones: the figures of issue #8.

Sections (each prints its own figures):

search    RandomizedSearchCV, 8 candidates x 3 folds, MLPClassifier((128, 64)) on
          8,000 x 40 rows, batch 128, 15 epochs. Contenders, alternated in every round
          in one process: sktune's fused search; scikit-learn's RandomizedSearchCV over
          the same sktune estimator with n_jobs=1 and n_jobs=2 (its loky workers start
          in the warm-up round and are reused after); sktune's fused search with
          n_jobs=2 (each worker trains a fused chunk); scikit-learn's own MLPClassifier
          searched the same way (on one BLAS thread). Medians of seconds and of
          per-round ratios; the largest
          per-candidate difference of mean_test_score between fused and unfused.
cnn       Pipeline(StandardScaler, CNNClassifier) on digits, 8 candidates x 3 folds,
          fused against unfused.
scaling   Time per fit of K = 1, 4, 16, 64 fused copies (one fold, 15 epochs), and peak
          memory per copy (each K in its own process: the peak resident memory that
          training adds, beside the estimate the search's memory budget uses).
threads   One fused training step of K copies on 1 and on 2 intra-op threads.
search-threads  The whole fused search (n_jobs=1) with torch on 1 and on 2 threads
          (not in the default sections).
layout    Image CNNs in channels-last against the default contiguous layout: one
          training step (one network at three image sizes, and 24 fused copies), and a
          whole default CNNClassifier fit on digits (not in the default sections).

Run: python benchmarks/bench_fused.py [--sections search,cnn,scaling,threads,search-threads,layout]
     [--rounds 3] [--dtype both|float64|float32] [--quick]
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from scipy.stats import loguniform  # noqa: E402
from sklearn import model_selection as sk  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits, make_classification  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier as SklearnMLP  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import sktune.model_selection as st  # noqa: E402
from sktune import CNNClassifier, MLPClassifier  # noqa: E402

SPACE = {"learning_rate_init": loguniform(1e-4, 1e-2), "alpha": loguniform(1e-6, 1e-3)}


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _one_blas_thread(fn):
    """scikit-learn's MLP computes with numpy's BLAS, whose threads collapse on a loaded
    machine as torch's do (49 s instead of 4 s here): it runs on one BLAS thread, its
    faster setting under load, as sktune's small steps do."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        return fn()


def _report(title, times, reference, extra=""):
    """Median seconds per contender and median per-round ratios against ``reference``."""
    print(title)
    for name, values in times.items():
        print(f"  {name:42s} {statistics.median(values):7.2f} s  "
              f"(min {min(values):.2f}, max {max(values):.2f})")
    for name, values in times.items():
        if name != reference:
            ratios = [b / a for a, b in zip(times[reference], values)]
            print(f"  {name} / {reference}: {statistics.median(ratios):.2f}x "
                  "(median of per-round ratios)")
    if extra:
        print(extra)
    sys.stdout.flush()


def _alternate(contenders, rounds):
    """Seconds per round of each contender (round 0 warms up: imports, loky workers, not
    counted), in alternating order, and each one's last result."""
    times = {name: [] for name in contenders}
    last = {}
    for r in range(rounds + 1):
        order = list(contenders) if r % 2 == 0 else list(contenders)[::-1]
        for name in order:
            seconds, last[name] = _timed(contenders[name])
            if r:
                times[name].append(seconds)
    return times, last


def _scores(searches):
    return {name: search.cv_results_["mean_test_score"] for name, search in searches.items()}


def search_section(rounds, dtypes, quick):
    n, epochs = (2000, 3) if quick else (8000, 15)
    X, y = make_classification(n, 40, n_informative=20, n_classes=3, random_state=0)
    for dtype in dtypes:
        net = MLPClassifier((128, 64), batch_size=128, max_iter=epochs, random_state=0,
                            device="cpu", dtype=dtype)
        sk_mlp = SklearnMLP((128, 64), batch_size=128, max_iter=epochs, random_state=0)
        kw = dict(n_iter=8, cv=3, random_state=0)
        contenders = {
            "sktune fused RandomizedSearchCV": lambda: st.RandomizedSearchCV(
                net, SPACE, **kw).fit(X, y),
            "sktune fused RandomizedSearchCV n_jobs=2": lambda: st.RandomizedSearchCV(
                net, SPACE, n_jobs=2, **kw).fit(X, y),
            "sklearn RandomizedSearchCV n_jobs=1": lambda: sk.RandomizedSearchCV(
                net, SPACE, **kw).fit(X, y),
            "sklearn RandomizedSearchCV n_jobs=2": lambda: sk.RandomizedSearchCV(
                net, SPACE, n_jobs=2, **kw).fit(X, y),
            "sklearn MLPClassifier, n_jobs=1": lambda: _one_blas_thread(
                lambda: sk.RandomizedSearchCV(sk_mlp, SPACE, **kw).fit(X, y)),
        }
        times, searches = _alternate(contenders, rounds)
        scores = _scores(searches)
        gap = np.max(np.abs(scores["sktune fused RandomizedSearchCV"] -
                            scores["sklearn RandomizedSearchCV n_jobs=1"]))
        best = {k: float(np.max(v)) for k, v in scores.items()}
        _report(f"RandomizedSearchCV 8 x 3, MLP (128, 64), {n} x 40, {epochs} epochs, "
                f"dtype={dtype!r} ({rounds} rounds):", times,
                "sktune fused RandomizedSearchCV",
                f"  largest per-candidate |mean_test_score| gap, fused vs unfused: {gap:.4f}"
                f"\n  best mean_test_score: " +
                ", ".join(f"{k.split(' Rand')[0].split(',')[0]} {v:.4f}"
                          for k, v in best.items()))


def cnn_section(rounds, quick):
    X, y = load_digits(return_X_y=True)
    epochs = 2 if quick else 15
    pipe = make_pipeline(StandardScaler(), CNNClassifier(
        channels=(32, 64), input_shape=(8, 8), batch_size=64, max_iter=epochs,
        random_state=0, device="cpu"))
    space = {"cnnclassifier__learning_rate_init": loguniform(1e-4, 1e-2),
             "cnnclassifier__alpha": loguniform(1e-6, 1e-3)}
    kw = dict(n_iter=8, cv=3, random_state=0)
    contenders = {
        "sktune fused": lambda: st.RandomizedSearchCV(pipe, space, **kw).fit(X, y),
        "sklearn (unfused), n_jobs=1": lambda: sk.RandomizedSearchCV(pipe, space, **kw).fit(X, y),
    }
    times, searches = _alternate(contenders, rounds)
    scores = _scores(searches)
    gap = np.max(np.abs(scores["sktune fused"] - scores["sklearn (unfused), n_jobs=1"]))
    _report(f"Pipeline(StandardScaler, CNNClassifier((32, 64))) on digits, 8 x 3, "
            f"{epochs} epochs ({rounds} rounds):", times, "sktune fused",
            f"  largest per-candidate |mean_test_score| gap: {gap:.4f}")


def _rss(field):
    """A memory figure of this process from /proc (bytes): VmRSS now, VmHWM its peak."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise OSError(field)


def _scaling_one(k, dtype, epochs):
    """One K of the scaling table, in a fresh process: seconds, the peak memory the
    training added (the peak is reset before it: /proc/self/clear_refs) and the search's
    own per-copy estimate."""
    from sktune.engine import train_stacked
    from sktune.model_selection._fusion import copy_bytes

    X, y = make_classification(8000, 40, n_informative=20, n_classes=3, random_state=0)
    X, y = X[: 8000 * 2 // 3], y[: 8000 * 2 // 3]
    net = MLPClassifier((128, 64), batch_size=128, max_iter=epochs, random_state=0,
                        device="cpu", dtype=dtype, n_iter_no_change=10**6)
    runs = [clone(net).set_params(learning_rate_init=1e-3 * (1 + i % 7), random_state=i)
            ._begin_fit(X, y) for i in range(k)]
    estimate = copy_bytes(runs[0])
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # reset the peak resident set size
    before = _rss("VmRSS")
    seconds, _ = _timed(lambda: train_stacked(runs))
    print(f"{seconds} {_rss('VmHWM') - before} {estimate}")


def scaling_section(dtypes, quick):
    epochs = 2 if quick else 15
    for dtype in dtypes:
        print(f"Fused copies of MLP (128, 64) on 5,333 x 40, {epochs} epochs, dtype={dtype!r}:")
        print("      K   seconds   seconds per fit   peak memory per copy (estimate)")
        for k in ([1, 4] if quick else [1, 4, 16, 64]):
            out = subprocess.run([sys.executable, __file__, "--scaling-one", str(k),
                                  "--dtype", dtype, "--epochs", str(epochs)],
                                 capture_output=True, text=True, check=True)
            seconds, peak, estimate = out.stdout.split()[-3:]
            seconds = float(seconds)
            print(f"  {k:5d}  {seconds:8.2f}  {seconds / k:16.3f}   "
                  f"{int(peak) / k / 2**20:8.2f} MiB  ({int(estimate) / 2**20:.2f} MiB)")
        sys.stdout.flush()


def search_threads_section(rounds, dtypes, quick):
    """The whole fused search (n_jobs=1) on one intra-op thread and on two."""
    import torch

    n, epochs = (2000, 3) if quick else (8000, 15)
    X, y = make_classification(n, 40, n_informative=20, n_classes=3, random_state=0)
    before = torch.get_num_threads()
    for dtype in dtypes:
        net = MLPClassifier((128, 64), batch_size=128, max_iter=epochs, random_state=0,
                            device="cpu", dtype=dtype)

        def on(threads, net=net):
            def run():
                torch.set_num_threads(threads)
                return st.RandomizedSearchCV(net, SPACE, n_iter=8, cv=3,
                                             random_state=0).fit(X, y)
            return run

        times, _ = _alternate({"fused search, 1 thread": on(1),
                               "fused search, 2 threads": on(2)}, rounds)
        torch.set_num_threads(before)
        _report(f"Fused RandomizedSearchCV 8 x 3, n_jobs=1, {n} x 40, {epochs} epochs, "
                f"dtype={dtype!r}, torch threads (load average {os.getloadavg()[0]:.1f}):",
                times, "fused search, 1 thread")


def threads_section(quick):
    import torch

    from sktune.engine._threads import free_cores

    reps = 3 if quick else 10
    print(f"One fused training step of K MLPs (128, 64), batch 128, float32 "
          f"(load average {os.getloadavg()[0]:.1f}, free cores {free_cores()}):")
    for k in (1, 4, 24):
        dims = [40, 128, 64, 3]
        Ws = [torch.randn(k, o, i, requires_grad=True) for i, o in zip(dims, dims[1:])]
        bs = [torch.randn(k, o, requires_grad=True) for o in dims[1:]]
        xb, yb = torch.randn(k, 128, 40), torch.randint(0, 3, (k, 128))

        def step():
            h = xb
            for j, (W, b) in enumerate(zip(Ws, bs)):
                h = torch.baddbmm(b.unsqueeze(1), h, W.transpose(1, 2))
                h = torch.relu(h) if j < 2 else h
            loss = torch.nn.functional.cross_entropy(h.reshape(-1, 3), yb.reshape(-1))
            loss.backward()

        times = {1: [], 2: []}
        before = torch.get_num_threads()
        for _ in range(5):
            for threads in (1, 2):
                torch.set_num_threads(threads)
                step()
                seconds, _ = _timed(lambda: [step() for _ in range(reps)])
                times[threads].append(seconds / reps * 1e3)
        torch.set_num_threads(before)
        ratio = statistics.median(b / a for a, b in zip(times[1], times[2]))
        print(f"  K={k:3d}: 1 thread {statistics.median(times[1]):8.2f} ms, 2 threads "
              f"{statistics.median(times[2]):8.2f} ms (2 threads / 1 thread: {ratio:.2f})")


def _layout(channels_last):
    """Image CNNs in channels-last or in the contiguous layout (benchmark switch)."""
    import torch

    import sktune.nn._layers as layers

    layers.IMAGE_LAYOUT = torch.channels_last if channels_last else torch.contiguous_format


def layout_section(rounds, quick):
    """A CNN training step (forward and backward, batch 64) and a whole CNNClassifier
    fit on digits, in channels-last against the default (contiguous) layout."""
    import torch

    from sktune.nn import CNNModule

    reps = 5 if quick else 30
    print(f"Image CNN training step, batch 64, channels-last against contiguous "
          f"({torch.get_num_threads()} threads allowed, load average "
          f"{os.getloadavg()[0]:.1f}; medians of {rounds} alternated rounds):")
    cases = [((1, 8, 8), (32, 64), 1), ((1, 28, 28), (32, 64), 1),
             ((3, 32, 32), (32, 64, 128), 1), ((1, 8, 8), (32, 64), 24)]
    for shape, channels, k in cases:
        nets = {}
        for name in ("contiguous", "channels-last"):
            torch.manual_seed(0)
            _layout(name == "channels-last")
            copies = [CNNModule(shape, 10, channels=channels) for _ in range(k)]
            nets[name] = (copies[0] if k == 1 else copies[0].stack(copies)).train()
        x = torch.randn(*(() if k == 1 else (k,)), 64, *shape)

        def steps(name):
            def run():
                _layout(name == "channels-last")
                for _ in range(reps):
                    nets[name](x).sum().backward()
            return run

        seconds, _ = _alternate({name: steps(name) for name in nets}, rounds)
        times = {name: [t / reps * 1e3 for t in values] for name, values in seconds.items()}
        _layout(True)
        ratio = statistics.median(a / b for a, b in zip(times["contiguous"],
                                                        times["channels-last"]))
        what = f"{k} fused copies" if k > 1 else "one network"
        print(f"  {shape}, channels {channels}, {what}: contiguous "
              f"{statistics.median(times['contiguous']):7.2f} ms, channels-last "
              f"{statistics.median(times['channels-last']):7.2f} ms ({ratio:.2f}x)")
    X, y = load_digits(return_X_y=True)

    def fit(name):
        def run():
            _layout(name == "channels-last")
            return CNNClassifier(input_shape=(8, 8), max_iter=2 if quick else 30,
                                 n_iter_no_change=np.inf, random_state=0,
                                 device="cpu").fit(X, y)
        return run

    times, _ = _alternate({name: fit(name) for name in ("contiguous", "channels-last")},
                          rounds)
    _layout(True)
    _report("Default CNNClassifier fit on digits (1,797 images), 30 epochs:", times,
            "channels-last")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sections", default="search,cnn,scaling,threads")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dtype", default="both")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--scaling-one", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=15)
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    dtypes = ["float64", "float32"] if args.dtype == "both" else [args.dtype]
    if args.scaling_one is not None:
        return _scaling_one(args.scaling_one, dtypes[0], args.epochs)
    import torch

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    sections = args.sections.split(",")
    rounds = 1 if args.quick else args.rounds
    if "search" in sections:
        search_section(rounds, dtypes, args.quick)
    if "cnn" in sections:
        cnn_section(rounds, args.quick)
    if "scaling" in sections:
        scaling_section(dtypes, args.quick)
    if "threads" in sections:
        threads_section(args.quick)
    if "layout" in sections:
        layout_section(rounds, args.quick)
    if "search-threads" in sections:
        search_threads_section(rounds, dtypes, args.quick)


if __name__ == "__main__":
    main()
