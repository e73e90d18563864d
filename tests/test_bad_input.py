"""Bad input, every estimator: a clear error naming the problem, never a raw torch error,
never a silently wrong result, and the estimator left as it was.

Each case is ``(name, call, exception, message regex)``; ``call(est, X, y)`` runs the
bad call on a fresh estimator, or on one already fitted on good data (the cases whose
name starts with ``fitted:``), whose predictions must then be unchanged.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from torch import nn

from sktune import (
    CNNClassifier,
    CNNRegressor,
    FineTuneClassifier,
    FineTuneRegressor,
    MLPClassifier,
    MLPRegressor,
    RNNClassifier,
    RNNRegressor,
)

# one test process runs the module: its module-scoped fitted models are built once
pytestmark = pytest.mark.xdist_group("bad_input")

_SMALL = dict(max_iter=2, random_state=0, device="cpu")
ESTIMATORS = {
    "MLPClassifier": MLPClassifier(hidden_layer_sizes=(8,), **_SMALL),
    "MLPRegressor": MLPRegressor(hidden_layer_sizes=(8,), **_SMALL),
    "CNNClassifier": CNNClassifier(channels=(4,), hidden_layer_sizes=(8,), **_SMALL),
    "CNNRegressor": CNNRegressor(channels=(4,), hidden_layer_sizes=(8,), **_SMALL),
    "RNNClassifier": RNNClassifier(hidden_size=4, **_SMALL),
    "RNNRegressor": RNNRegressor(hidden_size=4, **_SMALL),
    "FineTuneClassifier": FineTuneClassifier(nn.Sequential(nn.LazyLinear(8), nn.ReLU()),
                                             **_SMALL),
    "FineTuneRegressor": FineTuneRegressor(nn.Sequential(nn.LazyLinear(8), nn.ReLU()),
                                           **_SMALL),
}

rng = np.random.RandomState(0)
X_GOOD = rng.randn(40, 6)
Y_CLASS = np.arange(40) % 2
Y_REG = rng.randn(40)


def _with(X, i, j, value):
    X = X.astype(object if isinstance(value, str) else X.dtype).copy()
    X[i, j] = value
    return X


def _target(est):
    return Y_CLASS if "Classifier" in type(est).__name__ else Y_REG


# (name, call(est, X, y), exception, regex)
CASES = [
    ("X with NaN", lambda e, X, y: e.fit(_with(X, 3, 2, np.nan), y), ValueError, "NaN"),
    ("X with inf", lambda e, X, y: e.fit(_with(X, 3, 2, np.inf), y), ValueError, "infinity"),
    ("X with a string", lambda e, X, y: e.fit(_with(X, 3, 2, "Paris"), y), ValueError,
     "could not convert string to float|not numeric"),
    ("complex X", lambda e, X, y: e.fit(X + 1j, y), ValueError, "[Cc]omplex"),
    ("datetime X", lambda e, X, y: e.fit(np.datetime64("2024-01-01") + X.astype(int), y),
     ValueError, "datetime or timedelta values"),
    ("timedelta X", lambda e, X, y: e.fit(X.astype("timedelta64[s]"), y), ValueError,
     "datetime or timedelta values"),
    ("fitted: predict datetime X", lambda e, X, y: e.predict(
        np.datetime64("2024-01-01") + X.astype(int)), ValueError, "integer nanoseconds"),
    ("no rows", lambda e, X, y: e.fit(X[:0], y[:0]), ValueError, "0 sample"),
    ("no columns", lambda e, X, y: e.fit(X[:, :0], y), ValueError, "0 feature"),
    ("1-D X", lambda e, X, y: e.fit(X[:, 0], y), ValueError, "2D array|2-D|1-D|reshape"),
    ("X None", lambda e, X, y: e.fit(None, y), (ValueError, TypeError), "None"),
    ("callbacks=[object()]", lambda e, X, y: e.set_params(callbacks=[object()]).fit(X, y),
     ValueError, r"callbacks\[0\] is 'object', not a skorch callback"),
    ("y None", lambda e, X, y: e.fit(X, None), ValueError, "requires y"),
    ("lengths differ", lambda e, X, y: e.fit(X, y[:-3]), ValueError,
     "inconsistent numbers of samples"),
    ("y with NaN", lambda e, X, y: e.fit(X, _with(y[:, None].astype(float), 0, 0, np.nan)[:, 0]),
     ValueError, "NaN"),
    ("y 3-D", lambda e, X, y: e.fit(X, np.zeros((len(X), 2, 2))), ValueError,
     "y|target|dimension|shape"),
    ("negative sample_weight", lambda e, X, y: e.fit(X, y, sample_weight=-np.ones(len(X))),
     ValueError, "[Nn]egative"),
    ("NaN sample_weight", lambda e, X, y: e.fit(X, y, sample_weight=np.full(len(X), np.nan)),
     ValueError, "NaN"),
    ("sample_weight length", lambda e, X, y: e.fit(X, y, sample_weight=np.ones(3)),
     ValueError, "sample_weight.shape|shape"),
    ("zero sample_weight", lambda e, X, y: e.fit(X, y, sample_weight=np.zeros(len(X))),
     ValueError, "non-zero|positive"),
    ("predict before fit", lambda e, X, y: e.predict(X), NotFittedError, "not fitted"),
    ("fitted: predict with other width", lambda e, X, y: e.predict(X[:, :3]), ValueError,
     "features|shape"),
    ("fitted: predict NaN", lambda e, X, y: e.predict(_with(X, 0, 0, np.nan)), ValueError,
     "NaN"),
    ("fitted: predict complex", lambda e, X, y: e.predict(X + 1j), ValueError, "[Cc]omplex"),
    ("fitted: predict no rows", lambda e, X, y: e.predict(X[:0]), ValueError, "0 sample"),
    ("fitted: warm refit other width", lambda e, X, y: e.set_params(warm_start=True).fit(
        X[:, :3], y), ValueError, "features|shape"),
    ("fitted: partial_fit other width", lambda e, X, y: e.partial_fit(X[:, :3], y), ValueError,
     "features|shape"),
]
REGRESSOR_ONLY = [
    ("string y for a regressor", lambda e, X, y: e.fit(X, np.array(["a"] * len(X))),
     ValueError, "convert|numeric|string"),
    ("y with inf", lambda e, X, y: e.fit(X, np.r_[np.inf, y[1:]]), ValueError, "infinity"),
    ("timedelta y", lambda e, X, y: e.fit(X, (y * 100).astype("timedelta64[s]")), ValueError,
     "y holds datetime or timedelta values"),
]
CLASSIFIER_ONLY = [
    ("continuous y for a classifier", lambda e, X, y: e.fit(X, np.linspace(0, 1, len(X))),
     ValueError, "Unknown label type"),
    ("negative class_weight", lambda e, X, y: e.set_params(class_weight={0: -1.0}).fit(X, y),
     ValueError, "class_weight"),
    ("NaN class_weight", lambda e, X, y: e.set_params(class_weight={0: np.nan}).fit(X, y),
     ValueError, "class_weight"),
    ("partial_fit without classes", lambda e, X, y: e.partial_fit(X, y), ValueError,
     "classes must be passed"),
    ("fitted: partial_fit with other classes", lambda e, X, y: e.partial_fit(X, y, classes=[0, 5]),
     ValueError, "not the same as on last call"),
    ("fitted: warm refit with other classes", lambda e, X, y: e.set_params(
        warm_start=True).fit(X, (y + 1) * 3), ValueError, "same classes"),
    ("fitted: partial_fit with an unseen label", lambda e, X, y: e.partial_fit(X, y + 7),
     ValueError, "labels not in classes_"),
]


def _cases():
    for name in ESTIMATORS:
        extra = CLASSIFIER_ONLY if "Classifier" in name else REGRESSOR_ONLY
        for case in CASES + extra:
            yield pytest.param(name, *case, id=f"{name}-{case[0]}")


@pytest.fixture(scope="module")
def fitted():
    return {name: clone(est).fit(X_GOOD, _target(est)) for name, est in ESTIMATORS.items()}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name,case,call,exc,pattern", list(_cases()))
def test_bad_input_raises_a_clear_error_and_changes_nothing(name, case, call, exc, pattern,
                                                             fitted):
    if case.startswith("fitted:"):
        est = fitted[name]
        state = dict(est.__dict__)
        before = est.predict(X_GOOD)
    else:
        est, state, before = clone(ESTIMATORS[name]), None, None
    params = est.get_params()
    with pytest.raises(exc, match=pattern) as info:
        call(est, X_GOOD, _target(est))
    assert "torch" not in type(info.value).__module__  # never a raw torch error
    est.set_params(**params)
    if state is not None:
        assert est.__dict__.keys() == state.keys()
        np.testing.assert_array_equal(est.predict(X_GOOD), before)
    else:
        assert not hasattr(est, "net_")


def test_the_suite_is_large_enough():
    assert len(list(_cases())) >= 150


@pytest.mark.parametrize("make, message", [
    (lambda: MLPClassifier(hidden_layer_sizes=[[8]], **_SMALL), "'hidden_layer_sizes'"),
    (lambda: CNNClassifier(input_shape=(2.5, 2), **_SMALL), "'input_shape'"),
    (lambda: CNNClassifier(input_shape=(-2, -3), **_SMALL), "'input_shape'"),
    (lambda: FineTuneClassifier(nn.Linear(6, 4), unfreeze_at=(1.5,), **_SMALL),
     "'unfreeze_at'"),
    (lambda: FineTuneClassifier(nn.Linear(6, 4), weights=5, **_SMALL), "'weights'"),
])
def test_malformed_sizes_and_settings_are_refused(make, message):
    from sklearn.utils._param_validation import InvalidParameterError

    with pytest.raises(InvalidParameterError, match=message):
        make().fit(X_GOOD, Y_CLASS)


def test_dates_anywhere_in_lists_object_arrays_and_frames_are_refused():
    import datetime

    pd = pytest.importorskip("pandas")
    dates = np.datetime64("2024-01-01") + np.arange(len(X_GOOD)).astype("timedelta64[D]")
    for X in ([[1.0, d] for d in dates], np.array([[1.0, d] for d in dates], dtype=object),
              [[pd.Timestamp("2024-01-01"), 1.0]] * len(X_GOOD),
              pd.DataFrame({"a": X_GOOD[:, 0], "day": [datetime.date(2024, 1, 1)] * 40})):
        with pytest.raises(ValueError, match="datetime or timedelta values"):
            clone(ESTIMATORS["MLPClassifier"]).fit(X, Y_CLASS)
    for y in (pd.Series(Y_REG, dtype="Float64"), pd.Series(np.arange(40), dtype="Int64")):
        assert clone(ESTIMATORS["MLPRegressor"]).fit(X_GOOD, y).n_iter_ == 2  # not dates


def test_images_given_flat_or_flat_rows_given_as_images_say_how_to_reshape():
    X = rng.rand(20, 4, 4).astype(np.float32)
    cnn = CNNClassifier(channels=(4,), **_SMALL).fit(X, np.arange(20) % 2)
    with pytest.raises(ValueError, match=r"Reshape X to \(n_samples, 4, 4\)"):
        cnn.predict(X.reshape(20, 16))


def test_images_in_another_layout_than_fit_say_so():
    X = rng.rand(20, 8, 8, 3).astype(np.float32)
    cnn = CNNClassifier(channels=(4,), **_SMALL).fit(X, np.arange(20) % 2)
    with pytest.raises(ValueError, match=r"samples of shape \(3, 8, 8\), but CNNClassifier was "
                                         r"fitted on samples of shape \(8, 8, 3\).*another order"):
        cnn.predict(X.transpose(0, 3, 1, 2))


WEIGHTS_FILES = {  # name -> (write(path), message)
    "empty": (lambda p: p.write_bytes(b""), "is empty"),
    "truncated": (lambda p: p.write_bytes(_state_bytes()[:60]), "truncated, or in another"),
    "folder": (lambda p: p.mkdir(), "is a folder"),
    "a pickle": (lambda p: p.write_bytes(__import__("pickle").dumps({"w": object()})),
                 "does not unpickle"),
    "a whole module": (lambda p: __import__("torch").save(nn.Linear(6, 8), p),
                       "does not unpickle"),
    "a pickle named .safetensors": (
        lambda p: p.with_suffix(".safetensors").write_bytes(_state_bytes()),
        "could not be read as safetensors"),
    "other shapes": (lambda p: __import__("torch").save(nn.Linear(3, 8).state_dict(), p),
                     "does not fit the backbone"),
    "a numpy file": (lambda p: np.save(p.with_suffix(".npy"), np.zeros(3)), "is a numpy file"),
}


def _state_bytes():
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(nn.Linear(6, 8).state_dict(), buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("case", list(WEIGHTS_FILES))
def test_bad_weights_files_name_the_file_and_the_problem(case, tmp_path):
    write, message = WEIGHTS_FILES[case]
    path = tmp_path / "weights.pt"
    write(path)
    if case.endswith(".safetensors"):
        path = path.with_suffix(".safetensors")
    elif case == "a numpy file":
        path = path.with_suffix(".npy")
    est = FineTuneClassifier(nn.Sequential(nn.Linear(6, 8), nn.ReLU()), weights=path, **_SMALL)
    with pytest.raises(ValueError, match=message) as info:
        est.fit(X_GOOD, Y_CLASS)
    assert str(path) in str(info.value) and not hasattr(est, "net_")
    assert "weights_only=False" not in str(info.value)  # never advise unpickling


@pytest.mark.parametrize("kind", ["datetime", "period"])
@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor"])
def test_a_dataframe_with_a_date_column_names_the_column(name, kind):
    """Once: a period column (an object-kind dtype) was named twice, ['when', 'when']."""
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X_GOOD, columns=[f"x{i}" for i in range(6)])
    dates = pd.date_range("2024-01-01", periods=len(frame))
    frame["when"] = dates if kind == "datetime" else dates.to_period("D")
    with pytest.raises(ValueError, match=r"columns \['when'\]"):
        clone(ESTIMATORS[name]).fit(frame, _target(ESTIMATORS[name]))


@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor"])
def test_sparse_input_with_nan_is_refused(name):
    X = sp.csr_matrix(_with(X_GOOD, 0, 0, np.nan))
    with pytest.raises(ValueError, match="NaN"):
        clone(ESTIMATORS[name]).fit(X, _target(ESTIMATORS[name]))
