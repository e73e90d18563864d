"""Resolve the ``device`` hyperparameter to a torch device string."""

import torch


def resolve_device(device):
    """Map ``'auto'``, ``'cpu'``, ``'cuda'``, ``'cuda:N'`` or ``'mps'`` to an available device.

    ``'auto'`` picks CUDA, then Apple's MPS, then the CPU. An explicit device that this
    machine lacks raises ``ValueError`` rather than silently training elsewhere.

    Parameters
    ----------
    device : str
        ``'auto'`` or a torch device name.

    Returns
    -------
    str
        The device to train on, e.g. ``'cpu'`` or ``'cuda:0'``.

    Examples
    --------
    >>> from sktune.engine import resolve_device
    >>> resolve_device("cpu")
    'cpu'
    """
    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        return "mps" if mps is not None and mps.is_available() else "cpu"
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"device={device!r} is not a torch device; use 'auto', 'cpu', 'cuda', "
            "'cuda:N' or 'mps'.") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device={device!r} was requested but CUDA is not available "
                             "on this machine; use device='auto' or 'cpu'.")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device={device!r} does not exist: this machine has "
                             f"{torch.cuda.device_count()} CUDA device(s).")
    elif dev.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(f"device={device!r} was requested but MPS is not available; "
                             "use device='auto' or 'cpu'.")
    elif dev.type != "cpu":
        raise ValueError(f"device={device!r} is not supported; use 'auto', 'cpu', "
                         "'cuda', 'cuda:N' or 'mps'.")
    return str(dev)
