"""sktune: deep learning models as first-class scikit-learn estimators."""

from sktune._cnn import CNNClassifier, CNNRegressor
from sktune._ensemble import SeedEnsembleClassifier, SeedEnsembleRegressor
from sktune._mlp import MLPClassifier, MLPRegressor
from sktune._recipes import tabular_mlp
from sktune._rnn import RNNClassifier, RNNRegressor
from sktune._text import TextSequencer, TokenIds
from sktune.exceptions import InputLayoutWarning, TrainingDivergedError
from sktune.export._hook import install as _install_onnx_converters
from sktune.model_selection import (
    dask_client,
    leaderboard,
    plot_learning_curves,
    plot_scores,
    preserve_thread_env,
    resilient_dask_backend,
    search_space,
)
from sktune.transfer import (
    FineTuneClassifier,
    FineTuneRegressor,
    PretrainedEmbedder,
    TransformerClassifier,
    TransformerRegressor,
)

__version__ = "0.1.0"

# skl2onnx converters, registered when skl2onnx is imported (not imported here: seconds)
_install_onnx_converters()

__all__ = [
    "CNNClassifier", "CNNRegressor", "FineTuneClassifier", "FineTuneRegressor",
    "InputLayoutWarning", "MLPClassifier", "MLPRegressor", "RNNClassifier",
    "PretrainedEmbedder", "RNNRegressor", "SeedEnsembleClassifier", "SeedEnsembleRegressor",
    "TextSequencer", "TokenIds",
    "TrainingDivergedError", "TransformerClassifier",
    "TransformerRegressor", "__version__", "dask_client",
    "leaderboard", "plot_learning_curves", "plot_scores", "preserve_thread_env",
    "resilient_dask_backend", "search_space", "tabular_mlp",
]
