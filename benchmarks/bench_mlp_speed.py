"""MLP training speed: sktune vs a minimal hand-written PyTorch loop vs skorch defaults.

Raw-loop contenders run at torch's default thread count and at one thread, the count
sktune's thread policy picks for steps this small (sktune/engine/_threads.py); the
one-thread pair isolates the loop's own overhead. The task of the core issue: 15,000 x 50
samples, 4 classes, hidden (128, 64), batch 128, 20 epochs, no validation split, Adam at
lr 1e-3. The three contenders run in turn, round after round, in one process, and the
script prints the median fit time of each and the ratios. Run:
``python benchmarks/bench_mlp_speed.py [--rounds N]``.
"""

import argparse
import statistics
import time
import warnings

import numpy as np
import torch
from sklearn.datasets import make_classification
from torch import nn

N, D, K, HIDDEN, BATCH, EPOCHS, LR = 15_000, 50, 4, (128, 64), 128, 20, 1e-3


def make_data():
    X, y = make_classification(n_samples=N, n_features=D, n_informative=20, n_classes=K,
                               random_state=0)
    return X.astype(np.float32), y.astype(np.int64)


def make_module():
    return nn.Sequential(nn.Linear(D, HIDDEN[0]), nn.ReLU(), nn.Linear(HIDDEN[0], HIDDEN[1]),
                         nn.ReLU(), nn.Linear(HIDDEN[1], K))


def fit_raw(X, y):
    """The baseline: tensors in memory, a fresh permutation per epoch, fused Adam."""
    torch.manual_seed(0)
    model = make_module()
    opt = torch.optim.Adam(model.parameters(), lr=LR, fused=True)
    loss_fn = nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    n = len(Xt)
    for _ in range(EPOCHS):
        perm = torch.randperm(n)
        Xp, yp = Xt[perm], yt[perm]
        for i in range(0, n, BATCH):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(Xp[i:i + BATCH]), yp[i:i + BATCH])
            loss.backward()
            opt.step()
    return model


def fit_raw_one_thread(X, y):
    """The same loop on one intra-op thread (what sktune's thread policy picks for a step
    this small): the pair that isolates the training loop's overhead."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return fit_raw(X, y)
    finally:
        torch.set_num_threads(before)


def fit_sktune(X, y):
    from sktune import MLPClassifier

    return MLPClassifier(hidden_layer_sizes=HIDDEN, batch_size=BATCH, max_iter=EPOCHS,
                         learning_rate_init=LR, alpha=0.0, n_iter_no_change=np.inf,
                         random_state=0, device="cpu").fit(X, y)


class _SoftmaxModule(nn.Module):
    """skorch's documented pattern: the module returns probabilities (NLLLoss on log)."""

    def __init__(self):
        super().__init__()
        self.body = make_module()

    def forward(self, X):
        return torch.softmax(self.body(X), dim=-1)


def fit_skorch(X, y):
    from skorch import NeuralNetClassifier

    torch.manual_seed(0)
    return NeuralNetClassifier(_SoftmaxModule, max_epochs=EPOCHS, lr=LR, batch_size=BATCH,
                               optimizer=torch.optim.Adam, train_split=None,
                               iterator_train__shuffle=True, verbose=0).fit(X, y)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    X, y = make_data()
    contenders = {"raw torch loop": fit_raw, "raw torch loop, 1 thread": fit_raw_one_thread,
                  "sktune MLPClassifier": fit_sktune, "skorch NeuralNetClassifier": fit_skorch}
    for fit in contenders.values():  # warm-up: imports, lazy torch initialisation
        fit(X[:512], y[:512])
    times = {name: [] for name in contenders}
    for _ in range(args.rounds):
        for name, fit in contenders.items():
            start = time.perf_counter()
            fit(X, y)
            times[name].append(time.perf_counter() - start)
    med = {name: statistics.median(t) for name, t in times.items()}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{args.rounds} rounds, median fit seconds:")
    for name, t in med.items():
        print(f"  {name:28s} {t:7.3f}  (min {min(times[name]):.3f}, max {max(times[name]):.3f})")
    # ratios pair by pair (same round), so drift of the machine's speed cancels out
    raw, raw1, ours, sk = (times[k] for k in contenders)
    vs_raw = statistics.median(o / r for o, r in zip(ours, raw))
    vs_raw1 = statistics.median(o / r for o, r in zip(ours, raw1))
    vs_skorch = statistics.median(s / o for s, o in zip(sk, ours))
    print(f"sktune / raw loop      = {vs_raw:.3f}  (median of per-round ratios; target <= 1.15)")
    print(f"sktune / raw, 1 thread = {vs_raw1:.3f}  (same thread count: the loop's own overhead)")
    print(f"skorch / sktune        = {vs_skorch:.3f}  (median of per-round ratios; target >= 2)")

if __name__ == "__main__":
    main()
