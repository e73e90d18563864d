"""A fitted estimator as a TorchScript file that loads with ``torch.jit.load`` alone."""

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
    if hasattr(estimator, "steps") or hasattr(estimator, "transformers"):
        raise NotExportableError(
            f"{type(estimator).__name__}: TorchScript holds a torch module, not scikit-learn "
            "preprocessing; convert the pipeline to ONNX (skl2onnx.to_onnx), or script its "
            "last step and apply the rest in Python.")
    module = export_module(estimator)
    if is_classifier(estimator):
        wrapped = _Classifier(module, estimator._target_kind_ == "multilabel")
    else:
        wrapped = _Regressor(module, int(estimator.n_outputs_) == 1)
    shape = sample_shape(estimator)
    example = torch.zeros((2,) + tuple(3 if s is None else s for s in shape),
                          dtype=module.members[0].prepare.dtype)
    with warnings.catch_warnings():  # TracerWarnings on shape checks fixed at fit
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(wrapped.eval(), example, check_trace=False)
    if path is not None:
        extra = {METADATA_FILE: json.dumps(metadata(estimator, module))}
        torch.jit.save(traced, os.fspath(path), _extra_files=extra)
    return traced
