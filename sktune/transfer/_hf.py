"""Loading a Hugging Face model folder: offline, quietly, and never running its code.

A folder (or a cached hub name) is read with ``trust_remote_code=False`` everywhere:
one whose config names classes of its own (an ``auto_map``) is refused with a message
instead of transformers' interactive prompt, so no Python file from a model folder is
ever imported. Errors name the folder and what is missing in it.
"""

import os
from contextlib import contextmanager


@contextmanager
def hub_access(allowed):
    """The Hugging Face hub's offline mode, on while loading unless downloads are allowed.

    ``local_files_only=True`` alone still asks the hub about a name that is not a local
    folder (a DNS lookup at least); huggingface_hub reads this switch at call time.
    """
    if allowed:
        yield
        return
    from huggingface_hub import constants

    before = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = before


@contextmanager
def quiet_loading(quiet):
    """No "Loading weights" progress bar from transformers unless ``verbose``."""
    from transformers.utils import logging as hf_logging

    enabled = hf_logging.is_progress_bar_enabled()
    if quiet and enabled:
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if quiet and enabled:
            hf_logging.enable_progress_bar()


def check_model_location(model):
    """The location to load: a folder that exists and holds a ``config.json``, or a hub
    name. A path that is not there, or a folder that is not a model, says so."""
    if model is None:
        raise ValueError("model is required: a local Hugging Face model folder.")
    name = str(model)
    looks_like_path = (isinstance(model, os.PathLike) or name.startswith((".", "~", os.sep))
                       or name.count("/") > 1 or "\\" in name or os.path.isdir(name))
    if not looks_like_path:
        return name
    path = os.path.expanduser(name)
    if not os.path.isdir(path):
        raise ValueError(f"model={name!r}: no such directory. Pass a local folder holding a "
                         "Hugging Face model (config.json, weights, tokenizer files).")
    if not os.path.isfile(os.path.join(path, "config.json")):
        found = sorted(os.listdir(path))[:8]
        raise ValueError(f"model={name!r} is not a Hugging Face model folder: it has no "
                         f"config.json (it holds {found or 'nothing'}). Pass the folder that "
                         "holds config.json, the weights and the tokenizer files.")
    for config in ("config.json", "tokenizer_config.json"):
        if "auto_map" in _read_json(os.path.join(path, config)):
            # transformers would run the named classes' code with trust_remote_code=True,
            # or silently load a stock class in their place without it
            raise ValueError(_REMOTE_CODE.format(location=name) + f" ({config})")
    if not any(os.path.exists(os.path.join(path, f)) for f in _TOKENIZER_FILES):
        raise ValueError(f"model={name!r} holds no tokenizer files (one of "
                         f"{', '.join(_TOKENIZER_FILES)}): without them every word would be "
                         "unknown. Copy the model's tokenizer files into the folder.")
    return path


#: files one of which a Hugging Face tokenizer is read from
_TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "tokenizer.model",
                    "spiece.model", "sentencepiece.bpe.model")


def _read_json(path):
    import json

    try:
        with open(path) as f:
            content = json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path!r} is not readable JSON ({exc}).") from None
    return content if isinstance(content, dict) else {}


_REMOTE_CODE = ("model={location!r} asks to run Python code of its own (its config names "
                "classes through an 'auto_map'); sktune never runs code from a model folder. "
                "Use a model whose architecture ships with transformers.")


def _load(kind, cls, location, local_files_only, **kwargs):
    """``cls.from_pretrained`` with remote code refused and errors that name the folder."""
    try:
        return cls.from_pretrained(location, local_files_only=local_files_only,
                                   trust_remote_code=False, **kwargs)
    except ValueError as exc:
        if "trust_remote_code" in str(exc):
            raise ValueError(_REMOTE_CODE.format(location=location)) from None
        raise _explained(kind, location, exc) from exc
    except OSError as exc:
        if local_files_only and not os.path.isdir(location):
            raise ValueError(
                f"model={location!r} is neither a local folder nor a model in the local "
                "Hugging Face cache, and local_files_only=True forbids downloading it (set "
                "local_files_only=False to allow that).") from exc
        raise _explained(kind, location, exc) from exc
    except Exception as exc:  # noqa: BLE001 - e.g. safetensors' error on a truncated file
        raise _explained(kind, location, exc) from exc


def _explained(kind, location, exc):
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return ValueError(f"model={location!r}: its {kind} could not be loaded: a file is "
                      f"missing, truncated or of another version ({type(exc).__name__}: "
                      f"{first[:200]})")


def load_tokenizer(model, local_files_only):
    """The folder's tokenizer (``AutoTokenizer``) and its model config."""
    from transformers import AutoConfig, AutoTokenizer

    location = check_model_location(model)
    with hub_access(not local_files_only):
        config = _load("config", AutoConfig, location, local_files_only)
        tokenizer = _load("tokenizer", AutoTokenizer, location, local_files_only)
    return tokenizer, config


def load_encoder(model, local_files_only, quiet=True):
    """The folder's encoder (``AutoModel``) with its pretrained weights."""
    from transformers import AutoModel

    location = check_model_location(model)
    with hub_access(not local_files_only), quiet_loading(quiet):
        return _load("weights", AutoModel, location, local_files_only)
