"""Mixed precision: the same fit in float32 and in bfloat16 with float32 master weights.

``precision="bf16-mixed"`` computes each training step's products and convolutions in
bfloat16 (AVX512-BF16/AMX on recent x86 CPUs, tensor cores on GPUs) and keeps weights,
optimizer state, loss and predictions in float32. It pays on convolutions over long
signals; small tabular MLPs gain little. It is a hyperparameter like any other: a
fused search trains its candidates in it. On a CPU without native bfloat16 a warning
says it would be emulated.

Run: python examples/mixed_precision.py [--quick]
"""

import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from sktune import CNNClassifier, MLPClassifier
from sktune.model_selection import GridSearchCV

QUICK = "--quick" in sys.argv
warnings.simplefilter("ignore", ConvergenceWarning)

# signals: a bump up or a bump down somewhere in a noisy series
rng = np.random.RandomState(0)
n, length = (40, 64) if QUICK else (200, 500)
t = np.arange(length)
y = np.arange(n) % 2
X = 0.5 * rng.randn(n, length)
for i in range(n):
    c = rng.randint(20, length - 20)
    X[i] += (1 if y[i] else -1) * 2 * np.exp(-0.5 * ((t - c) / 8.0) ** 2)
X = X.astype(np.float32)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)

for precision in ("full", "bf16-mixed"):
    start = time.perf_counter()
    # one network (n_ensemble=1): --quick's 30 short signals would otherwise train five
    # averaged copies, and what this compares is a network's precision
    cnn = CNNClassifier(max_iter=2 if QUICK else 30, random_state=0, n_ensemble=1,
                        precision=precision).fit(X_train, y_train)
    weights = {str(p.dtype) for p in cnn.net_.module_.parameters()}
    print(f"signal CNN, precision={precision!r}: {time.perf_counter() - start:.1f} s, test "
          f"accuracy {cnn.score(X_test, y_test):.3f}, weights {weights}")

# a fused search whose candidates train in bfloat16 (they share the setting)
search = GridSearchCV(MLPClassifier((256, 256), max_iter=3 if QUICK else 20, random_state=0,
                                    precision="bf16-mixed"),
                      {"learning_rate_init": [1e-3, 3e-3]}, cv=3).fit(X_train, y_train)
print("fused bf16-mixed search, mean CV accuracy:",
      np.round(search.cv_results_["mean_test_score"], 3))
