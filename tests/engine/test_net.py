"""The shared engine's pieces: batches, hold-out split, schedules, solvers, devices."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from sktune.engine import (
    ArrayDataset,
    HoldOut,
    LRSchedule,
    TensorBatches,
    optimizer_spec,
    resolve_device,
)


def _dataset(n=10, sparse=False):
    X = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    return ArrayDataset(sp.csr_matrix(X) if sparse else X, np.arange(n), np.ones(n, np.float32))


@pytest.mark.parametrize("sparse", [False, True])
def test_a_one_row_last_batch_joins_the_one_before_when_asked(sparse):
    batches = list(TensorBatches(_dataset(9, sparse), batch_size=4, min_rows=2))
    assert [len(xb) for xb, _ in batches] == [4, 5]
    assert [len(xb) for xb, _ in TensorBatches(_dataset(9, sparse), batch_size=4)] == [4, 4, 1]
    assert len(TensorBatches(_dataset(1, sparse), batch_size=4, min_rows=2)) == 1


@pytest.mark.parametrize("n, batch_size", [(201, "auto"), (33, 32), (5, 2)])
def test_batch_norm_trains_on_any_number_of_rows(n, batch_size):
    from sktune import MLPClassifier

    X = np.random.RandomState(0).randn(n, 3)
    y = np.arange(n) % 2
    clf = MLPClassifier(hidden_layer_sizes=(4,), batch_norm=True, batch_size=batch_size,
                        max_iter=2, random_state=0, device="cpu").fit(X, y)
    bs = 200 if batch_size == "auto" else batch_size
    assert clf.history_[-1]["train_batch_count"] == n // bs
    assert clf.t_ == 2 * n  # every row trained in every epoch


def test_batch_norm_on_a_single_row_says_what_to_do():
    from sktune import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=(4,), batch_norm=True, device="cpu")
    with pytest.raises(ValueError, match="batch of 1 sample cannot be batch-normalised"):
        clf.partial_fit(np.ones((1, 3)), [0], classes=[0, 1])
    assert not hasattr(clf, "net_")
    clf.partial_fit(np.random.RandomState(0).randn(4, 3), [0, 1, 0, 1], classes=[0, 1])
    with pytest.raises(ValueError, match="at least 2 rows per call"):
        clf.partial_fit(np.ones((1, 3)), [0])
    assert clf.t_ == 4


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("shuffle", [False, True])
def test_batches_cover_every_row_once_and_keep_rows_aligned(sparse, shuffle):
    batches = list(TensorBatches(_dataset(10, sparse), batch_size=4, shuffle=shuffle, seed=0))
    assert [len(xb) for xb, _ in batches] == [4, 4, 2]
    X = torch.cat([xb for xb, _ in batches])
    y = torch.cat([yb for _, (yb, _) in batches])
    assert sorted(y.tolist()) == list(range(10))
    torch.testing.assert_close(X[:, 0], 2 * y.float())  # features travel with their target
    assert all(isinstance(xb, torch.Tensor) and xb.layout == torch.strided for xb, _ in batches)


def test_shuffle_differs_between_epochs_but_is_seeded():
    def epochs(seed):
        it = TensorBatches(_dataset(50), batch_size=50, shuffle=True, seed=seed)
        return [next(iter(it))[1][0].tolist() for _ in range(2)]

    first, second = epochs(0)
    assert first != second and epochs(0) == [first, second]


def test_hold_out_is_stratified_and_says_when_it_cannot_be():
    ds = ArrayDataset(np.zeros((100, 1), np.float32), np.r_[np.zeros(90), np.ones(10)],
                      stratify=np.r_[np.zeros(90), np.ones(10)])
    train, valid = HoldOut(0.2, random_state=0)(ds)
    assert len(valid) == 20 and valid.y.sum() == 2 and len(train) == 80
    lonely = ArrayDataset(np.zeros((10, 1), np.float32), np.arange(10), stratify=np.arange(10))
    with pytest.raises(ValueError, match="least populated class"):
        HoldOut(0.2, random_state=0)(lonely)
    tiny = ArrayDataset(np.zeros((5, 1), np.float32), np.arange(5))
    with pytest.raises(ValueError, match="validation set is too small"):
        HoldOut(0.1, random_state=0)(tiny)


@pytest.mark.parametrize("policy,decay,expected", [
    ("step", 0.1, [1, 1, 0.1, 0.1, 0.01]),
    ("exponential", 0.5, [1, 0.5, 0.25, 0.125, 0.0625]),
    ("constant", 0.1, [1, 1, 1, 1, 1]),
])
def test_schedule_factors(policy, decay, expected):
    sched = LRSchedule(policy, max_epochs=5, step_size=2, decay=decay).initialize()
    np.testing.assert_allclose([sched.factor(e, 100) for e in range(5)], expected)


def test_warmup_precedes_cosine():
    sched = LRSchedule("cosine", max_epochs=6, warmup_epochs=2).initialize()
    factors = [sched.factor(e, 1) for e in range(6)]
    np.testing.assert_allclose(factors[:3], [1 / 3, 2 / 3, 1.0])
    assert factors[3] > factors[4] > factors[5] > 0


@pytest.mark.parametrize("solver,cls", [("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW),
                                        ("sgd", torch.optim.SGD), ("rmsprop", torch.optim.RMSprop)])
def test_optimizer_spec(solver, cls):
    opt_cls, kwargs = optimizer_spec(solver, momentum=0.5, beta_1=0.8, device="cpu")
    assert opt_cls is cls
    opt_cls([torch.nn.Parameter(torch.zeros(2))], lr=0.1, **kwargs)  # valid arguments
    if solver == "sgd":
        assert kwargs["momentum"] == 0.5 and kwargs["nesterov"]
    if solver.startswith("adam"):
        assert kwargs["betas"] == (0.8, 0.999) and kwargs["fused"]


def test_resolve_device():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") in ("cpu", "cuda", "mps")
    with pytest.raises(ValueError, match="not a torch device"):
        resolve_device("gpu0")


def test_a_ctrl_c_during_torchs_compiler_import_waits_for_the_import(monkeypatch):
    """torch imports its compiler at the first optimizer of a process; a Ctrl-C half-way
    through that import left a half-initialised torch._dynamo and every later fit of the
    session failed. The engine finishes the import, then raises the KeyboardInterrupt."""
    import importlib
    import signal

    from sktune.engine import _optim

    imported = []

    def interrupted_import(name):
        signal.raise_signal(signal.SIGINT)  # the user's Ctrl-C, during the import
        imported.append(name)
        return importlib.import_module(name)

    monkeypatch.setattr(_optim, "_COMPILER_READY", False)
    monkeypatch.setattr(_optim, "_import_module", interrupted_import)
    before = signal.signal(signal.SIGINT, signal.default_int_handler)  # Python's own
    try:
        with pytest.raises(KeyboardInterrupt):
            _optim.import_torch_compiler()
        assert imported == ["torch._dynamo"] and _optim._COMPILER_READY
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        _optim.import_torch_compiler()  # once imported, nothing more happens
        assert imported == ["torch._dynamo"]
        # a process that ignores SIGINT (nohup, CI runners) keeps ignoring it
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        monkeypatch.setattr(_optim, "_COMPILER_READY", False)
        _optim.import_torch_compiler()
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)
