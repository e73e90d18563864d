"""Exported files serve without sktune: an ONNX file in a process that cannot import
sktune nor torch, a TorchScript file in one that cannot import sktune; TorchScript
modules predict as the estimators do; the converters register themselves."""

import json
import sys
import textwrap

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktune import (
    CNNClassifier,
    FineTuneClassifier,
    MLPClassifier,
    MLPRegressor,
    RNNRegressor,
    TextSequencer,
)
from sktune.export import (
    METADATA_FILE,
    NotExportableError,
    to_exported_program,
    to_torchscript,
)
from tests.conftest import run_python

# one test process runs the module: its module-scoped fitted models are built once
pytestmark = pytest.mark.xdist_group("serving")

FAST = dict(random_state=0, device="cpu")

#: a sys.meta_path entry that makes importing these packages fail, as if not installed
BLOCKER = textwrap.dedent("""
    import sys

    class Blocker:
        def __init__(self, names):
            self.names = names

        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in self.names:
                raise ImportError(f"{name} is blocked in this process")
            return None

    sys.meta_path.insert(0, Blocker(set(sys.argv[1].split(","))))
""")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:200].astype(np.float32), y[:200]


def serve(tmp_path, blocked, body):
    """Run ``body`` in a fresh process where ``blocked`` packages cannot be imported;
    it reads ``X.npy`` in ``tmp_path`` and saves its outputs there."""
    script = tmp_path / "serve.py"
    script.write_text(BLOCKER + textwrap.dedent(body))
    result = run_python(script, ",".join(blocked), cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_onnx_file_runs_without_sktune_and_torch(tmp_path, digits):
    skl2onnx = pytest.importorskip("skl2onnx")
    pytest.importorskip("onnxruntime")
    X, y = digits
    labels = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven",
                       "eight", "nine"])[y]
    cnn = CNNClassifier(input_shape=(8, 8), channels=(4,), max_iter=2, **FAST)
    pipe = make_pipeline(StandardScaler(), cnn).fit(X, labels)
    (tmp_path / "model.onnx").write_bytes(
        skl2onnx.to_onnx(pipe, X[:1], options={"zipmap": False}).SerializeToString())
    np.save(tmp_path / "X.npy", X)
    serve(tmp_path, ["sktune", "torch", "skl2onnx", "skorch"], """
        import numpy as np
        import onnxruntime as ort
        try:
            import torch
        except ImportError:
            pass
        else:
            raise SystemExit("the blocker let torch in")
        sess = ort.InferenceSession("model.onnx", providers=["CPUExecutionProvider"])
        label, proba = sess.run(None, {sess.get_inputs()[0].name: np.load("X.npy")})
        np.save("label.npy", label.astype(str))
        np.save("proba.npy", proba)
    """)
    np.testing.assert_array_equal(np.load(tmp_path / "label.npy"), pipe.predict(X))
    np.testing.assert_allclose(np.load(tmp_path / "proba.npy"), pipe.predict_proba(X),
                               rtol=2e-5, atol=2e-6)


