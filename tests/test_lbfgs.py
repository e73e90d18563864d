"""solver="lbfgs" minimises scikit-learn's objective, checked against scikit-learn itself."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor

from sktune import MLPClassifier, MLPRegressor
from sktune._lbfgs import FullBatchObjective

rng = np.random.RandomState(0)
X = rng.randn(60, 5)
CASES = {
    "binary": (MLPClassifier, SkMLPClassifier, {}, X, (X[:, 0] > 0).astype(int)),
    "multiclass": (MLPClassifier, SkMLPClassifier, {}, *make_classification(
        60, 5, n_informative=3, n_classes=3, random_state=0)),
    "multilabel": (MLPClassifier, SkMLPClassifier, {}, *make_multilabel_classification(
        60, 5, n_classes=3, random_state=0)),
    "squared": (MLPRegressor, SkMLPRegressor, {}, X, X @ rng.randn(5) + 0.1 * rng.randn(60)),
    "poisson": (MLPRegressor, SkMLPRegressor, {"loss": "poisson"}, X,
                rng.poisson(np.exp(X[:, 0] / 2)).astype(float)),
}


def _sklearn_loss_grad(sk, X, y, sample_weight):
    """scikit-learn's own objective at its current weights (its private helper)."""
    if hasattr(sk, "_label_binarizer"):
        y = sk._label_binarizer.transform(y)
    y = y.reshape(len(y), -1)
    units = [X.shape[1]] + [c.shape[1] for c in sk.coefs_]
    sk._coef_indptr, sk._intercept_indptr, start = [], [], 0
    for fan_in, fan_out in zip(units[:-1], units[1:]):
        sk._coef_indptr.append((start, start + fan_in * fan_out, (fan_in, fan_out)))
        start += fan_in * fan_out
    for fan_out in units[1:]:
        sk._intercept_indptr.append((start, start + fan_out))
        start += fan_out
    theta = np.hstack([c.ravel() for c in sk.coefs_ + sk.intercepts_])
    activations = [X] + [None] * (len(units) - 1)
    return sk._loss_grad_lbfgs(theta, X, y, sample_weight, activations,
                               [None] * (len(units) - 1), [None] * (len(units) - 1),
                               [None] * (len(units) - 1))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("case", sorted(CASES))
def test_loss_and_gradient_equal_sklearns_at_the_same_weights(case, weighted):
    ours_cls, sk_cls, extra, X_, y_ = CASES[case]
    w = rng.uniform(0.5, 2.0, len(X_)) if weighted else None
    params = dict(solver="lbfgs", hidden_layer_sizes=(7,), alpha=0.3, max_iter=1,
                  random_state=0, activation="tanh", **extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = sk_cls(**params).fit(X_, y_, sample_weight=w)
        ours = ours_cls(**params)
        run = ours._begin_fit(X_, y_, w)  # the run is prepared, not trained
    module = run.net.module_
    for layer, coef, intercept in zip(module.linear_layers, sk.coefs_, sk.intercepts_):
        layer.weight.data.copy_(__import__("torch").from_numpy(coef.T.copy()))
        layer.bias.data.copy_(__import__("torch").from_numpy(intercept))
    objective = FullBatchObjective(run)
    loss, _ = objective(objective.flat_parameters())
    sk_loss, sk_grad = _sklearn_loss_grad(sk, X_, y_, w)
    np.testing.assert_allclose(loss, sk_loss, rtol=1e-10)
    ours_grads = [p.grad.numpy() for p in module.parameters()]
    n_layers = len(sk.coefs_)
    coef_grads = [g.T for g in ours_grads[0::2]]
    intercept_grads = ours_grads[1::2]
    np.testing.assert_allclose(np.hstack([g.ravel() for g in coef_grads + intercept_grads]),
                               sk_grad, rtol=1e-8, atol=1e-12)
    assert n_layers == len(coef_grads)


@pytest.mark.parametrize("case", ["binary", "multiclass", "squared"])
def test_same_seed_follows_sklearns_lbfgs_path(case):
    """Same int random_state: scikit-learn's initial weights to the last bit, the same
    objective, so the same L-BFGS iterates (up to float summation order)."""
    ours_cls, sk_cls, extra, X_, y_ = CASES[case]
    params = dict(solver="lbfgs", hidden_layer_sizes=(10,), max_iter=15, random_state=1,
                  **extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        init = ours_cls(**params)._begin_fit(X_, y_).net.module_.linear_layers[0]
        ours = ours_cls(**params).fit(X_, y_)
        sk = sk_cls(**params).fit(X_, y_)
    bound = np.sqrt(6 / (X_.shape[1] + 10))
    np.testing.assert_array_equal(init.weight.detach().numpy().T,
                                  np.random.RandomState(1).uniform(-bound, bound, (5, 10)))
    assert ours.n_iter_ == sk.n_iter_
    np.testing.assert_allclose(ours.loss_, sk.loss_, rtol=1e-6)
    np.testing.assert_allclose(ours.coefs_[0], sk.coefs_[0], rtol=1e-4, atol=1e-7)


def test_max_fun_bounds_loss_evaluations_and_warns():
    X_, y_ = CASES["squared"][3:]
    with pytest.warns(Warning, match="lbfgs failed to converge"):
        reg = MLPRegressor(solver="lbfgs", max_fun=5, tol=0.0, random_state=0).fit(X_, y_)
    assert reg.n_iter_ <= 5


def test_warm_start_continues_lbfgs_from_the_fitted_weights():
    X_, y_ = CASES["squared"][3:]
    reg = MLPRegressor(solver="lbfgs", max_iter=5, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = reg.fit(X_, y_).loss_
        second = reg.fit(X_, y_).loss_
    assert second < first and len(reg.loss_curve_) == reg.n_iter_ + 5


@pytest.mark.parametrize("make", [
    lambda: __import__("sktune").CNNClassifier(channels=(4,), hidden_layer_sizes=(8,),
                                               batch_norm=False, solver="lbfgs", max_iter=30,
                                               random_state=0),
    lambda: __import__("sktune").RNNClassifier(hidden_size=8, solver="lbfgs", max_iter=30,
                                               random_state=0),
], ids=["cnn", "rnn"])
def test_lbfgs_trains_the_other_families_too(make):
    X_, y_ = CASES["binary"][3:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = make().fit(X_, y_)
    assert est.score(X_, y_) > 0.8 and 0 < est.n_iter_ <= 30
    assert not hasattr(est, "partial_fit")
    if hasattr(est, "frontend_"):  # the conv front-end's batch norm is not full-batch-safe
        assert est.frontend_ == "strided"


def test_lbfgs_refuses_an_rnns_convolutional_front_end_naming_it():
    from sktune import RNNClassifier

    X_, y_ = CASES["binary"][3:]
    est = RNNClassifier(hidden_size=8, solver="lbfgs", frontend="conv", max_iter=5)
    with pytest.raises(ValueError, match=r"at 'frontend\.blocks.*frontend='strided'"):
        est.fit(X_, y_)
