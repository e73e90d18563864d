"""Deploy: a pipeline with an sktune network as one ONNX file, and a TorchScript module.

``skl2onnx.to_onnx`` converts a Pipeline ending in an sktune estimator exactly as it
converts one ending in scikit-learn's MLP (``pip install "sktune[onnx]"``): the scaler,
the input layout (flat pixels to images), the network and the labels are one graph that
onnxruntime runs without Python's torch, skorch or sktune. ``to_torchscript`` saves an
estimator (no scikit-learn preprocessing) as a module that ``torch.jit.load`` reads
without sktune; ``to_exported_program`` the same as a ``torch.export`` program.

Run: python examples/deploy_onnx.py [--quick]
"""

import json
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktune import CNNClassifier
from sktune.export import METADATA_FILE, to_exported_program, to_torchscript

QUICK = "--quick" in sys.argv
warnings.simplefilter("ignore", ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X = X.astype(np.float32)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
if QUICK:
    X_train, y_train = X_train[:300], y_train[:300]
cnn = CNNClassifier(input_shape=(8, 8), channels=(8, 16) if QUICK else "auto",
                    batch_size=32, max_iter=5 if QUICK else 20, random_state=0)
pipe = make_pipeline(StandardScaler(), cnn).fit(X_train, y_train)
print(f"sktune pipeline test accuracy: {pipe.score(X_test, y_test):.3f}")

folder = Path(tempfile.mkdtemp())
try:
    import onnxruntime as ort
    import skl2onnx
except ImportError:
    print('ONNX: pip install "sktune[onnx]" (skl2onnx, onnxruntime) to run this part')
else:
    onx = skl2onnx.to_onnx(pipe, X_train[:1], options={"zipmap": False})
    (folder / "digits.onnx").write_bytes(onx.SerializeToString())
    session = ort.InferenceSession(str(folder / "digits.onnx"),
                                   providers=["CPUExecutionProvider"])
    labels, proba = session.run(None, {session.get_inputs()[0].name: X_test})
    print(f"ONNX file: {(folder / 'digits.onnx').stat().st_size / 1e3:.0f} kB; onnxruntime "
          f"labels equal predict on {np.mean(labels == pipe.predict(X_test)):.0%} of the "
          f"test rows, largest probability difference "
          f"{np.abs(proba - pipe.predict_proba(X_test)).max():.1e}")

# TorchScript: the estimator alone (scale the rows first, as the pipeline did)
scaled = pipe[0].transform(X_test)
to_torchscript(cnn, folder / "digits.pt")
files = {METADATA_FILE: ""}
module = torch.jit.load(str(folder / "digits.pt"), _extra_files=files)
classes = np.asarray(json.loads(files[METADATA_FILE])["classes"])
with torch.no_grad():
    index, proba = module(torch.from_numpy(scaled))
print(f"TorchScript module: labels equal predict on "
      f"{np.mean(classes[index.numpy()] == cnn.predict(scaled)):.0%} of the test rows")
to_exported_program(cnn, folder / "digits.pt2")
with torch.no_grad():
    index, proba = torch.export.load(str(folder / "digits.pt2")).module()(
        torch.from_numpy(scaled))
print(f"torch.export program: labels equal predict on "
      f"{np.mean(classes[index.numpy()] == cnn.predict(scaled)):.0%} of the test rows")
shutil.rmtree(folder)
