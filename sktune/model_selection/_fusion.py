"""Which fits of a search train together: the fusion rule, as data, and the memory bound.

A search evaluates (candidate, split) pairs. Two pairs can share one stacked network
when their networks have the same shapes and every setting in which they differ is one
the fused loop honours per copy: those are :data:`PER_COPY_PARAMS`. Everything else —
architecture, batch size, loss, dtype, device — must be equal. The rule is applied
twice:

1. :func:`plan_key`, on parameters alone, before any data is touched: pairs with equal
   keys are sent to the same worker (a pair with no key takes scikit-learn's own path,
   one fit each);
2. :func:`fusion_signature`, on the prepared fits inside the worker: the engine's exact
   check (:func:`~sktune.engine.stack_key`: shapes after preprocessing, the module's
   own :class:`~sktune.nn.Stackable` signature). Fits whose signature is unique train alone.

Groups are cut into chunks whose estimated memory stays under a budget
(:func:`fusion_config`) and, on the CPU, whose step activations stay within the
last-level cache (:func:`cache_chunk`).
"""

import glob
import os
import threading
from contextlib import contextmanager

import torch
from joblib import hash as joblib_hash
from sklearn import get_config

from sktune.engine import stack_key
from sktune.model_selection._wrappers import fit_path

#: estimator parameters that may differ between the copies of one fused network
PER_COPY_PARAMS = frozenset({
    "solver", "learning_rate_init", "alpha", "l1", "dropout", "momentum",
    "nesterovs_momentum", "beta_1", "beta_2", "epsilon", "learning_rate", "power_t",
    "lr_step_size", "lr_decay", "lr_patience", "min_learning_rate", "warmup_epochs",
    "max_iter", "shuffle", "random_state", "tol", "verbose", "early_stopping",
    "validation_fraction", "n_iter_no_change", "restore_best_weights", "max_grad_norm",
    "class_weight", "divergence_threshold", "keep_optimizer_state", "max_fun", "warm_start",
})

def fusion_signature(run):
    """A hashable key for a prepared fit: runs with equal keys can train as one stacked
    network (the engine's :func:`~sktune.engine.stack_key`); None for a fit that trains
    on its own (``partial_fit``, L-BFGS, or what the stacked loop cannot reproduce)."""
    if run.incremental or getattr(run.estimator, "solver", None) == "lbfgs":
        return None
    return stack_key(run.net, run.dataset)


_CONFIG = threading.local()
_DEFAULTS = {"enabled": True, "max_memory": None}


def get_fusion_config():
    """Get the current fusion settings (see :func:`fusion_config`).

    Returns
    -------
    config : dict
        ``enabled`` and ``max_memory``, as set for this thread.
    """
    return {**_DEFAULTS, **getattr(_CONFIG, "values", {})}


@contextmanager
def fusion_config(*, enabled=None, max_memory=None):
    """Set sktune's fused searches up for the block (this thread).

    Parameters
    ----------
    enabled : bool, default=None
        False runs every fit on its own, exactly as scikit-learn's searches do (for
        comparisons). None keeps the current setting (default True).
    max_memory : int or None, default=None
        Bytes one fused chunk may use (weights, gradients, optimizer state and
        activations of its copies); larger groups are split into chunks. None keeps the
        current setting; the default is 1 GiB on the CPU and half the free memory of a
        GPU.

    Yields
    ------
    None
        Control, inside the ``with`` block; the previous settings return after it.

    Examples
    --------
    >>> from sktune.model_selection import fusion_config, get_fusion_config
    >>> with fusion_config(enabled=False):
    ...     get_fusion_config()["enabled"]
    False
    """
    saved = dict(getattr(_CONFIG, "values", {}))
    new = dict(saved)
    if enabled is not None:
        new["enabled"] = bool(enabled)
    if max_memory is not None:
        new["max_memory"] = int(max_memory)
    _CONFIG.values = new
    try:
        yield
    finally:
        _CONFIG.values = saved


