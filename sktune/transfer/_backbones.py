"""Turning the ``backbone`` / ``weights`` hyperparameters into a torch module.

A backbone may be a fitted sktune estimator (its trained network without its head,
as its module's :class:`~sktune.nn.Headed` ``without_head()`` defines it), a
``torch.nn.Module`` or a callable returning one (used as given: the module maps inputs
to embeddings), or a model name resolved through torchvision or timm (its
classification layer removed). ``weights`` loads a state dict from a ``.safetensors``
file or a torch file read with ``weights_only=True`` — never unpickled code — or, for a
named model, names its pretrained weights (downloaded only if the user asks for them).
"""

import copy
import pickle
import warnings
from pathlib import Path

import torch
from sklearn.base import clone
from torch import nn

from sktune._base import BaseNeuralEstimator
from sktune._compat import unwrap_frozen
from sktune.nn import Headed, strip_head

#: the numpydoc entries of the parameters every estimator with a backbone takes
BACKBONE_DOC = """\
    backbone : sktune estimator, torch.nn.Module, callable or str
        The pretrained network. A *fitted sktune estimator* lends its trained network
        without its head (a CNN the pooled features of every conv block, concatenated;
        an RNN its pooled recurrent states; an MLP everything but the output layer) and
        its own input handling (images, signals, ragged sequences, token ids): train on
        task A, fine-tune on task B. A *module* (or a callable returning one) is used as
        given: it maps inputs to embeddings. A *name* is resolved through torchvision or
        timm, with the classification layer removed.
    weights : str, path or None
        For a module: a ``.safetensors`` file or a torch state dict (loaded with
        ``weights_only=True``). For a name: the pretrained weights to use (e.g.
        ``"DEFAULT"``; downloaded by torchvision only when given); their resize and
        normalisation are then applied to the input.
"""

#: the numpydoc entries of how its input reaches the backbone
BACKBONE_INPUT_DOC = """\
    input_shape : tuple of int or None
        Reshape flat rows to this per-sample shape (e.g. ``(3, 32, 32)``).
    input_size : tuple of int or None
        Resize images to (H, W) before the backbone.
    normalize_mean, normalize_std : tuple of float or None
        Per-channel image normalisation (overrides a named model's).
"""

_WEIGHTS_FORMATS = ("a .safetensors file, or a torch state dict saved with "
                    "torch.save(module.state_dict(), path)")


def load_state_dict(path):
    """Read a state dict from ``.safetensors`` or a torch file (``weights_only=True``: a
    file that needs unpickling arbitrary objects is refused, never loaded)."""
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise ValueError(f"weights file {name!r} does not exist.")
    if not path.is_file():
        raise ValueError(f"weights={name!r} is a folder, not a weights file: pass "
                         f"{_WEIGHTS_FORMATS}.")
    if path.suffix in (".npy", ".npz"):
        raise ValueError(f"weights file {name!r} is a numpy file, not a state dict: pass "
                         f"{_WEIGHTS_FORMATS}.")
    if path.stat().st_size == 0:
        raise ValueError(f"weights file {name!r} is empty (0 bytes): an interrupted "
                         "download or copy? Pass " + _WEIGHTS_FORMATS + ".")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(name, device="cpu")
        else:
            with warnings.catch_warnings():  # the error below says more than this note
                warnings.filterwarnings("ignore", message="Detected pickle protocol")
                state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise ValueError(
            f"weights file {name!r} holds pickled Python objects beyond tensors (a whole "
            "model, or a training checkpoint), which sktune does not unpickle: unpickling "
            "can run arbitrary code. Save the weights alone, with "
            "torch.save(module.state_dict(), path), or as .safetensors.") from None
    except Exception as exc:  # noqa: BLE001 - the readers' messages name no file
        first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else ""
        raise ValueError(
            f"weights file {name!r} could not be read as "
            f"{'safetensors' if path.suffix == '.safetensors' else 'a torch state dict'}: "
            f"it is truncated, or in another format ({type(exc).__name__}: {first}). "
            f"Pass {_WEIGHTS_FORMATS}.") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor)
                                              for v in state.values()):
        raise ValueError(f"{name!r} does not hold a state dict (a mapping of names to "
                         f"tensors); pass {_WEIGHTS_FORMATS}.")
    return state


