"""Bad input and failing training raise errors that say what is wrong."""

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from sktune import MLPClassifier, MLPRegressor, TrainingDivergedError
from tests.conftest import FAST


@pytest.mark.parametrize("bad,match", [
    (np.nan, "NaN"), (np.inf, "infinity"),
])
def test_non_finite_features(clf_data, bad, match):
    X, y = clf_data
    X = X.copy()
    X[3, 2] = bad
    with pytest.raises(ValueError, match=match):
        MLPClassifier(**FAST).fit(X, y)


def test_empty_data():
    with pytest.raises(ValueError, match="0 sample"):
        MLPClassifier(**FAST).fit(np.empty((0, 3)), [])


def test_wrong_number_of_features_at_predict(fitted_clf, clf_data):
    X, _ = clf_data
    with pytest.raises(ValueError, match="X has 5 features, but MLPClassifier is expecting 8"):
        fitted_clf.predict(X[:, :5])


def test_single_class_predicts_that_class_as_sklearn_does(clf_data):
    X, _ = clf_data
    clf = MLPClassifier(max_iter=2, **FAST).fit(X, np.full(len(X), "only"))
    assert clf.predict(X[:3]).tolist() == ["only"] * 3
    np.testing.assert_array_equal(clf.predict_proba(X[:3]), np.ones((3, 1)))


def test_continuous_target_to_classifier(clf_data):
    X, _ = clf_data
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        MLPClassifier(**FAST).fit(X, np.linspace(0, 1, len(X)))


def test_object_dtype_with_strings(clf_data):
    X, y = clf_data
    X = X.astype(object)
    X[0, 0] = "abc"
    with pytest.raises(ValueError, match="could not convert string to float"):
        MLPClassifier(**FAST).fit(X, y)


@pytest.mark.parametrize("param", [{"dropout": 0.2}, {"batch_norm": True}, {"l1": 1e-4}])
def test_lbfgs_refuses_a_stochastic_or_non_smooth_objective(clf_data, param):
    with pytest.raises(ValueError, match="lbfgs"):
        MLPClassifier(solver="lbfgs", **param).fit(*clf_data)


def test_lbfgs_has_no_partial_fit():
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    assert hasattr(MLPClassifier(), "partial_fit")


@pytest.mark.parametrize("param,value", [
    ("dropout", 1.0), ("alpha", -1.0), ("learning_rate", "linear"), ("activation", "swish"),
    ("batch_size", 0), ("validation_fraction", 1.0), ("hidden_layer_sizes", "wide"),
])
def test_invalid_hyperparameters_name_the_parameter(clf_data, param, value):
    with pytest.raises(InvalidParameterError, match=f"'{param}' parameter of MLPClassifier"):
        MLPClassifier(**{param: value}).fit(*clf_data)


def test_unavailable_device_is_an_error_not_a_fallback(clf_data):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA; the error concerns machines without it")
    with pytest.raises(ValueError, match="CUDA is not available"):
        MLPClassifier(device="cuda").fit(*clf_data)
    with pytest.raises(ValueError, match="not a torch device"):
        MLPClassifier(device="tpu9").fit(*clf_data)


def test_poisson_needs_non_negative_targets(reg_data):
    X, y = reg_data
    with pytest.raises(ValueError, match="non-negative"):
        MLPRegressor(loss="poisson", **FAST).fit(X, y)


def test_negative_sample_weight(clf_data):
    X, y = clf_data
    with pytest.raises(ValueError, match="[Nn]egative"):
        MLPClassifier(**FAST).fit(X, y, sample_weight=-np.ones(len(y)))


def test_diverging_training_says_so_and_suggests_a_lower_rate(clf_data):
    X, y = clf_data
    with pytest.raises(TrainingDivergedError, match="lower learning_rate_init"):
        MLPClassifier(solver="sgd", momentum=0.0, max_iter=5, **{
            **FAST, "learning_rate_init": 1e12, "hidden_layer_sizes": (64, 64)}).fit(X, y)
