"""Pickles hold the weights once, load without doubling memory, and load without a GPU."""

import pickle
import tracemalloc
import warnings

import joblib
import numpy as np
import pytest
import torch

from sktune import CNNClassifier, MLPClassifier, RNNClassifier

# one test process runs the module: its module-scoped fitted models are built once
pytestmark = pytest.mark.xdist_group("persistence")

rng = np.random.RandomState(0)
X_TAB, Y = rng.randn(120, 64), np.arange(120) % 3


def _weight_bytes(est):
    return sum(t.numel() * t.element_size() for t in est.net_.module_.state_dict().values())


@pytest.fixture(scope="module")
def models():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "mlp": (MLPClassifier((256, 256), max_iter=2, random_state=0).fit(X_TAB, Y), X_TAB),
            "cnn": (CNNClassifier(channels=(16, 32), input_shape=(8, 8), max_iter=2,
                                  random_state=0).fit(X_TAB, Y), X_TAB),
            "rnn": (RNNClassifier(hidden_size=64, max_iter=2, random_state=0).fit(
                X_TAB[:, :16], Y), X_TAB[:, :16]),
        }


@pytest.mark.parametrize("name", ["mlp", "cnn", "rnn"])
def test_a_pickle_holds_the_weights_once(models, name):
    est, X = models[name]
    blob = pickle.dumps(est)
    assert len(blob) <= 1.3 * _weight_bytes(est) + 60_000  # + the object skeletons
    restored = pickle.loads(blob)
    np.testing.assert_array_equal(restored.predict_proba(X), est.predict_proba(X))


@pytest.mark.parametrize("load_path", ["pickle", "joblib"])
def test_loading_does_not_double_memory(tmp_path, load_path):
    # 3 MB of weights, so that the loaders' fixed overheads (~0.3 MB) stay small
    X = rng.randn(60, 200)
    est = MLPClassifier((512, 512), max_iter=1, random_state=0).fit(X, Y[:60])
    weights = _weight_bytes(est)
    if load_path == "pickle":
        blob = pickle.dumps(est)
        load = lambda: pickle.loads(blob)  # noqa: E731
    else:
        joblib.dump(est, tmp_path / "m.joblib")
        load = lambda: joblib.load(tmp_path / "m.joblib")  # noqa: E731
    tracemalloc.start()
    try:
        restored = load()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= 1.3 * weights
    assert restored.n_features_in_ == est.n_features_in_


def test_optimizer_state_is_kept_only_on_request(models):
    est, X = models["mlp"]
    light = pickle.dumps(est)
    est.set_params(keep_optimizer_state=True)
    try:
        heavy = pickle.dumps(est)
    finally:
        est.set_params(keep_optimizer_state=False)
    assert len(heavy) > 2.5 * _weight_bytes(est) > len(light)  # Adam's two moments
    continued = pickle.loads(heavy).partial_fit(X, Y)
    reference = pickle.loads(pickle.dumps(est))
    reference.net_ = __import__("copy").deepcopy(est.net_)  # in memory: full state
    reference.partial_fit(X, Y)
    np.testing.assert_allclose(continued.predict_proba(X), reference.predict_proba(X))
    fresh = pickle.loads(light).partial_fit(X, Y)  # a fresh optimizer state also trains
    assert fresh.n_iter_ == 1


def test_gpu_trained_model_loads_and_predicts_on_a_cpu_only_machine(models):
    from skorch.exceptions import DeviceWarning

    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    est, X = models["mlp"]
    gpu_like = pickle.loads(pickle.dumps(est))
    gpu_like.net_.device = "cuda"  # as if trained on a GPU: the load path is exercised
    with pytest.warns(DeviceWarning, match="no CUDA devices"):
        restored = pickle.loads(pickle.dumps(gpu_like))
    assert str(restored.net_.device) == "cpu"
    np.testing.assert_array_equal(restored.predict_proba(X), est.predict_proba(X))
