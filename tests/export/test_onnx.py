"""skl2onnx converts sktune estimators and pipelines; onnxruntime predicts as they do.

Each case fits a tiny model (2-3 epochs: parity needs no accuracy), converts it with
``skl2onnx.to_onnx(model, X[:1])`` exactly as a scikit-learn model is converted, and
checks that onnxruntime's labels equal ``predict`` on every row and its probabilities
or values match ``predict_proba`` / ``predict`` to float32 rounding, on the whole set
and on one row (the batch axis is dynamic).
"""

import warnings

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_digits, make_classification, make_regression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

skl2onnx = pytest.importorskip("skl2onnx")
ort = pytest.importorskip("onnxruntime")

from sktune import (  # noqa: E402
    CNNClassifier,
    CNNRegressor,
    FineTuneClassifier,
    FineTuneRegressor,
    MLPClassifier,
    MLPRegressor,
    RNNClassifier,
    RNNRegressor,
    SeedEnsembleClassifier,
    SeedEnsembleRegressor,
    TextSequencer,
)
from sktune.export import NotExportableError  # noqa: E402

# one test process runs the module: its module-scoped fitted models are built once
pytestmark = pytest.mark.xdist_group("onnx")

FAST = dict(random_state=0, device="cpu")


def session(onx):
    return ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])


def run(onx, X):
    sess = session(onx)
    return sess.run(None, {sess.get_inputs()[0].name: X})


def close(actual, expected, atol=2e-6):
    """Equal to float32 rounding (the networks compute in float32 or float64)."""
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64).reshape(expected.shape),
                               expected, rtol=2e-5, atol=atol)


def check_classifier(model, X, atol=2e-6, **options):
    onx = skl2onnx.to_onnx(model, X[:1], options={"zipmap": False, **options})
    for rows in (X, X[:1]):
        label, proba = run(onx, rows)
        np.testing.assert_array_equal(label, model.predict(rows))
        close(proba, model.predict_proba(rows), atol=atol)
    return onx


def check_regressor(model, X):
    onx = skl2onnx.to_onnx(model, X[:1])
    for rows in (X, X[:1]):
        (values,) = run(onx, rows)
        close(values, model.predict(rows))
    return onx


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:240].astype(np.float32), y[:240]


@pytest.fixture(scope="module")
def tabular():
    X, y = make_classification(n_samples=150, n_features=6, n_informative=4, n_classes=3,
                               random_state=0)
    return X.astype(np.float32), y


# ---- MLP ------------------------------------------------------------------------------
def test_mlp_classifier_pipeline_converts_like_sklearns_mlp(tabular):
    X, y = tabular
    pipe = make_pipeline(StandardScaler(), MLPClassifier((16,), max_iter=3, **FAST)).fit(X, y)
    check_classifier(pipe, X)


def test_mlp_classifier_zipmap_gives_one_dict_per_row(tabular):
    X, y = tabular
    clf = MLPClassifier((8,), max_iter=2, **FAST).fit(X, y)
    onx = skl2onnx.to_onnx(clf, X[:1])  # zipmap on: scikit-learn's default
    label, proba = run(onx, X)
    np.testing.assert_array_equal(label, clf.predict(X))
    assert isinstance(proba, list) and sorted(proba[0]) == clf.classes_.tolist()
    close(np.array([[row[c] for c in clf.classes_] for row in proba]), clf.predict_proba(X))
    columns = skl2onnx.to_onnx(clf, X[:1], options={"zipmap": "columns"})
    label, *per_class = run(columns, X)
    assert len(per_class) == len(clf.classes_)
    close(np.stack(per_class, axis=1), clf.predict_proba(X))


def test_mlp_classifier_output_class_labels_option(tabular):
    X, y = tabular
    clf = MLPClassifier((8,), max_iter=2, **FAST).fit(X, y)
    onx = skl2onnx.to_onnx(clf, X[:1], options={"zipmap": False, "output_class_labels": True})
    label, proba, classes = run(onx, X)
    np.testing.assert_array_equal(classes, clf.classes_)


def test_mlp_float64_network_and_string_labels(tabular):
    X, y = tabular
    X64, labels = X.astype(np.float64), np.array(["cat", "dog", "eel"])[y]
    clf = MLPClassifier((8,), max_iter=3, **FAST).fit(X64, labels)
    assert clf._dtype_ == np.float64  # float64 input trains in float64, as scikit-learn
    onx = check_classifier(clf, X64)
    assert session(onx).get_inputs()[0].type == "tensor(double)"