@pytest.fixture(scope="module")
def fresh_process(tmp_path_factory, digits):
    """One fresh process for two facts of a process that starts without sktune (an
    interpreter, torch and torch.export's imports cost seconds each time): first, with
    sktune blocked, it runs a CNN's TorchScript and torch.export files; then, the blocker
    gone, it imports sktune, which must not import skl2onnx, and converts an MLP with
    skl2onnx imported after it. Each part reports on its own (``done.json``)."""
    tmp_path = tmp_path_factory.mktemp("fresh")
    X, y = digits
    images = X.reshape(-1, 8, 8, 1)
    cnn = CNNClassifier(channels=(4,), max_iter=2, **FAST).fit(images, y * 10)
    to_torchscript(cnn, tmp_path / "cnn.pt")
    to_exported_program(cnn, tmp_path / "cnn.pt2")
    np.save(tmp_path / "X.npy", images)
    serve(tmp_path, ["sktune", "skorch"], """
        import json
        import traceback
        import numpy as np
        import torch
        done = {}
        try:  # 1. the torch files, sktune blocked
            files = {"sktune.json": ""}
            module = torch.jit.load("cnn.pt", _extra_files=files)
            meta = json.loads(files["sktune.json"])
            with torch.no_grad():
                index, proba = module(torch.from_numpy(np.load("X.npy")))
            np.save("label.npy", np.asarray(meta["classes"])[index.numpy()])
            np.save("proba.npy", proba.numpy())
            program = torch.export.load("cnn.pt2").module()
            with torch.no_grad():
                index, proba = program(torch.from_numpy(np.load("X.npy")))
            np.save("label2.npy", np.asarray(meta["classes"])[index.numpy()])
            np.save("proba2.npy", proba.numpy())
            assert "sktune" not in sys.modules and "skorch" not in sys.modules
            done["torch_files"] = "ok"
        except BaseException:
            done["torch_files"] = traceback.format_exc()
        # 2. import order: sktune first, skl2onnx after it
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, Blocker)]
        try:
            import sktune
            assert "skl2onnx" not in sys.modules, "import sktune imported skl2onnx"
            from skl2onnx import to_onnx
            X = np.random.RandomState(0).randn(30, 3).astype(np.float32)
            clf = sktune.MLPClassifier((4,), max_iter=1, random_state=0).fit(X, X[:, 0] > 0)
            to_onnx(clf, X[:1])
            done["import_order"] = "ok"
        except BaseException:
            done["import_order"] = traceback.format_exc()
        with open("done.json", "w") as f:
            json.dump(done, f)
    """)
    return tmp_path, cnn, images, json.loads((tmp_path / "done.json").read_text())


def test_torch_files_run_without_sktune(fresh_process):
    tmp_path, cnn, images, done = fresh_process
    assert done["torch_files"] == "ok", done["torch_files"][-3000:]
    for suffix in ("", "2"):
        np.testing.assert_array_equal(np.load(tmp_path / f"label{suffix}.npy"),
                                      cnn.predict(images))
        np.testing.assert_allclose(np.load(tmp_path / f"proba{suffix}.npy"),
                                   cnn.predict_proba(images), rtol=1e-5, atol=1e-6)


def _scripted(est, path):
    module = to_torchscript(est, path)
    files = {METADATA_FILE: ""}
    loaded = torch.jit.load(str(path), _extra_files=files)
    return module, loaded, json.loads(files[METADATA_FILE])


@pytest.mark.parametrize("rows", [200, 1])
def test_torchscript_classifier_predicts_as_the_estimator(tmp_path, digits, rows):
    X, y = digits
    source = CNNClassifier(input_shape=(8, 8), channels=(4,), max_iter=2, **FAST)
    source.fit(X[y < 5], y[y < 5])
    clf = FineTuneClassifier(source, max_iter=2, **FAST).fit(X[y >= 5], y[y >= 5])
    _, loaded, meta = _scripted(clf, tmp_path / "ft.pt")
    assert meta["classes"] == [5, 6, 7, 8, 9] and meta["input_shape"] == [None, 64]
    with torch.no_grad():  # traced on 2 rows: any batch size runs
        index, proba = loaded(torch.from_numpy(X[:rows]))
    np.testing.assert_array_equal(np.asarray(meta["classes"])[index.numpy()],
                                  clf.predict(X[:rows]))
    np.testing.assert_allclose(proba.numpy(), clf.predict_proba(X[:rows]), rtol=1e-5,
                               atol=1e-6)


