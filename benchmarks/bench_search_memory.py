"""Peak memory of a fused search against its number of candidates (issue #19).

A fused RandomizedSearchCV over an MLP (256, 256) on 2,000 x 40 float32 rows, 3 folds,
2 epochs a fit, with 30 and with 240 candidates. Each run is a fresh Python process;
the script prints its peak resident memory (``ru_maxrss``) above the same process
before the search (imports and data loaded), so that the figure is what the search
itself adds. A fused search that holds only one chunk of copies at a time adds about
the same at 30 and at 240 candidates.

Run: ``python benchmarks/bench_search_memory.py [--candidates 30,240] [--rounds 1]``
"""

import argparse
import json
import statistics
import subprocess
import sys

SEARCH = r"""
import json, resource, sys, warnings
warnings.simplefilter("ignore")
import numpy as np
from scipy.stats import loguniform
from sklearn.datasets import make_classification
from sktune import MLPClassifier
from sktune.model_selection import RandomizedSearchCV

n = int(sys.argv[1])
X, y = make_classification(n_samples=2000, n_features=40, n_informative=20, random_state=0)
X = X.astype(np.float32)
est = MLPClassifier(hidden_layer_sizes=(256, 256), max_iter=2, random_state=0, device="cpu")
warm = RandomizedSearchCV(est, {"alpha": loguniform(1e-6, 1e-2)}, n_iter=2, cv=3,
                          refit=False, random_state=0).fit(X, y)   # torch's own start-up
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
search = RandomizedSearchCV(est, {"alpha": loguniform(1e-6, 1e-2)}, n_iter=n, cv=3,
                            refit=False, random_state=0).fit(X, y)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"added_mb": (peak - before) / 1024}))
"""


def run(n):
    out = subprocess.run([sys.executable, "-c", SEARCH, str(n)], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["added_mb"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidates", default="30,240")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    sizes = [int(c) for c in args.candidates.split(",")]
    results = {n: [] for n in sizes}
    for _ in range(args.rounds):
        for n in sizes:  # alternate the sizes round by round
            results[n].append(run(n))
    for n in sizes:
        print(f"{n:4d} candidates x 3 folds: peak memory +{statistics.median(results[n]):6.1f} MB "
              f"over the process before the search (median of {args.rounds})")


if __name__ == "__main__":
    main()
