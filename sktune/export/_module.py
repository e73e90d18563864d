"""A fitted estimator as one plain torch module: input preparation, network, decoding.

Both exporters (ONNX through :mod:`skl2onnx`, TorchScript) start from
:func:`export_module`: a :class:`torch.nn.Module` that takes the rows ``predict`` takes
(a float array of the layout seen in fit, any batch size), lays them out as the network
reads them, runs the network in evaluation mode and returns what ``predict_proba``
(classifiers) or ``predict`` (regressors, before a single output is flattened) returns.

How the rows are laid out is read from the estimator itself, not re-implemented: the
estimator's own input check (``_check_X``) is run once on an array of flat positions
``0, 1, 2, ...`` in the fitted sample shape, and what comes out says where each input
value goes (a reshape, a channels-last transpose, flat pixels to images, a table to
univariate sequences). So a family's input handling has one definition, the one
``predict`` uses.
"""

import copy
import warnings

import numpy as np
import torch
from torch import nn

from sktune._base import BaseNeuralEstimator
from sktune._compat import unwrap_frozen
from sktune._text import TextSequencer
from sktune.transfer import PretrainedEmbedder, TransformerClassifier, TransformerRegressor


class NotExportableError(ValueError):
    """The estimator (or the input it was fitted on) has no export path; the message
    says why and what to use instead."""


_HUGGING_FACE = (
    "a Hugging Face text model reads strings through its tokenizer, outside the "
    "network. Export the network alone with torch.onnx.export: est.net_.module_ takes "
    "(input_ids, attention_mask) as est.tokenizer_ returns them and gives the head's "
    "outputs (logits; a softmax or sigmoid gives predict_proba); Hugging Face's own "
    "exporters (optimum) cover the encoder, est.net_.module_.encoder.")

#: the estimators no exporter covers, with why and what to use instead
_REFUSED = {
    TextSequencer: (
        "it turns raw strings into token ids in Python (a regular expression and a "
        "vocabulary), which neither an ONNX graph nor a TorchScript module holds, and the "
        "networks that read token ids are not exported either. Serve text pipelines by "
        "pickling them (joblib), or fine-tune a Hugging Face encoder with "
        "TransformerClassifier, whose network exports on its tokenizer's outputs (see "
        "its message)."),
    TransformerClassifier: _HUGGING_FACE,
    TransformerRegressor: _HUGGING_FACE,
    PretrainedEmbedder: (
        "it is a transformer whose backbone is a user's torch module or a named "
        "torchvision/timm model: export that module itself with torch.onnx.export (or a "
        "Hugging Face model with its own exporter)."),
}


def check_exportable(est):
    """Raise :class:`NotExportableError` unless ``est`` is a fitted sktune estimator whose
    prediction is one network (or, for a fine-tuner, two averaged) over fixed-layout
    float input."""
    name = type(est).__name__
    for cls, reason in _REFUSED.items():
        if isinstance(est, cls):
            raise NotExportableError(f"{name} cannot be exported to ONNX or TorchScript: "
                                     f"{reason}")
    if not isinstance(est, BaseNeuralEstimator):
        raise NotExportableError(f"{name} is not an sktune network estimator.")
    if not hasattr(est, "net_"):
        raise NotExportableError(f"This {name} is not fitted yet; fit it before exporting.")
    reader = input_reader(est)
    if getattr(reader, "input_kind_", None) == "tokens":
        raise NotExportableError(
            f"{name} was fitted on token ids, which it maps to embedding rows through the "
            "vocabulary seen in fit and reads up to each row's last non-zero id (a "
            "variable length): the exporters cover fixed-length float input only. Serve "
            "text models by pickling them.")
    if getattr(reader, "_masked_", False):
        raise NotExportableError(
            f"{name} was fitted on a list of variable-length signals, which it masks by "
            "length: the exporters take fixed-length arrays. Pad or cut the signals to one "
            "length, fit on the (n, C, L) or (n, L) array, and export that model.")


def input_reader(est):
    """The estimator whose input check reads ``est``'s rows: a fine-tuner's fitted sktune
    backbone, else ``est`` itself."""
    backbone = unwrap_frozen(getattr(est, "backbone", None))
    if isinstance(backbone, BaseNeuralEstimator) and hasattr(backbone, "net_"):
        return input_reader(backbone)
    return est


def sample_shape(est):
    """The shape of one input row, as ``predict`` takes it; ``None`` for an axis of any
    length (the time axis of an RNN fitted on 3-D or ragged sequences)."""
    reader = input_reader(est)
    kind = getattr(reader, "_sequence_layout_", None)
    if kind == "sequences":  # RNN: (C, T) or, fitted channels-last, (T, C) for any T
        channels = int(reader.n_step_features_)
        return (None, channels) if reader.channels_last_ else (channels, None)
    if kind == "table":  # RNN on (n, T) univariate sequences: T is n_features_in_
        return (int(reader.n_features_in_),)
    shape = getattr(reader, "_sample_shape_", None)
    return tuple(int(s) for s in shape) if shape is not None else (int(reader.n_features_in_),)