def plan_key(estimator, fit_params):
    """A hashable key for a configured (cloned, parameters set) pair estimator: equal keys
    may fuse. None: this pair runs on its own (not an sktune network, an L-BFGS or
    warm-start fit, user callbacks, fit parameters other than sample weights, metadata
    routing)."""
    path = fit_path(estimator)
    if path is None or get_config().get("enable_metadata_routing"):
        return None
    if set(fit_params) - {path.weight_key}:
        return None
    est = path.final
    if est.solver == "lbfgs" or est.callbacks:
        return None
    shared = {k: v for k, v in est.get_params(deep=False).items() if k not in PER_COPY_PARAMS}
    try:
        return type(est).__name__, joblib_hash(shared)
    except Exception:  # noqa: BLE001 - a parameter joblib cannot hash (a lambda backbone)
        return None  # trains through its own fit, as in scikit-learn's search


def memory_budget(device, configured=None):
    """Bytes a fused chunk may use on ``device``: ``configured`` (the search's
    ``fusion_config(max_memory=...)``, passed along to its workers) or the default."""
    if configured is not None:
        return configured
    dev = torch.device(device)
    if dev.type == "cuda":
        free, _ = torch.cuda.mem_get_info(dev)
        return free // 2
    return 2**30


def _activation_bytes(run):
    """Bytes of the activations one training sample leaves in a forward pass (every
    leaf module's output)."""
    module = run.net.module_
    activations = [0]

    def count(_, __, output):
        if isinstance(output, torch.Tensor):
            activations[0] += output[:1].numel() * output.element_size()

    leaves = [m for m in module.modules() if not list(m.children())]
    handles = [m.register_forward_hook(count) for m in leaves]
    try:
        with torch.no_grad():
            module.eval()
            module(run.dataset.X[:1].to(run.net.device))
    finally:
        module.train()
        for handle in handles:
            handle.remove()
    return activations[0]


def copy_bytes(run, activations=None):
    """Estimated memory of one fused copy: its weights, gradients and optimizer state,
    and the activations a training step keeps for the backward pass (``activations``:
    :func:`_activation_bytes` of ``run``, measured here when not given)."""
    if activations is None:
        activations = _activation_bytes(run)
    params = sum(p.numel() * p.element_size() for p in run.net.module_.parameters())
    return 4 * params + 3 * activations * run.net.batch_size


def cache_bytes():
    """Size of the CPU's last-level cache (Linux's sysfs), 32 MiB where unknown."""
    sizes = []
    for index in glob.glob("/sys/devices/system/cpu/cpu0/cache/index*"):
        try:
            with open(os.path.join(index, "type")) as f:
                if f.read().strip() == "Instruction":
                    continue
            with open(os.path.join(index, "size")) as f:
                text = f.read().strip().upper()
        except OSError:
            continue
        scale = {"K": 2**10, "M": 2**20, "G": 2**30}.get(text[-1:], 1)
        digits = text.rstrip("KMG")
        if digits.isdigit():
            sizes.append(int(digits) * scale)
    return max(sizes) if sizes else 32 * 2**20


def cache_chunk(run, activations=None):
    """Most copies a CPU chunk may hold: a fused step's activations (forward outputs of
    all its copies) within the last-level cache, None on a GPU. Past it the
    element-wise layers (batch norm, activations, pooling) run from main memory and a
    copy's step gets slower than an unfused fit's: for the digits CNN (32, 64) at batch
    64 (2.7 MB of activations a copy, 32 MiB of cache), a search of 8 x 3 fused in
    chunks of 8 or 12 took 11.9-12.6 s, in one chunk of 24 15.4 s (2 threads, idle), while
    the MLP (128, 64) steps of 0.2 MB a copy are not bounded below K = 150.
    ``activations`` as in :func:`copy_bytes`."""
    if torch.device(run.net.device).type != "cpu":
        return None
    if activations is None:
        activations = _activation_bytes(run)
    step = activations * run.net.batch_size
    return max(1, cache_bytes() // max(step, 1))


def chunk_sizes(n, per_copy, budget, most=None):
    """Sizes of the consecutive chunks a group of ``n`` copies is trained in: near-equal,
    each under ``budget`` bytes at ``per_copy`` bytes a copy and of at most ``most``
    copies (at least one copy per chunk)."""
    size = max(1, min(n, budget // max(per_copy, 1), most or n))
    n_chunks = -(-n // size)
    return [n // n_chunks + (1 if i < n % n_chunks else 0) for i in range(n_chunks)]

