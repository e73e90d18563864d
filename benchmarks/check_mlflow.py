"""MLflow with sktune: model logging round trips, and autolog over searches.

A manual check (MLflow is not a test dependency: it is large). Runs offline against a
local file store in a temporary folder::

    pip install mlflow-skinny      # or mlflow
    python benchmarks/check_mlflow.py

It prints one line per check, ``ok`` or ``FAIL``, and exits non-zero on a failure:

1. ``mlflow.sklearn.log_model`` / ``load_model`` round-trips a fitted sktune pipeline
   (same predictions), and the ``pyfunc`` flavour predicts the same;
2. ``mlflow.sklearn.autolog()`` over scikit-learn's ``GridSearchCV`` and sktune's fused
   ``GridSearchCV`` on the same grid: the same run layout (a parent run, one child run
   per candidate, the same parameter and metric keys), the same ``cv_results_``;
3. whether the sktune search still trained its candidates fused under autolog;
4. the pipeline converted to ONNX and logged with ``mlflow.onnx``, predicting through
   ``pyfunc`` (onnxruntime) as the pipeline does.
"""

import os
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV as SkGridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktune import MLPClassifier
from sktune.model_selection import GridSearchCV

FAILED = []


def check(name, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {name}" + (f": {detail}" if detail else ""))
    if not ok:
        FAILED.append(name)


def round_trip(mlflow, X, y):
    pipe = make_pipeline(StandardScaler(), MLPClassifier((16,), max_iter=30, random_state=0))
    pipe.fit(X, y)
    for fmt in ("default", "cloudpickle", "pickle"):
        options = {} if fmt == "default" else {"serialization_format": fmt}
        try:
            with mlflow.start_run():
                info = mlflow.sklearn.log_model(pipe, name="model", input_example=X[:2],
                                                **options)
            loaded = mlflow.sklearn.load_model(info.model_uri)
            pyfunc = mlflow.pyfunc.load_model(info.model_uri)
        except Exception as exc:  # noqa: BLE001 - reported, the other formats go on
            check(f"log_model/load_model round trip ({fmt} format)", False,
                  f"{type(exc).__name__}: {str(exc)[:300]}")
            continue
        check(f"log_model/load_model round trip ({fmt} format)",
              np.array_equal(loaded.predict(X), pipe.predict(X))
              and np.allclose(loaded.predict_proba(X), pipe.predict_proba(X)))
        check(f"pyfunc predict ({fmt} format)",
              np.array_equal(np.asarray(pyfunc.predict(X)), pipe.predict(X)))


def onnx_flavour(mlflow, X, y):
    """The pipeline converted to ONNX, logged with MLflow's onnx flavour: served by
    onnxruntime through pyfunc, with no torch and no sktune needed to load it."""
    try:
        import mlflow.onnx
        import skl2onnx
    except ImportError as exc:
        print(f"skip mlflow.onnx: {exc}")
        return
    pipe = make_pipeline(StandardScaler(), MLPClassifier((16,), max_iter=30, random_state=0))
    pipe.fit(X, y)
    onx = skl2onnx.to_onnx(pipe, X[:1], options={"zipmap": False})
    with mlflow.start_run():
        info = mlflow.onnx.log_model(onx, name="onnx_model")
    outputs = mlflow.pyfunc.load_model(info.model_uri).predict({"X": X})
    check("mlflow.onnx log_model + pyfunc predict",
          np.array_equal(np.asarray(outputs["label"]), pipe.predict(X))
          and np.allclose(outputs["probabilities"], pipe.predict_proba(X), atol=1e-5))


def searched(mlflow, search_class, X, y):
    """Fit a search under autolog; return (search, parent run, child runs)."""
    client = mlflow.tracking.MlflowClient()
    search = search_class(MLPClassifier((8,), max_iter=15, random_state=0),
                          {"learning_rate_init": [1e-3, 1e-2], "alpha": [1e-4, 1e-2]}, cv=3)
    with mlflow.start_run() as run:
        search.fit(X, y)
    experiment = run.info.experiment_id
    children = client.search_runs(
        [experiment], filter_string=f"tags.mlflow.parentRunId = '{run.info.run_id}'")
    return search, client.get_run(run.info.run_id), children


def autolog(mlflow, X, y):
    import sktune.model_selection._search as fused_module

    mlflow.sklearn.autolog(max_tuning_runs=None, log_models=False)
    calls = []
    original = fused_module._FusedSearchCV._fit_fused

    def counting(self, *args, **kwargs):
        calls.append(type(self).__name__)
        return original(self, *args, **kwargs)

    fused_module._FusedSearchCV._fit_fused = counting
    try:
        sk, sk_parent, sk_children = searched(mlflow, SkGridSearchCV, X, y)
        st, st_parent, st_children = searched(mlflow, GridSearchCV, X, y)
    finally:
        fused_module._FusedSearchCV._fit_fused = original
        mlflow.sklearn.autolog(disable=True)
    check("autolog: a child run per candidate",
          len(sk_children) == len(st_children) == 4,
          f"scikit-learn {len(sk_children)}, sktune {len(st_children)}")
    check("autolog: the same parent parameters",
          set(sk_parent.data.params) == set(st_parent.data.params),
          str(set(sk_parent.data.params) ^ set(st_parent.data.params)))
    check("autolog: the same parent metrics",
          set(sk_parent.data.metrics) == set(st_parent.data.metrics),
          str(set(sk_parent.data.metrics) ^ set(st_parent.data.metrics)))
    child_metrics = lambda runs: {k for r in runs for k in r.data.metrics}  # noqa: E731
    check("autolog: the same child metrics",
          child_metrics(sk_children) == child_metrics(st_children),
          str(child_metrics(sk_children) ^ child_metrics(st_children)))
    check("autolog: the same cv_results_ scores",
          np.allclose(sk.cv_results_["mean_test_score"], st.cv_results_["mean_test_score"]))
    check("autolog: the sktune search trained fused", calls == ["GridSearchCV"],
          f"fused runs seen: {calls}")


def main():
    # a local file store (no database, no server); MLflow 3 keeps it behind this switch
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    try:
        import mlflow
        import mlflow.sklearn
    except ImportError:
        print("mlflow is not installed: pip install mlflow-skinny")
        return 0
    X, y = load_iris(return_X_y=True)
    X = X.astype(np.float32)
    with tempfile.TemporaryDirectory() as store:
        mlflow.set_tracking_uri(Path(store, "mlruns").as_uri())
        mlflow.set_experiment("sktune-check")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            round_trip(mlflow, X, y)
            onnx_flavour(mlflow, X, y)
            autolog(mlflow, X, y)
    print(f"mlflow {mlflow.__version__}: {len(FAILED)} check(s) failed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
