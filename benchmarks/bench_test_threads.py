"""Why the test session trains on one torch thread: test-sized fits, 1 vs 2 threads, on a
quiet machine and with two busy-loop processes competing for the cores (as on a shared
2-core CI machine). Two workloads: the small MLP/CNN fits most tests run, and a GRU
over sequences of 200 steps (as tests/test_rnn.py does, 150 sequences, 1 epoch).

Each round times the same fits under both settings, alternating which goes first; the
figures are medians over rounds. Run: python benchmarks/bench_test_threads.py [--rounds 7]
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np
import torch
from sklearn.datasets import make_classification

from sktune import CNNClassifier, MLPClassifier, RNNClassifier

warnings.simplefilter("ignore")


def small_fits():
    """The kind of fits most tests run: the conftest data, tiny networks."""
    X, y = make_classification(n_samples=240, n_features=8, n_informative=5, n_classes=3,
                               random_state=0)
    MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=30,
                  random_state=0, device="cpu").fit(X, y)
    CNNClassifier(channels=(8,), hidden_layer_sizes=(16,), max_iter=10, random_state=0,
                  device="cpu").fit(X, y)


def long_sequences():
    rng = np.random.RandomState(0)
    X = [rng.randn(rng.choice([3, 200]), 1) for _ in range(150)]
    y = np.array([int(s[-1, 0] > 0) for s in X])
    RNNClassifier(cell="gru", hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=1,
                  random_state=0, device="cpu").fit(X, y)


WORKLOADS = {"MLP+CNN fits": small_fits, "GRU, 200 steps": long_sequences}


def timed(work, threads):
    torch.set_num_threads(threads)
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def measure(work, rounds):
    times = {1: [], 2: []}
    for r in range(rounds):
        for threads in ((1, 2) if r % 2 == 0 else (2, 1)):
            times[threads].append(timed(work, threads))
    return {t: statistics.median(v) for t, v in times.items()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    rounds = parser.parse_args().rounds
    for work in WORKLOADS.values():
        timed(work, 1)  # warm-up: imports, first optimizer
    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.2f}")
    results = {("quiet", name): measure(work, rounds) for name, work in WORKLOADS.items()}
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        time.sleep(1)
        for name, work in WORKLOADS.items():
            results["2 busy loops", name] = measure(work, rounds)
    finally:
        for proc in busy:
            proc.kill()
            proc.wait()
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(f"{'machine':<14} {'workload':<16} {'1 thread':>9} {'2 threads':>10} {'2 / 1':>7}"
          f"   (median s, {rounds} rounds)")
    for (machine, name), t in results.items():
        print(f"{machine:<14} {name:<16} {t[1]:>9.2f} {t[2]:>10.2f} {t[2] / t[1]:>7.2f}")


if __name__ == "__main__":
    main()
