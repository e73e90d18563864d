"""A fitted estimator as a torch file that loads without sktune: a TorchScript module
(``torch.jit.load``) or an exported program (``torch.export.load``, the format torch
recommends now that it deprecates TorchScript)."""

import json
import os
import warnings

import numpy as np
import torch
from sklearn.base import is_classifier
from torch import nn

from sktune.export._module import NotExportableError, export_module, sample_shape

#: the name of the JSON metadata stored inside the file (``torch.jit.load``'s
#: ``_extra_files``)
METADATA_FILE = "sktune.json"


class _Classifier(nn.Module):
    """``forward(x) -> (prediction, proba)``: class indices into ``classes`` (an
    indicator matrix for multilabel models) and ``predict_proba``."""

    def __init__(self, module, multilabel):
        super().__init__()
        self.module, self.multilabel = module, multilabel

    def forward(self, x):
        proba = self.module(x)
        if self.multilabel:
            return (proba > 0.5).long(), proba
        return proba.argmax(dim=1), proba


class _Regressor(nn.Module):
    """``forward(x) -> predict(x)``: 1-D for one output, ``(n, n_outputs)`` otherwise."""

    def __init__(self, module, single):
        super().__init__()
        self.module, self.single = module, single

    def forward(self, x):
        values = self.module(x)
        return values[:, 0] if self.single else values


def _json_labels(classes):
    """``classes_`` as JSON values (numpy scalars to Python ones)."""
    return [c.item() if isinstance(c, np.generic) else c for c in np.asarray(classes).tolist()]


def metadata(est, module):
    """What a server needs besides the module: labels, input shape and dtype."""
    info = {
        "format": "sktune-torchscript/1",
        "estimator": type(est).__name__,
        "task": "classifier" if is_classifier(est) else "regressor",
        "input_shape": [None, *sample_shape(est)],
        "input_dtype": str(module.members[0].prepare.dtype).replace("torch.", ""),
    }
    if is_classifier(est):
        info["classes"] = _json_labels(est.classes_)
        info["multilabel"] = est._target_kind_ == "multilabel"
        info["outputs"] = ("(prediction, proba): prediction indexes classes (an indicator "
                           "matrix if multilabel); proba is predict_proba")
    else:
        info["n_outputs"] = int(est.n_outputs_)
        info["outputs"] = "predict: 1-D for one output, (n, n_outputs) otherwise"
    return info


def to_torchscript(estimator, path=None):
    """Save a fitted sktune estimator as a TorchScript module that needs only torch.

    The module holds the estimator's whole prediction: the input layout of fit (flat
    pixels to images, channels last to first, tables to sequences), the network in
    evaluation mode and the output decoding. ``torch.jit.load(path)`` returns it:

    - classifiers: ``prediction, proba = module(x)``, ``proba`` is ``predict_proba(x)``
      and ``prediction`` the index of the predicted class in ``classes`` (the
      indicator matrix ``predict`` returns, for multilabel models);
    - regressors: ``module(x)`` is ``predict(x)``.

    ``x`` is a float tensor of the shape ``predict`` takes, any batch size. The classes,
    input shape and dtype are stored in the file as JSON: read them with
    ``files = {"sktune.json": ""}; torch.jit.load(path, _extra_files=files)``.

    Parameters
    ----------
    estimator : fitted sktune estimator
        An MLP, CNN, RNN or fine-tuner fitted on fixed-layout float input (a scikit-learn
        Pipeline's preprocessing cannot be scripted: convert pipelines to ONNX).
    path : str or path-like, default=None
        Where to save the module; None only returns it.

    Returns
    -------
    module : torch.jit.ScriptModule
        The traced module.

    Raises
    ------
    NotExportableError
        For the estimators and inputs that have no export path (the message says why).
    """
    wrapped, example, info = _prepared(estimator)
    with warnings.catch_warnings():  # TracerWarnings on shape checks fixed at fit; torch
        warnings.simplefilter("ignore")  # 2.13 deprecates TorchScript (see to_exported_program)
        traced = torch.jit.trace(wrapped, example, check_trace=False)
        if path is not None:
            torch.jit.save(traced, os.fspath(path), _extra_files={METADATA_FILE: json.dumps(info)})
    return traced


def to_exported_program(estimator, path=None, *, steps=None):
    """Save a fitted sktune estimator as a ``torch.export`` program (a ``.pt2`` file).

    The same module as :func:`to_torchscript` (input layout, network, decoding), in the
    format torch recommends now that it deprecates TorchScript:
    ``torch.export.load(path).module()(x)`` returns what the TorchScript module returns.
    The batch axis is dynamic. The time axis of an RNN fitted on 3-D sequences is not:
    ``torch.export`` unrolls the recurrence over a fixed number of steps, given as
    ``steps`` (TorchScript and ONNX keep that axis dynamic). The JSON metadata is stored
    as ``extra_files`` (read it with
    ``files = {"sktune.json": ""}; torch.export.load(path, extra_files=files)``).

    Parameters
    ----------
    estimator : fitted sktune estimator
        As for :func:`to_torchscript`.
    path : str or path-like, default=None
        Where to save the program; None only returns it.
    steps : int, default=None
        The sequence length the program takes, for RNNs fitted on 3-D sequences (which
        read any length); other estimators take the layout of fit and refuse it.

    Returns
    -------
    program : torch.export.ExportedProgram
        The exported program.

    Raises
    ------
    NotExportableError
        For the estimators and inputs that have no export path (the message says why).
    """
    wrapped, example, info = _prepared(estimator)
    shape = sample_shape(estimator)
    if (None in shape) != (steps is not None):
        raise NotExportableError(
            f"{type(estimator).__name__} reads sequences of any length, but torch.export "
            "unrolls the recurrence over a fixed number of steps: pass steps=T, the length "
            "you will serve (TorchScript and ONNX keep the time axis dynamic)."
            if steps is None else
            f"steps={steps!r}: {type(estimator).__name__} takes rows of shape {shape}, "
            "fixed in fit; steps is for RNNs fitted on 3-D sequences.")
    if steps is not None:
        time_axis = 1 + shape.index(None)
        example = torch.zeros(example.shape[:time_axis] + (int(steps),)
                              + example.shape[time_axis + 1:], dtype=example.dtype)
        info["input_shape"][time_axis] = int(steps)
    program = torch.export.export(wrapped, (example,),
                                  dynamic_shapes={"x": {0: torch.export.Dim("batch")}})
    if path is not None:
        torch.export.save(program, os.fspath(path), extra_files={METADATA_FILE: json.dumps(info)})
    return program


def _prepared(estimator):
    """``(module with decoding, example input, metadata)`` for both formats."""
    if hasattr(estimator, "steps") or hasattr(estimator, "transformers"):
        raise NotExportableError(
            f"{type(estimator).__name__}: a torch file holds a torch module, not scikit-learn "
            "preprocessing; convert the pipeline to ONNX (skl2onnx.to_onnx), or export its "
            "last step and apply the rest in Python.")
    module = export_module(estimator)
    if is_classifier(estimator):
        wrapped = _Classifier(module, estimator._target_kind_ == "multilabel")
    else:
        wrapped = _Regressor(module, int(estimator.n_outputs_) == 1)
    shape = sample_shape(estimator)
    example = torch.zeros((2,) + tuple(3 if s is None else s for s in shape),
                          dtype=module.members[0].prepare.dtype)
    return wrapped.eval(), example, metadata(estimator, module)
