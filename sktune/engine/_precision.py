"""Mixed precision: the forward pass and its backward in bfloat16 (or float16) while the
weights, their gradients, the optimizer state and the loss stay float32.

``precision="bf16-mixed"`` runs each training step's forward pass under
:func:`torch.autocast` with ``dtype=torch.bfloat16``: matrix products and convolutions
(``linear``, ``bmm``/``baddbmm`` of the stacked copies, ``conv1d``/``conv2d``, grouped
convolutions) compute in bfloat16 — oneDNN's AVX512-BF16 / AMX kernels on the CPU,
tensor cores on a GPU — while autocast keeps reductions, normalisation statistics and
the loss in float32. bfloat16 has float32's exponent range, so no loss scaling is
needed. ``"16-mixed"`` (CUDA only) uses float16 with a loss scaler
(:class:`torch.amp.GradScaler`), as PyTorch's automatic mixed precision recipe does.
Validation, early stopping and predictions run in float32 from the float32 weights.
These are Lightning's names for the same recipes.
"""

import warnings
from contextlib import nullcontext

import torch

from sktune._compat import cpu_has_native_bf16

#: precision -> the autocast dtype of training steps (None: the network's own dtype)
PRECISIONS = {"full": None, "bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}


def native_bf16(device):
    """Whether ``device`` computes bfloat16 matrix products in hardware (AVX512-BF16 or
    AMX on an x86 CPU, compute capability 8 and newer on CUDA)."""
    dev = torch.device(device)
    if dev.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    if dev.type == "cpu":
        return cpu_has_native_bf16()
    return dev.type == "mps"


def check_precision(precision, device, dtype):
    """Refuse what a precision cannot do on ``device`` and ``dtype`` (a ValueError that
    says what to use instead); warn when bfloat16 would only be emulated."""
    if precision == "full":
        return
    if dtype != torch.float32:
        raise ValueError(f"precision={precision!r} keeps float32 master weights: it needs "
                         f"dtype='float32' or 'auto', got a {dtype} network (dtype="
                         "'float64' trains in full float64 precision).")
    kind = torch.device(device).type
    if precision == "16-mixed" and kind != "cuda":
        raise ValueError(f"precision='16-mixed' (float16 with loss scaling) needs a CUDA "
                         f"device, not {device!r}; use precision='bf16-mixed' on the CPU.")
    if precision == "bf16-mixed" and not native_bf16(device):
        warnings.warn(f"precision='bf16-mixed': this {kind.upper()} has no native bfloat16 "
                      "arithmetic (AVX512-BF16 or AMX; compute capability 8 on CUDA), so "
                      "bfloat16 is emulated and likely slower than float32.",
                      RuntimeWarning, stacklevel=6)


def autocast(device, precision):
    """The context of a training step's forward pass: autocast to the precision's dtype,
    or nothing for ``"full"``."""
    dtype = PRECISIONS[precision]
    if dtype is None:
        return nullcontext()
    return torch.autocast(torch.device(device).type, dtype=dtype)


def loss_scaler(device, precision):
    """A :class:`torch.amp.GradScaler` for ``"16-mixed"``, else None."""
    if precision != "16-mixed":
        return None
    return torch.amp.GradScaler(torch.device(device).type)
