"""Parallel efficiency of a search on one machine: n_jobs=2 against n_jobs=1.

RandomizedSearchCV, 8 candidates x 3 folds of an MLP (128, 64) on 8,000 x 40 rows,
15 epochs each (``--epochs``); the same search for sktune, skorch's NeuralNetClassifier and
scikit-learn's MLPClassifier. Each configuration runs in a fresh Python process (so
worker start-up, torch import and thread settings are all counted, as a user pays
them), rounds alternate, and the script prints median wall times and speed-ups.

Run: ``python benchmarks/bench_parallel.py [--rounds N] [--epochs E] [--library sktune]``
"""

import argparse
import json
import statistics
import subprocess
import sys
import time

SEARCH = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
import numpy as np
from scipy.stats import loguniform
from sklearn.datasets import make_classification
from sklearn.model_selection import RandomizedSearchCV

library, n_jobs, epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
X, y = make_classification(n_samples=8000, n_features=40, n_informative=20, n_classes=4,
                           random_state=0)
X = X.astype(np.float32)
space = {"alpha": loguniform(1e-6, 1e-2)}
if library == "sktune":
    from sktune import MLPClassifier
    est = MLPClassifier(hidden_layer_sizes=(128, 64), batch_size=128, max_iter=epochs,
                        n_iter_no_change=np.inf, random_state=0, device="cpu")
elif library == "sklearn":
    from sklearn.neural_network import MLPClassifier
    est = MLPClassifier(hidden_layer_sizes=(128, 64), batch_size=128, max_iter=epochs,
                        n_iter_no_change=1000, random_state=0)
else:
    import torch
    from skorch import NeuralNetClassifier
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(40, 128), nn.ReLU(), nn.Linear(128, 64),
                                      nn.ReLU(), nn.Linear(64, 4))

        def forward(self, X):
            return torch.softmax(self.body(X), dim=-1)

    est = NeuralNetClassifier(Net, max_epochs=epochs, batch_size=128, optimizer=torch.optim.Adam,
                              optimizer__weight_decay=0.0, lr=1e-3, train_split=None,
                              iterator_train__shuffle=True, verbose=0)
    space = {"optimizer__weight_decay": loguniform(1e-6, 1e-2)}
start = time.perf_counter()
search = RandomizedSearchCV(est, space, n_iter=8, cv=3, n_jobs=n_jobs, random_state=0)
search.fit(X, y)
print(json.dumps({"seconds": time.perf_counter() - start, "score": search.best_score_}))
"""


def run(library, n_jobs, epochs):
    out = subprocess.run([sys.executable, "-c", SEARCH, library, str(n_jobs), str(epochs)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["seconds"]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--library", action="append",
                        choices=["sktune", "skorch", "sklearn"])
    args = parser.parse_args()
    libraries = args.library or ["sktune", "skorch", "sklearn"]
    times = {(lib, n): [] for lib in libraries for n in (1, 2)}
    for _ in range(args.rounds):
        for lib in libraries:
            for n_jobs in (1, 2):
                times[lib, n_jobs].append(run(lib, n_jobs, args.epochs))
    print(f"8 candidates x 3 folds, MLP (128, 64), 8,000 x 40, {args.epochs} epochs; "
          f"{args.rounds} rounds, median search seconds (whole search, in-process timer):")
    for lib in libraries:
        one, two = (statistics.median(times[lib, n]) for n in (1, 2))
        ratios = [a / b for a, b in zip(times[lib, 1], times[lib, 2])]
        print(f"  {lib:8s} n_jobs=1 {one:6.1f}  n_jobs=2 {two:6.1f}  speed-up "
              f"{statistics.median(ratios):.2f}x (per-round median)")


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"benchmark took {time.perf_counter() - start:.0f} s")
