"""Raw text -> TextSequencer -> RNNClassifier (or a text CNN), tuned with GridSearchCV.

Run: python examples/text_pipeline.py [--quick]
"""

import sys
import warnings

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sktune import CNNClassifier, RNNClassifier, TextSequencer

QUICK = "--quick" in sys.argv
warnings.simplefilter("ignore")  # ConvergenceWarning of the short --quick runs
rng = np.random.RandomState(0)


def reviews(n):
    """'<who> [never] <verb> <what>': "never" flips the sentiment of the verb.

    Every word occurs in both classes, so the label is an XOR of two words: beyond a
    linear model on word counts, learnable from the word order.
    """
    docs, labels = [], []
    for _ in range(n):
        verb_positive, negated = rng.randint(2), rng.rand() < 0.5
        verb = rng.choice(["liked", "enjoyed", "loved"] if verb_positive else
                          ["hated", "disliked", "loathed"])
        docs.append(f"{rng.choice(['alice', 'bob', 'the critic'])} "
                    f"{'never ' if negated else ''}{verb} "
                    f"{rng.choice(['the film', 'the meal', 'the show'])}")
        labels.append(int(verb_positive != negated))
    return docs, np.array(labels)


docs, y = reviews(300 if QUICK else 1000)
test_docs, y_test = reviews(300)

pipe = make_pipeline(TextSequencer(), RNNClassifier(embedding_dim=16, learning_rate_init=0.01,
                                                    max_iter=5 if QUICK else 40,
                                                    random_state=0))
search = GridSearchCV(pipe, {"textsequencer__max_features": [10, None],
                             "rnnclassifier__cell": ["gru", "lstm"]}, cv=3).fit(docs, y)
print("best:", search.best_params_)
print(f"RNN pipeline test accuracy: {search.score(test_docs, y_test):.3f}")

text_cnn = make_pipeline(TextSequencer(), CNNClassifier(
    embedding_dim=16, channels=(32,), hidden_layer_sizes=(16,), learning_rate_init=0.01,
    max_iter=5 if QUICK else 40, random_state=0)).fit(docs, y)
print(f"text CNN pipeline test accuracy: {text_cnn.score(test_docs, y_test):.3f}")

bow = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(docs, y)
print(f"TF-IDF + logistic regression (order-blind): {bow.score(test_docs, y_test):.3f}")
