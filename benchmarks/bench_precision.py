"""Mixed precision against float32 (issue #24): time and accuracy, one run, alternating.

Sections (each prints its own table):

families  One fit per family in float32 (``precision="full"``) and in
          ``precision="bf16-mixed"``, the two alternated round by round in one process:
          an MLP (256, 256) on 8,000 x 40 tabular rows (15 epochs), the default image CNN
          on digits (8 x 8, 10 epochs), the default signal CNN (the FCN recipe) on 200
          synthetic series of 500 steps (30 epochs), an LSTM (64) on 600 sequences of 100
          steps (10 epochs). Medians of seconds, the median per-round speed-up, and the
          test accuracy of each precision (held-out quarter of the rows).
search    RandomizedSearchCV, 8 candidates x 3 folds of an MLP (128, 64) on 8,000 x 40
          float32 rows, batch 128, 15 epochs, refit off: scikit-learn's search over the
          default-precision estimator, sktune's fused search in float32, and sktune's
          fused search with ``precision="bf16-mixed"``, alternated. Medians, speed-ups
          against scikit-learn's search, and the largest per-candidate difference of
          ``mean_test_score`` against it.
threads   One fused bfloat16 step of the search's 24 copies, and one MLP (256, 256) step
          at batch 200 and 1000, in float32 and bfloat16, on 1 and 2 intra-op threads
          (the thread policy's input: ``sktune.engine._threads.BF16_FLOP_SHARE``).
kernels   The matrix products of those networks alone, forward and backward, float32
          against bfloat16 (``sktune.nn._layers.BF16_MIN_MACS``: below it a product
          computes in float32 even under bf16-mixed).
profile   Where a training step's time goes, by precision, on one intra-op thread: the
          fused search's step (24 MLP (128, 64) copies at batch 128) and the MLP
          (256, 256) fit's step at batch 200, each run through the engine for 2 epochs.
          CPU milliseconds per step (``time.thread_time``: what the step computed, not
          the time other processes held the core), then torch.profiler's operators in
          groups (matrix products, copies and casts, activations, optimizer, loss, row
          gathering, bias/reduction sums, the rest: autograd, views, Python) as shares of
          the step. Also prints whether this CPU computes bfloat16 natively.

Run: python benchmarks/bench_precision.py
     [--sections families,search,threads,kernels,profile] [--family MLP]
     [--rounds 3]
"""

import argparse
import os
import statistics
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from scipy.stats import loguniform  # noqa: E402
from sklearn import model_selection as sk  # noqa: E402
from sklearn.datasets import load_digits, make_classification  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

import sktune.model_selection as st  # noqa: E402
from sktune import CNNClassifier, MLPClassifier, RNNClassifier  # noqa: E402

PRECISIONS = ("full", "bf16-mixed")


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _median_ratio(slow, fast):
    return statistics.median(a / b for a, b in zip(slow, fast))


# ---- families ------------------------------------------------------------------------
def _tabular():
    X, y = make_classification(n_samples=8000, n_features=40, n_informative=20, n_classes=4,
                               random_state=0)
    return X.astype(np.float32), y


def _signals():
    """Two classes of noisy series: a bump up or a bump down at a random place."""
    rng = np.random.RandomState(0)
    n, length = 200, 500
    t = np.arange(length)
    y = np.arange(n) % 2
    X = 0.5 * rng.randn(n, length)  # (n, L): univariate signals
    for i in range(n):
        c = rng.randint(50, length - 50)
        X[i] += (1 if y[i] else -1) * 2 * np.exp(-0.5 * ((t - c) / 8.0) ** 2)
    return X.astype(np.float32), y


def _sequences():
    rng = np.random.RandomState(0)
    X = rng.randn(600, 100, 2).astype(np.float32)
    y = (X[:, -20:, 0].mean(axis=1) > 0).astype(int)
    return X, y


FAMILIES = {
    "MLP (256, 256), 8,000 x 40": (lambda p: MLPClassifier(
        (256, 256), max_iter=15, n_iter_no_change=np.inf, random_state=0, device="cpu",
        precision=p), _tabular),
    "image CNN, digits": (lambda p: CNNClassifier(
        input_shape=(8, 8), max_iter=10, random_state=0, device="cpu", precision=p),
        lambda: (load_digits().data.astype(np.float32), load_digits().target)),
    "signal CNN (FCN), 200 x 500 steps": (lambda p: CNNClassifier(
        max_iter=30, random_state=0, device="cpu", precision=p), _signals),
    "LSTM (64), 600 x 100 steps": (lambda p: RNNClassifier(
        hidden_size=64, max_iter=10, random_state=0, device="cpu", precision=p), _sequences),
}


