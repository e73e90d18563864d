"""TextSequencer and text pipelines on sentences the test generates."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sktune import RNNClassifier, TextSequencer

SUBJECTS = ["alice", "bob", "the cat", "my neighbour", "the whole team"]
OBJECTS = ["the movie", "the food", "that game", "our trip"]


def sentiment_corpus(n, seed):
    """'<subject> [never] <verb> <object>': the label is the verb's sentiment, flipped by
    "never". Every word occurs in both classes; only the combination carries the label."""
    rng = np.random.RandomState(seed)
    docs, labels = [], []
    for _ in range(n):
        verb_positive, negated = rng.randint(2), rng.rand() < 0.5
        verb = rng.choice(["liked", "enjoyed", "loved"] if verb_positive
                          else ["hated", "disliked", "loathed"])
        docs.append(f"{rng.choice(SUBJECTS)} {'never ' if negated else ''}{verb} "
                    f"{rng.choice(OBJECTS)}")
        labels.append(int(verb_positive != negated))
    return docs, np.array(labels)


def test_sequencer_ids_padding_and_unknown_words():
    seq = TextSequencer(max_features=2).fit(["b a a", "a c", "b"])
    assert seq.vocabulary_ == {"a": 2, "b": 3}
    np.testing.assert_array_equal(seq.transform(["a b c z", ""]), [[2, 3, 1], [0, 0, 0]])
    assert seq.max_len_ == 3
    assert TextSequencer(max_len=2).fit(["a b c"]).transform(["a b c"]).shape == (1, 2)
    assert list(seq.get_feature_names_out()) == ["token0", "token1", "token2"]


def test_sequencer_rejects_non_text():
    with pytest.raises(ValueError, match="string object received"):
        TextSequencer().fit("just one string")
    with pytest.raises(ValueError, match="document 1 is a int"):
        TextSequencer().fit(["fine", 3])


def test_rnn_text_pipeline_learns_negation():
    docs, y = sentiment_corpus(400, 0)
    test_docs, y_test = sentiment_corpus(200, 1)
    pipe = make_pipeline(TextSequencer(), RNNClassifier(
        embedding_dim=16, hidden_size=32, max_iter=40, learning_rate_init=0.01,
        random_state=0, device="cpu")).fit(docs, y)
    assert pipe.score(test_docs, y_test) > 0.9
    assert pipe.predict(["bob never hated the food"]).shape == (1,)
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    bow = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(docs, y)
    assert bow.score(test_docs, y_test) < 0.8  # the XOR of two words is beyond it


def test_grid_search_tunes_vocabulary_and_network_together():
    docs, y = sentiment_corpus(200, 0)
    pipe = make_pipeline(TextSequencer(), RNNClassifier(
        embedding_dim=8, hidden_size=16, max_iter=15, learning_rate_init=0.01,
        random_state=0, device="cpu"))
    search = GridSearchCV(pipe, {"textsequencer__max_features": [3, None],
                                 "rnnclassifier__cell": ["gru", "lstm"]}, cv=2,
                          error_score="raise").fit(docs, y)
    scores = search.cv_results_["mean_test_score"]
    assert search.best_params_["textsequencer__max_features"] is None
    assert scores.max() > scores.min()


def test_text_cnn_over_embeddings_learns_negation():
    from sktune import CNNClassifier

    docs, y = sentiment_corpus(400, 0)
    test_docs, y_test = sentiment_corpus(200, 1)
    pipe = make_pipeline(TextSequencer(), CNNClassifier(
        embedding_dim=16, channels=(32,), kernel_size=3, hidden_layer_sizes=(16,),
        max_iter=40, learning_rate_init=0.01, random_state=0, device="cpu")).fit(docs, y)
    assert pipe[-1].vocab_size_ >= 10 and pipe[-1].input_shape_[0] == 16
    assert pipe.score(test_docs, y_test) > 0.9
    with pytest.raises(ValueError, match="non-negative integer token ids"):
        pipe[-1].predict(-np.ones((2, pipe[-1].input_shape_[1])))