def test_mlp_binary_and_multilabel(tabular):
    X, y = tabular
    binary = MLPClassifier((8,), max_iter=3, **FAST).fit(X, y == 1)
    check_classifier(binary, X)
    Y = np.stack([y == 0, y == 1, X[:, 0] > 0], axis=1).astype(int)
    multilabel = MLPClassifier((8,), max_iter=3, **FAST).fit(X, Y)
    onx = check_classifier(multilabel, X)
    assert session(onx).get_outputs()[0].shape[1] == 3


def test_mlp_regressor_multi_output_in_a_column_transformer():
    X, Y = make_regression(n_samples=120, n_features=5, n_targets=2, random_state=0)
    X, Y = X.astype(np.float32), Y / Y.std(axis=0)
    columns = ColumnTransformer([("scaled", StandardScaler(), [0, 1, 2]),
                                 ("ranged", MinMaxScaler(), [3, 4])])
    regressor = MLPRegressor(hidden_layer_sizes=(16,), max_iter=3, **FAST)
    pipe = make_pipeline(columns, regressor).fit(X, Y)
    check_regressor(pipe, X)


def test_mlp_regressor_poisson_and_batch_norm():
    X, y = make_regression(n_samples=100, n_features=4, random_state=0)
    X = X.astype(np.float32)
    reg = MLPRegressor(hidden_layer_sizes=(8,), loss="poisson", batch_norm=True, max_iter=3, **FAST)
    check_regressor(reg.fit(X, np.exp(y / y.std())), X)


# ---- CNN ------------------------------------------------------------------------------
def test_cnn_flat_pixels_with_input_shape_in_a_pipeline(digits):
    X, y = digits
    cnn = CNNClassifier(input_shape=(8, 8), channels=(4,), hidden_layer_sizes=(8,),
                        max_iter=2, **FAST)
    check_classifier(make_pipeline(StandardScaler(), cnn).fit(X, y), X)


def test_cnn_channels_last_images(digits):
    X, y = digits
    images = np.stack([X.reshape(-1, 8, 8), X.reshape(-1, 8, 8).transpose(0, 2, 1),
                       X.reshape(-1, 8, 8)[:, ::-1]], axis=3)
    cnn = CNNClassifier(channels=(4, 4), residual=True, max_iter=2, **FAST).fit(images, y)
    assert cnn.input_shape_ == (3, 8, 8)  # channels last in, channels first inside
    check_classifier(cnn, images)


def test_cnn_signals_regression_and_multichannel_classification():
    rng = np.random.RandomState(0)
    signals = rng.randn(60, 30).astype(np.float32)
    reg = CNNRegressor(channels=(4, 4), kernel_size=(5, 3), max_iter=2, **FAST)
    check_regressor(reg.fit(signals, signals.mean(axis=1)), signals)
    two = rng.randn(60, 2, 30).astype(np.float32)
    clf = CNNClassifier(channels=(4,), conv_dim=1, pooling="max", max_iter=2, **FAST)
    check_classifier(clf.fit(two, (two[:, 0].mean(axis=1) > 0).astype(int)), two)
    # window means (downsample, the default past 512 steps) export with the network
    reg = CNNRegressor(channels=(4,), kernel_size=(3,), downsample=4, max_iter=2, **FAST)
    check_regressor(reg.fit(signals, signals.mean(axis=1)), signals)
    # averaged copies (n_ensemble, the default on small signal sets) export as one graph
    clf = CNNClassifier(channels=(4,), n_ensemble=3, max_iter=2, **FAST)
    check_classifier(clf.fit(two, (two[:, 0].mean(axis=1) > 0).astype(int)), two)
    reg = CNNRegressor(channels=(4,), kernel_size=(3,), n_ensemble=2, max_iter=2, **FAST)
    check_regressor(reg.fit(signals, signals.mean(axis=1)), signals)


@pytest.mark.parametrize("opset", [15, 18])
def test_lower_target_opsets(digits, opset):
    """torch writes the network at the target opset itself up to its last (20); the
    default (skl2onnx's latest tested) goes through onnx's version converter."""
    X, y = digits
    cnn = CNNClassifier(input_shape=(8, 8), channels=(4,), max_iter=1, **FAST).fit(X, y)
    onx = skl2onnx.to_onnx(cnn, X[:1], options={"zipmap": False}, target_opset=opset)
    assert {o.version for o in onx.opset_import if o.domain == ""} == {opset}
    label, proba = run(onx, X)
    np.testing.assert_array_equal(label, cnn.predict(X))
    close(proba, cnn.predict_proba(X))