def families(rounds, only=""):
    print("families: one fit each, float32 vs bf16-mixed (alternated, medians)")
    for name, (make, data) in FAMILIES.items():
        if only.lower() not in name.lower():
            continue
        X, y = data()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=0, stratify=y)
        times, scores = {p: [] for p in PRECISIONS}, {}
        for r in range(rounds):
            order = PRECISIONS if r % 2 == 0 else PRECISIONS[::-1]
            for p in order:
                seconds, est = _timed(lambda: make(p).fit(X_tr, y_tr))
                times[p].append(seconds)
                scores[p] = est.score(X_te, y_te)
        full, bf16 = times["full"], times["bf16-mixed"]
        print(f"  {name:36s} float32 {statistics.median(full):6.2f} s  bf16-mixed "
              f"{statistics.median(bf16):6.2f} s  speed-up {_median_ratio(full, bf16):4.2f}x  "
              f"accuracy {scores['full']:.3f} / {scores['bf16-mixed']:.3f}")


# ---- search --------------------------------------------------------------------------
def search(rounds):
    X, y = _tabular()
    space = {"learning_rate_init": loguniform(1e-4, 1e-2), "alpha": loguniform(1e-6, 1e-3)}

    def run(cls, precision, epochs=15):
        est = MLPClassifier((128, 64), batch_size=128, max_iter=epochs,
                            n_iter_no_change=np.inf, random_state=0, device="cpu",
                            precision=precision)
        return cls(est, space, n_iter=8, cv=3, refit=False, random_state=0).fit(X, y)

    contenders = {"scikit-learn's search, float32": (sk.RandomizedSearchCV, "full"),
                  "fused search, float32": (st.RandomizedSearchCV, "full"),
                  "fused search, bf16-mixed": (st.RandomizedSearchCV, "bf16-mixed")}
    times = {name: [] for name in contenders}
    scores = {}
    run(st.RandomizedSearchCV, "bf16-mixed", epochs=1)  # warm-up: imports, oneDNN's caches
    for r in range(rounds):
        names = list(contenders) if r % 2 == 0 else list(contenders)[::-1]
        for name in names:
            seconds, result = _timed(lambda: run(*contenders[name]))
            times[name].append(seconds)
            scores[name] = result.cv_results_["mean_test_score"]
    print("search: 8 candidates x 3 folds, MLP (128, 64), 8,000 x 40 float32, 15 epochs")
    reference = "scikit-learn's search, float32"
    for name, values in times.items():
        gap = np.abs(scores[name] - scores[reference]).max()
        print(f"  {name:34s} {statistics.median(values):6.2f} s  "
              f"{_median_ratio(times[reference], values):4.2f}x  max score gap {gap:.4f}")


