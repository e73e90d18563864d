"""Why the test session trains on one torch thread: test-sized fits, 1 vs 2 threads, on a
quiet machine and with two busy-loop processes competing for the cores (as on a shared
2-core CI machine).

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

import torch
from sklearn.datasets import make_classification

from sktune import CNNClassifier, MLPClassifier

warnings.simplefilter("ignore")


def workload():
    """The kind of fits tests run: the conftest data, a few dozen epochs, tiny networks."""
    X, y = make_classification(n_samples=240, n_features=8, n_informative=5, n_classes=3,
                               random_state=0)
    MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=30,
                  random_state=0, device="cpu").fit(X, y)
    CNNClassifier(channels=(8,), hidden_layer_sizes=(16,), max_iter=10, random_state=0,
                  device="cpu").fit(X, y)


def timed(threads):
    torch.set_num_threads(threads)
    start = time.perf_counter()
    workload()
    return time.perf_counter() - start


def measure(rounds):
    times = {1: [], 2: []}
    for r in range(rounds):
        for threads in ((1, 2) if r % 2 == 0 else (2, 1)):
            times[threads].append(timed(threads))
    return {t: statistics.median(v) for t, v in times.items()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    rounds = parser.parse_args().rounds
    timed(1)  # warm-up: imports, first optimizer
    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.2f}")
    results = {"quiet": measure(rounds)}
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        time.sleep(1)
        results["2 busy loops"] = measure(rounds)
    finally:
        for proc in busy:
            proc.kill()
            proc.wait()
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(f"{'machine':<14} {'1 thread':>10} {'2 threads':>10} {'2 / 1':>7}   (median s, "
          f"{rounds} rounds)")
    for name, t in results.items():
        print(f"{name:<14} {t[1]:>10.2f} {t[2]:>10.2f} {t[2] / t[1]:>7.2f}")


if __name__ == "__main__":
    main()