def load_weights(module, path):
    """Load the state dict at ``path`` into ``module``; a mismatch names the file."""
    state = load_state_dict(path)
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        lines = [line.strip() for line in str(exc).splitlines()[1:] if line.strip()]
        raise ValueError(f"weights file {str(path)!r} does not fit the backbone module: "
                         f"{'; '.join(lines)[:400]}") from None


def _named_model(name, weights):
    """torchvision's ``get_model`` (or timm's ``create_model``) with its head removed."""
    try:
        import torchvision
    except ImportError:
        torchvision = None
    if torchvision is not None and name in torchvision.models.list_models():
        model = torchvision.models.get_model(name, weights=weights)
        preprocessing = {}
        if weights is not None:
            transform = torchvision.models.get_model_weights(name).verify(weights).transforms()
            preprocessing = {"mean": transform.mean, "std": transform.std,
                             "input_size": tuple(transform.crop_size) * (
                                 2 if len(transform.crop_size) == 1 else 1)}
        return model, preprocessing
    try:
        import timm
    except ImportError:
        raise ValueError(f"backbone={name!r} is not a torchvision model name and timm is "
                         "not installed (from the repository: pip install -e '.[vision]')."
                         ) from None
    model = timm.create_model(name, pretrained=weights is not None)
    config = model.pretrained_cfg if weights is not None else {}
    preprocessing = {k: config[c] for k, c in [("mean", "mean"), ("std", "std")] if c in config}
    return model, preprocessing


def resolve_backbone(spec, weights=None):
    """Return ``(backbone_module, preprocessing, source_estimator_or_None)``."""
    spec = unwrap_frozen(spec)  # sklearn.frozen: a fitted model, kept fitted
    if spec is None:
        raise ValueError("backbone is required: a fitted sktune estimator, a torch module "
                         "(or a callable returning one), or a torchvision/timm model name.")
    if isinstance(spec, BaseNeuralEstimator):
        if not hasattr(spec, "net_"):
            raise ValueError("backbone is an unfitted sktune estimator; fit it first.")
        module = copy.deepcopy(spec.net_.module_).cpu()
        body = module.without_head() if isinstance(module, Headed) else strip_head(module)[0]
        return body, {}, spec
    if isinstance(spec, str):
        if Path(spec).suffix in (".pt", ".pth", ".safetensors", ".bin"):
            raise ValueError(f"backbone={spec!r} looks like a weights file: pass the "
                             "architecture as backbone and the file as weights=.")
        model, preprocessing = _named_model(spec, weights)
        return strip_head(model)[0], preprocessing, None
    if isinstance(spec, nn.Module):
        module = copy.deepcopy(spec)
    elif callable(spec):
        module = spec()
        if not isinstance(module, nn.Module):
            raise ValueError(f"backbone() returned {type(module).__name__}, not a torch module.")
    else:
        raise ValueError(f"backbone={spec!r} is not an estimator, module, callable or name.")
    if weights is not None:
        load_weights(module, weights)
    return module, {}, None


def source_estimator(backbone):
    """The fitted sktune estimator behind ``backbone`` (unwrapping FrozenEstimator), or None."""
    backbone = unwrap_frozen(backbone)
    if not isinstance(backbone, BaseNeuralEstimator):
        return None
    if not hasattr(backbone, "net_"):
        raise ValueError("backbone is an unfitted sktune estimator; fit it first.")
    return backbone


def load_backbone(est):
    """The backbone module of ``est`` and its preprocessing; the estimator's own settings
    (``input_size``, ``normalize_mean``, ``normalize_std``) win over a named model's."""
    backbone, preprocessing, _ = resolve_backbone(est.backbone, est.weights)
    own = {"input_size": est.input_size, "mean": est.normalize_mean, "std": est.normalize_std}
    return backbone, {**preprocessing, **{k: v for k, v in own.items() if v is not None}}


def clone_sharing_backbone(est):
    """A clone of ``est`` with every parameter cloned except the backbone, which is shared
    as it is (the ``__sklearn_clone__`` of the estimators that take one).

    scikit-learn's ``clone`` would otherwise reset a fitted sktune backbone to an
    unfitted copy inside every search, losing what it learned.
    """
    params = est.get_params(deep=False)
    backbone = params.pop("backbone")
    return type(est)(backbone=backbone, **{k: clone(v, safe=False) for k, v in params.items()})
