"""Pickling torch modules with their weights stored once, as plain numpy arrays.

skorch pickles a net's modules and optimizer with ``torch.save`` into one bytes blob
inside the pickle: loading then holds the blob and the tensors at once (twice the
weights), and the optimizer's state (two more copies for Adam) always travels along.
Here a module is split into a *skeleton* — the module object with every parameter and
buffer replaced by a shape-only ``meta`` tensor — and its tensors as numpy arrays,
which pickle (and joblib) write once and read back into memory that torch then uses
without copying. Tied parameters stay tied. CPU tensors are exported without a copy.
"""

import copy

import numpy as np
import torch


def _tensor_slots(module):
    """``(owner, kind, name, tensor)`` for every parameter and buffer slot, in a fixed
    order (tied tensors appear once per slot)."""
    for owner in module.modules():
        for kind in ("_parameters", "_buffers"):
            for name, tensor in getattr(owner, kind).items():
                if tensor is not None:
                    yield owner, kind, name, tensor


def _canonical_names(module):
    """id(tensor) -> the name of its first slot; tensors shared by slots share a name."""
    names = {}
    for i, (_, _, name, tensor) in enumerate(_tensor_slots(module)):
        names.setdefault(id(tensor), f"{i}.{name}")
    return names


def _to_numpy(tensor):
    """A CPU numpy view (no copy for CPU tensors); None for dtypes numpy lacks."""
    try:
        return tensor.detach().cpu().numpy()
    except TypeError:  # bfloat16 and other dtypes without a numpy equivalent
        return None


def module_to_state(module):
    """Split ``module`` into ``(skeleton, arrays)`` for pickling.

    ``skeleton`` is a copy of the module whose tensors are ``meta`` placeholders (no
    memory); ``arrays`` maps canonical slot names to numpy arrays (or tensors, for the
    rare dtypes numpy cannot hold).
    """
    names = _canonical_names(module)
    arrays, memo = {}, {}
    for _, _, _, tensor in _tensor_slots(module):
        key = names[id(tensor)]
        if key in arrays:
            continue
        array = _to_numpy(tensor)
        arrays[key] = array if array is not None else tensor.detach().cpu()
        meta = torch.empty_like(tensor, device="meta")
        memo[id(tensor)] = (torch.nn.Parameter(meta, requires_grad=tensor.requires_grad)
                            if isinstance(tensor, torch.nn.Parameter) else meta)
    return copy.deepcopy(module, memo), arrays


def state_to_module(skeleton, arrays, device="cpu"):
    """Rebuild the module saved by :func:`module_to_state`, its tensors on ``device``."""
    names = _canonical_names(skeleton)
    built = {}
    for owner, kind, name, meta in list(_tensor_slots(skeleton)):
        key = id(meta)
        if key not in built:
            value = arrays[names[key]]
            if isinstance(value, np.ndarray):
                if not value.flags.writeable:
                    value = value.copy()
                value = torch.from_numpy(value)
            value = value.to(device)
            if value.stride() != meta.stride():  # numpy wrote it C-ordered: a
                # channels-last weight gets its layout (and its kernels) back
                value = torch.empty_strided(meta.shape, meta.stride(), dtype=value.dtype,
                                            device=device).copy_(value)
            if isinstance(meta, torch.nn.Parameter):
                value = torch.nn.Parameter(value, requires_grad=meta.requires_grad)
            built[key] = value
        getattr(owner, kind)[name] = built[key]
    return skeleton


def tensors_to_numpy(obj):
    """Nested dicts/lists/tuples with tensors -> the same with numpy arrays (CPU)."""
    if isinstance(obj, torch.Tensor):
        array = _to_numpy(obj)
        return array if array is not None else obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: tensors_to_numpy(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(tensors_to_numpy(v) for v in obj)
    return obj


def numpy_to_tensors(obj, device="cpu"):
    """Inverse of :func:`tensors_to_numpy`."""
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(obj if obj.flags.writeable else obj.copy()).to(device)
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if isinstance(obj, dict):
        return {k: numpy_to_tensors(v, device) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(numpy_to_tensors(v, device) for v in obj)
    return obj