# ---- RNN ------------------------------------------------------------------------------
def test_rnn_classifier_on_a_table_of_sequences(digits):
    X, y = digits
    check_classifier(RNNClassifier(hidden_size=8, max_iter=2, **FAST).fit(X, y % 3), X)


@pytest.mark.parametrize("params", [
    dict(cell="lstm"),
    dict(cell="gru", bidirectional=True, pooling="mean", num_layers=2),
    dict(cell="rnn", pooling="max", hidden_layer_sizes=(8,)),
    dict(cell="lstm", pooling="attention", downsample=3, batch_norm=True, frontend="conv"),
    dict(cell="gru", frontend="strided", downsample=3),
], ids=["lstm-last", "bigru-mean-2layers", "rnn-max", "conv-pooled-attention", "strided"])
def test_rnn_regressor_on_3d_sequences_of_any_length(params):
    rng = np.random.RandomState(0)
    X = rng.randn(50, 3, 12).astype(np.float32)  # (n, C, T), aeon's layout
    reg = RNNRegressor(hidden_size=8, max_iter=2, **FAST, **params).fit(X, X[:, 0].sum(1))
    check_regressor(reg, X)
    # the time axis is dynamic too when declared so
    from skl2onnx.common.data_types import FloatTensorType

    onx = skl2onnx.to_onnx(reg, initial_types=[("X", FloatTensorType([None, 3, None]))])
    longer = rng.randn(7, 3, 20).astype(np.float32)
    close(run(onx, longer)[0], reg.predict(longer))


def test_rnn_fitted_channels_last_exports_in_its_layout():
    """channels_last=True (the old (n, T, C) layout) exports as predict reads it."""
    rng = np.random.RandomState(1)
    X = rng.randn(40, 12, 3).astype(np.float32)
    clf = RNNClassifier(hidden_size=8, max_iter=2, channels_last=True, **FAST)
    clf.fit(X, (X[:, :, 0].sum(1) > 0).astype(int))
    check_classifier(clf, X)


# ---- seed ensembles -------------------------------------------------------------------
def test_seed_ensembles_export_as_the_mean_of_their_members(digits):
    X, y = digits
    clf = make_pipeline(StandardScaler(), SeedEnsembleClassifier(
        MLPClassifier((8,), max_iter=2, **FAST), n_estimators=3, random_state=0))
    check_classifier(clf.fit(X, y), X)
    signals = np.random.RandomState(0).randn(40, 24).astype(np.float32)
    reg = SeedEnsembleRegressor(CNNRegressor(channels=(4,), max_iter=2, **FAST),
                                n_estimators=2, random_state=0)
    check_regressor(reg.fit(signals, signals.mean(axis=1)), signals)


def test_seed_ensembles_of_pipelines_and_unfitted_ones_are_refused(digits):
    X, y = digits
    with pytest.raises(NotExportableError, match="not fitted yet"):
        skl2onnx.to_onnx(SeedEnsembleClassifier(MLPClassifier()), X[:1])
    members = make_pipeline(StandardScaler(), MLPClassifier((4,), max_iter=1, **FAST))
    ens = SeedEnsembleClassifier(members, n_estimators=2, random_state=0).fit(X, y)
    with pytest.raises(NotExportableError, match="Put the preprocessing before the ensemble"):
        skl2onnx.to_onnx(ens, X[:1])


# ---- fine-tuners ----------------------------------------------------------------------
def test_finetuned_cnn_with_its_member_from_scratch(digits):
    X, y = digits
    source = CNNClassifier(input_shape=(8, 8), channels=(4,), max_iter=2, **FAST)
    source.fit(X[y < 5], y[y < 5])
    clf = FineTuneClassifier(source, max_iter=2, **FAST).fit(X[y >= 5], y[y >= 5])
    assert clf.scratch_ is not None  # predict_proba averages two networks
    check_classifier(clf, X)


def test_finetuned_mlp_regressor_and_rnn_classifier(digits):
    X, y = digits
    mlp = MLPClassifier((16,), max_iter=2, **FAST).fit(X[y < 5], y[y < 5])
    reg = FineTuneRegressor(mlp, hidden_layer_sizes=(8,), max_iter=2, **FAST)
    check_regressor(reg.fit(X[y >= 5], X[y >= 5].mean(axis=1)), X)
    rnn = RNNClassifier(hidden_size=8, max_iter=2, **FAST).fit(X[y < 5], y[y < 5])
    clf = FineTuneClassifier(rnn, ensemble_scratch=False, max_iter=2, **FAST)
    # 64 recurrent steps of unit-scale (series-normalised) input: onnxruntime's LSTM
    # kernel sums in another order than torch's, and float32 rounding accumulates over
    # the steps (3.6e-5 at most here; the torch module itself matches to 0)
    check_classifier(clf.fit(X[y >= 5], y[y >= 5]), X, atol=1e-4)


