"""Export fitted sktune estimators for serving without sktune: ONNX and TorchScript.

- **ONNX** (``pip install "sktune[onnx]"``): ``skl2onnx.to_onnx(model, X[:1])`` converts a
  fitted MLP, CNN, RNN or fine-tuner, or a Pipeline / ColumnTransformer ending in one,
  as it converts scikit-learn's own estimators; onnxruntime then serves it. The
  converters are registered when skl2onnx is imported (``import sktune`` sets that up at
  the cost of one lookup, :mod:`sktune.export._hook`); nothing else to call.
- **TorchScript**: :func:`to_torchscript` saves an estimator as one module, input
  layout and output decoding included, that ``torch.jit.load`` reads without sktune.
- :func:`to_exported_program` saves the same module as a ``torch.export`` program
  (``torch.export.load``), the format torch recommends now that it deprecates TorchScript.
- :func:`export_module` gives that module itself, for ``torch.export`` or your own
  tooling.

See docs/deploy.md for the recipes and the limits.
"""

from sktune.export._module import EstimatorModule, NotExportableError, export_module
from sktune.export._torch import METADATA_FILE, to_exported_program, to_torchscript


def register_onnx_converters(*classes):
    """Register sktune's skl2onnx converters now, and for ``classes`` too.

    Not needed for sktune's own estimators (they are registered when skl2onnx is
    imported); needed for your subclasses of them, since skl2onnx looks converters up by
    exact class: ``register_onnx_converters(MyMLPClassifier)``.

    Parameters
    ----------
    *classes : type
        Subclasses of sktune's exportable estimators.
    """
    from sktune.export import _onnx

    _onnx.register(classes)


__all__ = ["EstimatorModule", "METADATA_FILE", "NotExportableError", "export_module",
           "register_onnx_converters", "to_exported_program", "to_torchscript"]

