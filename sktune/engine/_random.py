"""torch's random state around training: forked from the caller's, seeded per fit.

Every training loop of the engine (one network, stacked copies) and every network
initialisation draws from torch's global generator inside :func:`forked_rng`, so that a
fit never changes the random numbers its caller draws next.
"""

from contextlib import contextmanager

import torch


def _cuda_devices(device):
    dev = torch.device(device)
    return [dev.index or 0] if dev.type == "cuda" else []


@contextmanager
def forked_rng(device="cpu"):
    """Run the block on a fork of torch's random state (the CPU's and ``device``'s);
    the caller's state is restored on exit. Yields the CUDA device indices forked."""
    devices = _cuda_devices(device)
    with torch.random.fork_rng(devices=devices):
        yield devices


@contextmanager
def seeded(seed, device="cpu"):
    """Seed torch for this block and restore the caller's random state afterwards."""
    with forked_rng(device):
        torch.manual_seed(int(seed or 0))
        yield
