"""Serving latency (issue #21): onnxruntime on the exported file against sktune's predict.

Per family, one small model fitted on digits (a pipeline StandardScaler + MLP (100,),
the default image CNN on 8 x 8 images given as flat pixels with ``input_shape``, an
LSTM (64) reading each image as 8 steps of 8 features, and a fine-tuned CNN with its
member from scratch), converted with ``skl2onnx.to_onnx``. Then, alternating round by
round in one process: ``model.predict(X)`` (sktune; the pipeline's scaler included) and
``session.run(None, {input: X})`` (onnxruntime; labels and probabilities), at batch 1
and batch 1,000. Medians of milliseconds per call, and the median per-round ratio
sktune / onnxruntime (> 1: onnxruntime is faster). Both run on ``--threads`` intra-op
threads (torch.set_num_threads, onnxruntime's intra_op_num_threads).

Run: python benchmarks/bench_export.py [--rounds 30] [--threads 1]
"""

import argparse
import os
import statistics
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from sktune import CNNClassifier, FineTuneClassifier, MLPClassifier, RNNClassifier  # noqa: E402


def models(X, y):
    """Fitted models per family, each with the input it predicts on."""
    fast = dict(max_iter=3, random_state=0)
    mlp = make_pipeline(StandardScaler(), MLPClassifier(**fast)).fit(X, y)
    cnn = CNNClassifier(input_shape=(8, 8), **fast).fit(X, y)
    sequences = X.reshape(-1, 8, 8)
    rnn = RNNClassifier(**fast).fit(sequences, y)
    source = CNNClassifier(input_shape=(8, 8), **fast).fit(X[y < 5], y[y < 5])
    finetuned = FineTuneClassifier(source, **fast).fit(X[y >= 5][:300], y[y >= 5][:300])
    return [("MLP pipeline", mlp, X), ("CNN", cnn, X), ("LSTM", rnn, sequences),
            ("fine-tuned CNN", finetuned, X)]


def timed(fn, repeat):
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    import onnxruntime as ort
    import skl2onnx

    torch.set_num_threads(args.threads)
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = models(X, y)
    print(f"torch {torch.__version__}, onnxruntime {ort.__version__}, skl2onnx "
          f"{skl2onnx.__version__}, {args.threads} thread(s), {args.rounds} rounds; "
          "median ms per predict call")
    print(f"{'family':<16}{'batch':>6}{'sktune':>10}{'onnxruntime':>13}{'ratio':>8}")
    for name, model, data in fitted:
        onx = skl2onnx.to_onnx(model, data[:1], options={"zipmap": False})
        session = ort.InferenceSession(onx.SerializeToString(), options,
                                       providers=["CPUExecutionProvider"])
        input_name = session.get_inputs()[0].name
        for batch in (1, 1000):
            rows = np.ascontiguousarray(data[:batch])
            label = session.run(None, {input_name: rows})[0]
            assert np.array_equal(label, model.predict(rows)), name  # same predictions
            repeat = 20 if batch == 1 else 2
            ours, theirs = [], []
            for _ in range(args.rounds):
                ours.append(timed(lambda: model.predict(rows), repeat))
                theirs.append(timed(lambda: session.run(None, {input_name: rows}), repeat))
            ratio = statistics.median(a / b for a, b in zip(ours, theirs))
            print(f"{name:<16}{batch:>6}{statistics.median(ours):>10.3f}"
                  f"{statistics.median(theirs):>13.3f}{ratio:>7.1f}x")


if __name__ == "__main__":
    main()
