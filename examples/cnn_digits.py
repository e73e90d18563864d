"""A CNN on scikit-learn's 8x8 digits, with and without augmentation, and a 1-D signal CNN.

Run: python examples/cnn_digits.py [--quick]
"""

import sys

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktune import CNNClassifier, CNNRegressor

QUICK = "--quick" in sys.argv
epochs = {"max_iter": 3} if QUICK else {}

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y,
                                                    random_state=0)

# flat pixel rows + input_shape: a scaler can sit in front of the CNN
cnn = make_pipeline(StandardScaler(), CNNClassifier(input_shape=(8, 8), random_state=0,
                                                    **epochs))
print(f"default CNN, test accuracy: {cnn.fit(X_train, y_train).score(X_test, y_test):.4f}")

# images as (n, H, W) and training-time augmentation (never applied at predict)
augmented = CNNClassifier(augment_shift=1, augment_rotation=10, random_state=0, **epochs)
augmented.fit(X_train.reshape(-1, 8, 8), y_train)
print(f"augmented CNN, test accuracy: "
      f"{augmented.score(X_test.reshape(-1, 8, 8), y_test):.4f}")

# 1-D signals (n, L): where in the signal a bump sits
rng = np.random.RandomState(0)
signals = rng.randn(600, 64) * 0.3
centres = rng.uniform(10, 54, 600)
signals += np.exp(-0.5 * (np.arange(64)[None, :] - centres[:, None]) ** 2 / 4)
reg = CNNRegressor(channels=(16, 32), global_pool=False, augment_noise=0.05, random_state=0,
                   **epochs).fit(signals[:500], centres[:500] / 64)
print(f"signal CNN regressor, test R^2: {reg.score(signals[500:], centres[500:] / 64):.3f}")
