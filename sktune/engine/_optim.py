"""Solver names -> torch optimizers, with the fastest implementation the device has."""

import importlib

import torch

#: solver name -> (optimizer class, supports ``fused=True``)
SOLVERS = {
    "adam": (torch.optim.Adam, True),
    "adamw": (torch.optim.AdamW, True),
    "sgd": (torch.optim.SGD, True),
    "rmsprop": (torch.optim.RMSprop, False),
}


def optimizer_spec(solver, *, momentum=0.9, nesterovs_momentum=True, beta_1=0.9,
                   beta_2=0.999, epsilon=1e-8, device="cpu"):
    """Return ``(optimizer_class, kwargs)`` for a scikit-learn style solver description.

    ``momentum`` and ``nesterovs_momentum`` apply to ``"sgd"``; ``beta_1``, ``beta_2``
    and ``epsilon`` to the Adam family; ``epsilon`` also to ``"rmsprop"``.

    Parameters
    ----------
    solver : {"adam", "adamw", "sgd", "rmsprop"}
        A key of :data:`SOLVERS`.
    momentum : float, default=0.9
        Momentum of ``"sgd"``.
    nesterovs_momentum : bool, default=True
        Nesterov momentum for ``"sgd"`` (when ``momentum > 0``).
    beta_1 : float, default=0.9
        First-moment decay of the Adam family.
    beta_2 : float, default=0.999
        Second-moment decay of the Adam family.
    epsilon : float, default=1e-8
        Numerical stability term of the Adam family and ``"rmsprop"``.
    device : str, default="cpu"
        Device of the parameters: the fused implementation where it has one, else the
        ``foreach`` one off the CPU.

    Returns
    -------
    optimizer_class : type
        A ``torch.optim.Optimizer`` subclass.
    kwargs : dict
        Its keyword arguments besides the parameters and the learning rate.

    Examples
    --------
    >>> from sktune.engine import optimizer_spec
    >>> cls, kwargs = optimizer_spec("sgd", momentum=0.5)
    >>> cls.__name__, kwargs["momentum"], kwargs["nesterov"]
    ('SGD', 0.5, True)
    """
    try:
        cls, fusable = SOLVERS[solver]
    except KeyError:
        raise ValueError(
            f"solver={solver!r} is not available; choose one of {sorted(SOLVERS)}."
        ) from None
    if solver in ("adam", "adamw"):
        kwargs = {"betas": (beta_1, beta_2), "eps": epsilon}
    elif solver == "sgd":
        kwargs = {"momentum": momentum, "nesterov": bool(nesterovs_momentum and momentum > 0)}
    else:
        kwargs = {"eps": epsilon}
    device_type = torch.device(device).type
    if fusable and device_type in ("cpu", "cuda", "mps"):
        kwargs["fused"] = True
    else:
        kwargs["foreach"] = device_type != "cpu"
    return cls, kwargs


_COMPILER_READY = False
_import_module = importlib.import_module  # tests interrupt it


def import_torch_compiler():
    """Import ``torch._dynamo`` once, deferring a Ctrl-C until the import completes.

    torch imports its compiler lazily, the first time an optimizer is created (about 2 s
    in a fresh process). A ``KeyboardInterrupt`` half-way through that import leaves a
    half-initialised module in ``sys.modules``, and every later fit in the session then
    fails inside torch ("partially initialized module 'torch._dynamo'"). Called before
    the engine creates an optimizer; in the main thread, a SIGINT that arrives during
    the import goes to the process's handler right after it (Python's raises
    ``KeyboardInterrupt``; an ignored SIGINT stays ignored).
    """
    global _COMPILER_READY
    if _COMPILER_READY:
        return
    import signal
    import threading

    pending = []
    previous = (signal.getsignal(signal.SIGINT)
                if threading.current_thread() is threading.main_thread() else None)
    defer = callable(previous)  # a Python handler (not SIG_IGN / SIG_DFL, not a thread)
    if defer:
        signal.signal(signal.SIGINT, lambda *args: pending.append(args))
    try:
        _import_module("torch._dynamo")
        _COMPILER_READY = True
    finally:
        if defer:
            signal.signal(signal.SIGINT, previous)
    if pending:
        previous(*pending[0])  # Python's default handler raises KeyboardInterrupt
