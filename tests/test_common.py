"""scikit-learn's estimator checks over every public estimator."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from torch import nn

from sktune import (
    CNNClassifier, CNNRegressor, FineTuneClassifier, FineTuneRegressor, MLPClassifier,
    MLPRegressor, PretrainedEmbedder, RNNClassifier, RNNRegressor, TextSequencer,
)

# Mini-batch SGD cannot make a weight of 2 identical to a repeated row: the two land
# in different batches (and batch statistics differ), so fitted weights differ even
# though the objectives agree in expectation. scikit-learn exempts its own SGD-based
# estimators (SGDClassifier, SGDRegressor, Perceptron...) with the same reason.
_SAMPLE_WEIGHT_REASON = "sample_weight is not equivalent to removing/repeating samples."
EXPECTED_FAILED = {
    "check_sample_weight_equivalence_on_dense_data": _SAMPLE_WEIGHT_REASON,
    "check_sample_weight_equivalence_on_sparse_data": _SAMPLE_WEIGHT_REASON,
}

_FAST = dict(learning_rate_init=0.01, max_iter=100, random_state=0, device="cpu")
ESTIMATORS = [
    MLPClassifier(hidden_layer_sizes=(32,), **_FAST),
    MLPRegressor(hidden_layer_sizes=(32,), **_FAST),
    CNNClassifier(channels=(8,), hidden_layer_sizes=(16,), global_pool=False, **_FAST),
    CNNRegressor(channels=(8,), hidden_layer_sizes=(16,), global_pool=False, **_FAST),
    RNNClassifier(cell="gru", hidden_size=16, **_FAST),
    RNNRegressor(cell="gru", hidden_size=16, **_FAST),
    TextSequencer(),
    # a backbone whose first layer adapts to any number of features (the checks vary it)
    FineTuneClassifier(nn.Sequential(nn.LazyLinear(32), nn.ReLU()), **_FAST),
    FineTuneRegressor(nn.Sequential(nn.LazyLinear(32), nn.ReLU()), **_FAST),
    PretrainedEmbedder(nn.Sequential(nn.LazyLinear(8), nn.ReLU()), device="cpu"),
]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=lambda est: EXPECTED_FAILED)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