def test_torchscript_regressors_and_multilabel(tmp_path, digits):
    X, y = digits
    Y = np.stack([y % 2, y > 4], axis=1).astype(int)
    multilabel = MLPClassifier((8,), max_iter=2, **FAST).fit(X, Y)
    _, loaded, meta = _scripted(multilabel, tmp_path / "ml.pt")
    assert meta["multilabel"] is True
    with torch.no_grad():
        indicator, proba = loaded(torch.from_numpy(X))
    np.testing.assert_array_equal(indicator.numpy(), multilabel.predict(X))
    X64 = X.astype(np.float64)
    reg = MLPRegressor(hidden_layer_sizes=(8,), max_iter=2, **FAST).fit(X64, X64[:, :3])
    _, loaded, meta = _scripted(reg, tmp_path / "reg.pt")
    assert meta["input_dtype"] == "float64" and meta["n_outputs"] == 3
    with torch.no_grad():
        np.testing.assert_allclose(loaded(torch.from_numpy(X64)).numpy(), reg.predict(X64),
                                   rtol=1e-10)
    sequences = np.random.RandomState(0).randn(40, 2, 10).astype(np.float32)  # (n, C, T)
    rnn = RNNRegressor(cell="gru", hidden_size=8, downsample=2, max_iter=2, **FAST)
    rnn.fit(sequences, sequences[:, 0].mean(axis=1))
    _, loaded, meta = _scripted(rnn, tmp_path / "rnn.pt")
    assert meta["input_shape"] == [None, 2, None]
    longer = np.random.RandomState(1).randn(3, 2, 25).astype(np.float32)
    with torch.no_grad():
        np.testing.assert_allclose(loaded(torch.from_numpy(longer)).numpy(),
                                   rnn.predict(longer), rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """An RNN regressor and an MLP classifier with their torch.export programs (exported
    once: each export traces the network), for batches of several sizes."""
    tmp_path = tmp_path_factory.mktemp("exported")
    X = np.random.RandomState(0).randn(40, 2, 10).astype(np.float32)  # (n, C, T)
    rnn = RNNRegressor(hidden_size=8, max_iter=2, **FAST).fit(X, X[:, 0].mean(axis=1))
    with pytest.raises(NotExportableError, match="pass steps=T"):
        to_exported_program(rnn)
    to_exported_program(rnn, tmp_path / "rnn.pt2", steps=17)
    files = {METADATA_FILE: ""}
    program = torch.export.load(str(tmp_path / "rnn.pt2"), extra_files=files).module()
    mlp = MLPClassifier((8,), max_iter=2, **FAST).fit(X[:, 0], X[:, 0, 0] > 0)
    return X, rnn, program, json.loads(files[METADATA_FILE]), mlp, \
        to_exported_program(mlp).module()


@pytest.mark.parametrize("rows", [1, 9])
def test_exported_program_has_a_dynamic_batch_axis(exported, rows):
    X, rnn, program, meta, mlp, mlp_program = exported
    assert meta["input_shape"] == [None, 2, 17]
    longer = np.random.RandomState(1).randn(rows, 2, 17).astype(np.float32)
    with torch.no_grad():
        np.testing.assert_allclose(program(torch.from_numpy(longer)).numpy(),
                                   rnn.predict(longer), rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        index, proba = mlp_program(torch.from_numpy(X[:rows, 0]))
    np.testing.assert_array_equal(mlp.classes_[index.numpy()], mlp.predict(X[:rows, 0]))


def test_torchscript_refuses_pipelines_and_text(digits):
    X, y = digits
    pipe = make_pipeline(StandardScaler(), MLPClassifier((4,), max_iter=1, **FAST)).fit(X, y)
    with pytest.raises(NotExportableError, match="ONNX"):
        to_torchscript(pipe)
    with pytest.raises(NotExportableError, match="TextSequencer"):
        to_torchscript(TextSequencer())


def test_import_sktune_defers_skl2onnx_and_registers_on_its_import(fresh_process):
    pytest.importorskip("skl2onnx")
    done = fresh_process[-1]
    assert done["import_order"] == "ok", done["import_order"][-3000:]


def test_install_registers_at_once_when_skl2onnx_is_already_imported(monkeypatch):
    pytest.importorskip("skl2onnx")
    from skl2onnx._supported_operators import sklearn_operator_name_map

    from sktune.export import _hook

    monkeypatch.delitem(sklearn_operator_name_map, MLPClassifier)
    _hook.install()  # skl2onnx is in sys.modules: registers now
    assert sklearn_operator_name_map[MLPClassifier] == "SktuneMLPClassifier"
    assert not any(isinstance(f, _hook._RegisterAfterImport) for f in sys.meta_path)
