"""sktune: deep learning models as first-class scikit-learn estimators."""

from sktune._cnn import CNNClassifier, CNNRegressor
from sktune._embedder import PretrainedEmbedder
from sktune._finetune import FineTuneClassifier, FineTuneRegressor
from sktune._mlp import MLPClassifier, MLPRegressor
from sktune._rnn import RNNClassifier, RNNRegressor
from sktune._text import TextSequencer, TokenIds
from sktune._transformers import TransformerClassifier, TransformerRegressor
from sktune.exceptions import InputLayoutWarning, TrainingDivergedError
from sktune.model_selection import (
    dask_client,
    leaderboard,
    plot_learning_curves,
    plot_scores,
    preserve_thread_env,
    resilient_dask_backend,
    search_space,
)

__version__ = "0.1.0"

__all__ = [
    "CNNClassifier", "CNNRegressor", "FineTuneClassifier", "FineTuneRegressor", "InputLayoutWarning", "MLPClassifier", "MLPRegressor", "RNNClassifier",
    "PretrainedEmbedder", "RNNRegressor", "TextSequencer", "TokenIds", "TrainingDivergedError", "TransformerClassifier",
    "TransformerRegressor", "__version__", "dask_client",
    "leaderboard", "plot_learning_curves", "plot_scores", "preserve_thread_env",
    "resilient_dask_backend", "search_space",
]
