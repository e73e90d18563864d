"""Tiny shared data sets and fitted models: every test trains for a few epochs at most."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning

from sktune import MLPClassifier, MLPRegressor

FAST = dict(hidden_layer_sizes=(16,), learning_rate_init=0.01, random_state=0, device="cpu")


@pytest.fixture(autouse=True)
def _quiet_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.fixture(scope="session")
def clf_data():
    X, y = make_classification(n_samples=240, n_features=8, n_informative=5, n_classes=3,
                               random_state=0)
    return X, y


@pytest.fixture(scope="session")
def reg_data():
    X, y = make_regression(n_samples=200, n_features=6, noise=0.1, random_state=0)
    return X, y / np.std(y)


@pytest.fixture(scope="session")
def fitted_clf(clf_data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MLPClassifier(max_iter=30, **FAST).fit(*clf_data)


@pytest.fixture(scope="session")
def fitted_reg(reg_data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MLPRegressor(max_iter=30, **FAST).fit(*reg_data)
