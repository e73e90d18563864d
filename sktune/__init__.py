"""sktune: deep learning models as first-class scikit-learn estimators."""

from sktune._mlp import MLPClassifier, MLPRegressor
from sktune._search_space import search_space
from sktune.exceptions import TrainingDivergedError

__version__ = "0.1.0"

__all__ = ["MLPClassifier", "MLPRegressor", "TrainingDivergedError", "__version__", "search_space"]
