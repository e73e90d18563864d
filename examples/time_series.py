"""Time series with default parameters: fixed-length signals, variable-length multichannel
sequences, long sequences for an RNN, averaged copies for a small training set, and a
text pipeline whose token ids are embedded without being told.

Run: python examples/time_series.py [--quick]

The data are generated (nothing is downloaded): which short pattern a noisy signal
holds, anywhere in it. For the real UCR archive, see benchmarks/bench_ucr.py.
"""

import sys
import warnings

import numpy as np
from sklearn.pipeline import make_pipeline

from sktune import CNNClassifier, RNNClassifier, SeedEnsembleClassifier, TextSequencer

QUICK = "--quick" in sys.argv
warnings.simplefilter("ignore")  # ConvergenceWarning of the short --quick runs
rng = np.random.RandomState(0)
EPOCHS = 3 if QUICK else 200  # 200 is the default max_iter


def patterns(n, length, ragged=False, channels=1):
    """Noisy signals holding one short pattern (sine, square or triangle; the class)
    somewhere: *which* shape, not where, as in most UCR archive problems."""
    X, y = [], rng.randint(3, size=n)
    t = np.linspace(0, 1, 16)
    shapes = [np.sin(4 * np.pi * t), np.sign(np.sin(2 * np.pi * t)), 1 - 2 * np.abs(2 * t - 1)]
    for label in y:
        size = rng.randint(length // 2, length + 1) if ragged else length
        start = rng.randint(0, size - 16)
        sample = 0.3 * rng.randn(channels, size)
        sample[:, start:start + 16] += np.arange(1, channels + 1)[:, None] * shapes[label]
        X.append(sample[0] if channels == 1 else sample)  # (L,) or (channels, L), as aeon
    return (X if ragged else np.stack(X)), y


# 1. Fixed-length univariate signals (n, L): the defaults are the FCN of Wang et al. 2017.
#    (--quick's 60 signals would get five averaged copies, as section 4 shows: one here)
X, y = patterns(60 if QUICK else 300, 96)
X_test, y_test = patterns(100 if QUICK else 300, 96)
QUICK_ONE = {"n_ensemble": 1} if QUICK else {}
cnn = CNNClassifier(max_iter=EPOCHS, random_state=0, **QUICK_ONE).fit(X, y)
print(f"signals {X.shape}: read as {cnn.input_kind_!r}, channels {cnn.channels_}, "
      f"kernels {cnn.kernel_size_}, batch {cnn.net_.batch_size}, "
      f"n_ensemble_={cnn.n_ensemble_}; "
      f"test accuracy {cnn.score(X_test, y_test):.3f}")

# 2. Variable-length, 3-channel sequences (a list of (3, L_i) arrays, aeon's layout):
#    padded and masked; each series is z-normalised per channel (normalize="auto").
Xr, yr = patterns(60 if QUICK else 300, 80, ragged=True, channels=3)
Xr_test, yr_test = patterns(100 if QUICK else 300, 80, ragged=True, channels=3)
ragged = CNNClassifier(max_iter=EPOCHS, random_state=0, **QUICK_ONE).fit(Xr, yr)
lengths = [x.shape[1] for x in Xr]
print(f"ragged sequences (lengths {min(lengths)}-{max(lengths)}, 3 channels): "
      f"test accuracy {ragged.score(Xr_test, yr_test):.3f}")

# 3. Long sequences for an RNN classifier: convolution blocks read every step
#    (frontend="auto" is "conv" here), max pooling shortens the sequence, the LSTM
#    reads the rest.
Xl, yl = patterns(60 if QUICK else 300, 400)
Xl_test, yl_test = patterns(100 if QUICK else 300, 400)
rnn = RNNClassifier(max_iter=EPOCHS, random_state=0).fit(Xl, yl)
print(f"RNN on {Xl.shape[1]} steps: {rnn.frontend_!r} front-end, stride {rnn.downsample_}; "
      f"test accuracy {rnn.score(Xl_test, yl_test):.3f}")

# 4. A small training set: one network's accuracy depends on its seed. On small signal
#    sets the CNN's default averages copies trained as one network (n_ensemble="auto",
#    within a budget of copies x series x steps); SeedEnsembleClassifier does the same
#    for any estimator, here an RNN.
K = 2 if QUICK else 3
Xs, ys = patterns(24, 96)
single = [CNNClassifier(n_ensemble=1, max_iter=EPOCHS, random_state=s).fit(Xs, ys)
          for s in range(K)]
default = CNNClassifier(max_iter=EPOCHS, random_state=0).fit(Xs, ys)
rnns = SeedEnsembleClassifier(RNNClassifier(max_iter=EPOCHS), n_estimators=K,
                              random_state=0).fit(Xs, ys)
print(f"24 training signals: single CNNs "
      f"{', '.join(f'{m.score(X_test, y_test):.3f}' for m in single)}; the default "
      f"({default.n_ensemble_} averaged copies): {default.score(X_test, y_test):.3f}; "
      f"seed ensemble of {K} RNNs: {rnns.score(X_test, y_test):.3f}")

# 5. Text: TextSequencer marks its output as TokenIds, so the next step embeds the ids.
words_pos, words_neg = ["liked", "enjoyed", "loved"], ["hated", "disliked", "loathed"]


def reviews(n):
    docs, labels = [], []
    for _ in range(n):
        positive, negated = rng.randint(2), rng.rand() < 0.5
        docs.append(f"{rng.choice(['alice', 'bob'])} {'never ' if negated else ''}"
                    f"{rng.choice(words_pos if positive else words_neg)} the film")
        labels.append(int(positive != negated))
    return docs, np.array(labels)


docs, labels = reviews(300)
test_docs, test_labels = reviews(300)
text = make_pipeline(TextSequencer(), RNNClassifier(max_iter=EPOCHS, random_state=0))
text.fit(docs, labels)
print(f"text pipeline with defaults: X read as {text[-1].input_kind_!r}, "
      f"{text[-1].vocab_size_} embedding rows; test accuracy "
      f"{text.score(test_docs, test_labels):.3f}")