def test_finetuned_torch_module_with_input_shape(digits):
    import torch

    X, y = digits
    body = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(),
                               torch.nn.AdaptiveAvgPool2d(2), torch.nn.Flatten())
    clf = FineTuneClassifier(body, input_shape=(1, 8, 8), max_iter=2, **FAST).fit(X, y)
    check_classifier(clf, X)


def test_subclasses_convert_once_registered(tabular):
    from sktune.export import register_onnx_converters

    class MyMLP(MLPClassifier):
        pass

    X, y = tabular
    clf = MyMLP((4,), max_iter=1, **FAST).fit(X, y)
    with pytest.raises(Exception, match="MyMLP"):  # skl2onnx: by exact class
        skl2onnx.to_onnx(clf, X[:1])
    register_onnx_converters(MyMLP)
    check_classifier(clf, X)


def test_finetuned_module_with_resize_and_normalisation(digits):
    import torch

    X, y = digits
    body = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, stride=2), torch.nn.ReLU(),
                               torch.nn.Flatten())
    clf = FineTuneClassifier(body, input_shape=(1, 8, 8), input_size=(12, 12),
                             normalize_mean=(0.5,), normalize_std=(4.0,), max_iter=2, **FAST)
    check_classifier(clf.fit(X, y), X)


def test_a_network_torch_onnx_cannot_export_says_so(digits):
    """Adaptive pooling after a resize: torch's exporter loses the map size."""
    import torch

    X, y = digits
    body = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.AdaptiveAvgPool2d(2),
                               torch.nn.Flatten())
    clf = FineTuneClassifier(body, input_shape=(1, 8, 8), input_size=(12, 12), max_iter=1,
                             **FAST).fit(X, y)
    with pytest.raises(NotExportableError, match="torch.onnx could not export .*to_torchscript"):
        skl2onnx.to_onnx(clf, X[:1])


# ---- refusals -------------------------------------------------------------------------
def test_text_pipelines_and_token_ids_are_refused_with_the_reason():
    docs = ["a good film", "a bad film", "good good", "bad bad"] * 5
    labels = [1, 0, 1, 0] * 5
    pipe = make_pipeline(TextSequencer(), RNNClassifier(hidden_size=4, max_iter=1, **FAST))
    pipe.fit(docs, labels)
    with pytest.raises(NotExportableError, match="TextSequencer .*pickling"):
        skl2onnx.to_onnx(pipe, np.array(docs[:1]))
    ids = np.random.RandomState(0).randint(1, 9, size=(20, 5))
    rnn = RNNClassifier(hidden_size=4, embedding_dim=4, max_iter=1, **FAST).fit(ids, labels)
    with pytest.raises(NotExportableError, match="token ids"):
        skl2onnx.to_onnx(rnn, ids[:1].astype(np.float32))


def test_ragged_signals_and_unfitted_models_are_refused(tabular):
    rng = np.random.RandomState(0)
    signals = [rng.randn(rng.randint(5, 12)) for _ in range(20)]
    cnn = CNNClassifier(channels=(4,), max_iter=1, **FAST).fit(signals, [0, 1] * 10)
    with pytest.raises(NotExportableError, match="variable-length signals"):
        skl2onnx.to_onnx(cnn, np.zeros((1, 12), np.float32))
    with pytest.raises(NotExportableError, match="not fitted"):
        skl2onnx.to_onnx(MLPClassifier(), tabular[0][:1])


def test_hugging_face_estimators_point_to_their_exporter():
    from sktune import TransformerClassifier

    with pytest.raises(NotExportableError, match="optimum"):
        skl2onnx.to_onnx(TransformerClassifier(), np.array([["a text"]]))


def test_an_estimator_after_an_unconvertible_step_still_fails_as_skl2onnx_says(tabular):
    """Not ours to fix: skl2onnx's own message for a step it has no converter for."""
    from sklearn.preprocessing import FunctionTransformer

    X, y = tabular
    pipe = make_pipeline(FunctionTransformer(np.tanh), MLPClassifier((4,), max_iter=1, **FAST))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.fit(X, y)
    with pytest.raises(Exception, match="FunctionTransformer"):
        skl2onnx.to_onnx(pipe, X[:1])