# ---- threads -------------------------------------------------------------------------
def threads(rounds):
    import torch

    from sktune.engine import _net, train_stacked

    X, y = _tabular()
    X, y = X[:6000], y[:6000]
    cases = [("24 fused MLP (128, 64) copies, batch 128", 24, (128, 64), 128),
             ("one MLP (256, 256), batch 200", 1, (256, 256), 200),
             ("one MLP (256, 256), batch 1000", 1, (256, 256), 1000)]
    print("threads: median milliseconds per training step (3 epochs), by precision and "
          "intra-op threads")
    policy, before = _net.threads_for, torch.get_num_threads()
    _net.threads_for = lambda *a, **kw: None  # keep the thread count set below
    try:
        for name, k, layers, batch in cases:
            cells = {}
            for _ in range(rounds):
                for precision in PRECISIONS:
                    for n_threads in (1, 2):
                        torch.set_num_threads(n_threads)
                        runs = [MLPClassifier(layers, batch_size=batch, random_state=s,
                                              device="cpu", precision=precision)
                                ._begin_fit(X, y) for s in range(k)]
                        if k > 1:
                            seconds, _ = _timed(lambda: train_stacked(
                                [setattr(r, "epochs", 3) or r for r in runs]))
                        else:
                            seconds, _ = _timed(lambda: runs[0].net.partial_fit(
                                runs[0].dataset, None, epochs=3))
                        steps = 3 * -(-len(X) // batch)
                        cells.setdefault((precision, n_threads), []).append(seconds / steps)
            row = "  ".join(f"{p} {t} thr {statistics.median(v) * 1e3:6.2f}"
                            for (p, t), v in cells.items())
            print(f"  {name:40s} {row}")
    finally:
        _net.threads_for = policy
        torch.set_num_threads(before)


# ---- profile ------------------------------------------------------------------------
#: torch.profiler operator -> the group it is reported in (others: "rest")
OP_GROUPS = {
    "matrix products": ("aten::bmm", "aten::baddbmm", "aten::mm", "aten::addmm",
                        "aten::addmm_"),  # addmm_: emulated bfloat16 bmm, a batch a call
    "copies and casts": ("aten::copy_", "aten::_to_copy"),
    "activations": ("aten::relu", "aten::relu_", "aten::threshold_backward",
                    "aten::clamp_min", "aten::clamp_min_"),
    "optimizer": ("aten::_fused_adam_", "aten::_foreach_add_", "Optimizer.step#Adam.step",
                  "Optimizer.zero_grad#Adam.zero_grad",
                  "aten::item", "aten::_local_scalar_dense", "aten::select",
                  "aten::unbind"),
    "loss": ("aten::_log_softmax", "aten::_log_softmax_backward_data",
             "aten::nll_loss_forward", "aten::nll_loss_backward"),
    "row gathering": ("aten::index", "aten::randperm"),
    "sums": ("aten::sum",),
}


def _train(runs, epochs):
    from sktune.engine import train_stacked
    if len(runs) > 1:
        train_stacked([setattr(r, "epochs", epochs) or r for r in runs])
    else:
        runs[0].net.partial_fit(runs[0].dataset, None, epochs=epochs)


def profile(rounds):
    import torch
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    from sktune.engine import _net
    from sktune.engine._precision import native_bf16

    X, y = _tabular()
    X, y = X[:6000], y[:6000]
    cases = [("fused step, 24 MLP (128, 64) copies, batch 128", 24, (128, 64), 128),
             ("MLP (256, 256) step, batch 200", 1, (256, 256), 200)]
    print(f"profile: one thread; this CPU computes bfloat16 natively: {native_bf16('cpu')} "
          f"(torch CPU capability {torch.backends.cpu.get_cpu_capability()})")
    policy, before = _net.threads_for, torch.get_num_threads()
    _net.threads_for = lambda *a, **kw: None
    torch.set_num_threads(1)
    try:
        for name, k, layers, batch in cases:
            steps = 2 * -(-len(X) // batch)
            print(f"  {name}")
            for precision in PRECISIONS:
                def make():
                    return [MLPClassifier(layers, batch_size=batch, random_state=s,
                                          device="cpu", precision=precision)
                            ._begin_fit(X, y) for s in range(k)]
                _train(make(), 1)  # warm-up: oneDNN's kernel caches
                cpu = []
                for _ in range(rounds):
                    runs = make()
                    start = time.thread_time()
                    _train(runs, 2)
                    cpu.append((time.thread_time() - start) / steps * 1e3)
                runs = make()
                with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
                    _train(runs, 2)
                self_us = {e.key: e.self_cpu_time_total for e in prof.key_averages()}
                total = sum(self_us.values())
                shares = dict.fromkeys(list(OP_GROUPS) + ["rest"], 0.0)
                for op, us in self_us.items():
                    group = next((g for g, ops in OP_GROUPS.items() if op in ops), "rest")
                    shares[group] += us / total
                cells = "  ".join(f"{g} {v:4.0%}" for g, v in shares.items())
                print(f"    {precision:10s} {statistics.median(cpu):6.2f} ms/step  {cells}")
                rest = sorted(((us, op) for op, us in self_us.items()
                               if not any(op in ops for ops in OP_GROUPS.values())),
                              reverse=True)[:3]
                print("      largest of the rest:",
                      ", ".join(f"{op} {us / total:.0%}" for us, op in rest))
    finally:
        _net.threads_for = policy
        torch.set_num_threads(before)


# ---- kernels -------------------------------------------------------------------------
def kernels(rounds):
    import torch

    def bench(fn, n=100):
        for _ in range(10):
            fn()
        times = []
        for _ in range(n * rounds):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return statistics.median(times) * 1e6

    print("kernels: microseconds of one product, forward (baddbmm) + backward (two bmm), "
          "on the current thread count")
    for K, B, n_in, n_out in [(24, 128, 40, 128), (24, 128, 128, 64), (24, 128, 64, 4),
                              (1, 200, 40, 256), (1, 200, 256, 256), (1, 1000, 256, 256)]:
        cells = []
        for dtype in (torch.float32, torch.bfloat16):
            x, w = torch.randn(K, B, n_in, dtype=dtype), torch.randn(K, n_out, n_in, dtype=dtype)
            b, g = torch.randn(K, 1, n_out, dtype=dtype), torch.randn(K, B, n_out, dtype=dtype)
            cells.append(bench(lambda: (torch.baddbmm(b, x, w.transpose(1, 2)),
                                        torch.bmm(g.transpose(1, 2), x), torch.bmm(g, w))))
        macs = K * B * n_in * n_out
        print(f"  {K:2d} x {B:4d} x {n_in:3d} -> {n_out:3d} ({macs / 1e6:5.1f}M MACs): "
              f"float32 {cells[0]:7.1f}  bfloat16 {cells[1]:7.1f}  ({cells[0] / cells[1]:4.2f}x)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sections", default="families,search,threads,kernels,profile")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--family", default="",
                        help="families: only those whose name contains this text")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    warnings.simplefilter("ignore", RuntimeWarning)  # bf16-mixed where it is emulated
    for section in args.sections.split(","):
        if section == "families":
            families(args.rounds, args.family)
        else:
            globals()[section](args.rounds)


if __name__ == "__main__":
    main()