def _layout(est, shape):
    """``(network sample shape, gather index or None)`` for rows of ``shape`` (no
    ``None``): where each input value lands, read off ``est._check_X``."""
    positions = np.arange(int(np.prod(shape)), dtype=np.float64).reshape((1,) + shape)
    reader = input_reader(est)
    had, normalize = "normalize_" in vars(reader), vars(reader).get("normalize_")
    try:  # the layout alone: the series scaling is _Normalize's, after it
        reader.normalize_ = None
        with warnings.catch_warnings():  # fitted on a DataFrame: a plain array warns
            warnings.simplefilter("ignore")
            laid_out = est._check_X(positions)
    finally:
        if had:
            reader.normalize_ = normalize
        else:
            del reader.normalize_
    if isinstance(laid_out, tuple):  # (padded, lengths): excluded by check_exportable
        raise NotExportableError(f"{type(est).__name__} reads these rows as variable-length "
                                 "sequences, which the exporters do not cover.")
    laid_out = np.asarray(laid_out)
    index = laid_out.reshape(-1).astype(np.int64)
    if not np.array_equal(np.sort(index), np.arange(index.size)):
        raise NotExportableError(f"{type(est).__name__}'s input preparation is not a "
                                 "rearrangement of the input values; it cannot be exported.")
    identity = np.array_equal(index, np.arange(index.size))
    return tuple(laid_out.shape[1:]), None if identity else torch.from_numpy(index)


class _Normalize(nn.Module):
    """The series scaling of ``normalize_`` (:func:`sktune._sequences.normalize_series`)
    on the network's layout, in float64 as there: ``"series"`` per series and channel,
    ``"global"`` by the training moments; ``time_axis`` 2 for a CNN's ``(n, C, L)``
    signals, 1 for an RNN's ``(n, T, C)`` steps."""

    def __init__(self, reader, time_axis):
        super().__init__()
        self.mode, self.time_axis = getattr(reader, "normalize_", None), time_axis
        mean = std = None
        if self.mode == "global":  # (1, 1, C) moments of time-major steps
            mean, std = (torch.as_tensor(np.asarray(m, dtype=np.float64))
                         for m in reader._series_moments_)
            if time_axis == 2:
                mean, std = mean.transpose(1, 2), std.transpose(1, 2)
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    def forward(self, x):
        if self.mode is None:
            return x
        data = x.to(torch.float64)
        if self.mode == "series":
            mean = data.mean(dim=self.time_axis, keepdim=True)
            std = (data - mean).square().mean(dim=self.time_axis, keepdim=True).sqrt()
            tiny = (std <= 1e-7 * mean.abs().clamp_min(np.finfo(np.float64).tiny)) | (std == 0)
            std = torch.where(tiny, torch.ones_like(std), std)
        else:
            mean, std = self.mean, self.std
        return ((data - mean) / std).to(x.dtype)


class _Prepare(nn.Module):
    """Rows as ``predict`` takes them -> the network's layout, scale and dtype."""

    def __init__(self, est):
        super().__init__()
        shape = sample_shape(est)
        self.dtype = torch.float64 if est._dtype_ == np.float64 else torch.float32
        # RNN over (n, C, T) or (n, T, C) of any T: steps time-major, as the network reads
        self.to_time_major = None in shape and shape[0] is not None
        if None in shape:
            self.net_shape, index = (-1, next(s for s in shape if s is not None)), None
        else:
            self.net_shape, index = _layout(est, shape)
        self.register_buffer("index", index)
        reader = input_reader(est)
        signal = getattr(reader, "input_kind_", None) == "signal"  # CNN: (n, C, L)
        self.normalize = _Normalize(reader, 2 if signal else 1)

    def forward(self, x):
        x = x.to(self.dtype)
        n = x.shape[0]
        if self.to_time_major:
            x = x.transpose(1, 2)
        if self.index is not None:
            x = x.reshape(n, -1).index_select(1, self.index)
        return self.normalize(x.reshape((n,) + tuple(self.net_shape)))


class _Network(nn.Module):
    """One estimator's rows -> ``predict_proba`` / ``predict`` values."""

    def __init__(self, est):
        super().__init__()
        self.prepare = _Prepare(est)
        self.network = _copy_for_inference(est.net_.module_)
        self.outputs = est._outputs()  # plain torch code: softmax, sigmoid, exp...

    def forward(self, x):
        return self.outputs.proba(self.network(self.prepare(x)))


class EstimatorModule(nn.Module):
    """The fitted estimator's prediction as a torch module: ``forward(x)`` returns
    ``predict_proba(x)`` for a classifier, the ``(n, n_outputs)`` predictions for a
    regressor. Several members (a fine-tuner and its model from scratch) are averaged,
    as ``predict_proba`` averages them."""

    def __init__(self, members):
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x):
        out = self.members[0](x)
        for member in self.members[1:]:
            out = out + member(x)
        return out / len(self.members) if len(self.members) > 1 else out


def export_module(est):
    """The fitted sktune estimator ``est`` as an :class:`EstimatorModule` (CPU, eval mode,
    no gradients), after :func:`check_exportable`."""
    check_exportable(est)
    members = [_Network(est)]
    scratch = getattr(est, "scratch_", None)
    if scratch is not None:  # FineTuneClassifier's member from scratch (ensemble_scratch)
        check_exportable(scratch)
        if not np.array_equal(scratch.classes_, est.classes_):
            raise NotExportableError("the member from scratch has other classes than the "
                                     "fine-tuned network; refit the estimator.")
        members.append(_Network(scratch))
    module = EstimatorModule(members).eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module


def _copy_for_inference(module):
    """A CPU copy of the trained network in evaluation mode (the estimator's own network
    stays where and as it is)."""
    module = copy.deepcopy(module).cpu().eval()
    # image networks keep channels-last weights for oneDNN; files store plain layouts
    # (torch.export.save otherwise saves strided views it warns about on load)
    for tensor in [*module.parameters(), *module.buffers()]:
        if not tensor.is_contiguous():
            tensor.data = tensor.data.contiguous()
    return module
