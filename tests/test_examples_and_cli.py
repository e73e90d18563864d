"""The examples and the command line run end to end (in their --quick size).

The examples run in this process (``runpy``, as ``__main__``, with ``sys.argv`` and the
working directory of a real run, and Python's default warning filters): a subprocess
per example costs an interpreter and a torch import, 3-5 s on an idle machine and
several times that on a loaded one, for a few seconds of work. The console script is
still tested as a real process (tests/test_cli.py).
"""

import runpy
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sktune import MLPClassifier, _cli, search_space
from sktune._cli import run

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(script), "--quick"])
    with warnings.catch_warnings(record=True) as shown:
        warnings.resetwarnings()  # a fresh interpreter's filters, not pytest's
        warnings.simplefilter("default")
        runpy.run_path(str(script), run_name="__main__")
    assert capsys.readouterr().out.strip()
    # no warning floods: a single fit may warn once (scikit-learn's rule), a search must
    # not warn per candidate, and default search spaces must not offer oversized batches
    converge = [w for w in shown if issubclass(w.category, ConvergenceWarning)]
    assert len(converge) <= 3, [str(w.message) for w in converge]
    assert not [w for w in shown if "larger than the sample size" in str(w.message)]


def test_cli_quick_search_prints_best_parameters_and_test_score(capsys):
    search = run(["--dataset", "iris", "--quick"])
    out = capsys.readouterr().out
    assert "best parameters:" in out and "test score:" in out
    assert search.best_score_ > 0.5


def test_search_space_rules():
    space = search_space(MLPClassifier())
    assert {"learning_rate_init", "alpha", "dropout", "hidden_layer_sizes"} <= set(space)
    assert "learning_rate_init" not in search_space(MLPClassifier(),
                                                    exclude=["learning_rate_init"])
    with pytest.raises(ValueError, match="No default distribution"):
        search_space(MLPClassifier(), include=["momentum"])
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(TypeError, match="not an sktune estimator"):
        search_space(LogisticRegression())


@pytest.mark.parametrize("argv", [
    ["--dataset", "digits", "--model", "cnn", "--strategy", "halving", "--n-iter", "3",
     "--max-iter", "6"],  # rounds of 3 candidates x 2 epochs, then 1 x 6
    ["--dataset", "iris", "--model", "rnn", "--strategy", "optuna", "--n-iter", "2",
     "--max-iter", "3"],  # trials pruned over 3 partial_fit epochs, the best refitted
    # a LocalCluster of 1 worker (the plumbing; test_dask.py runs searches on 2 workers)
    ["--dataset", "iris", "--dask", "local", "--n-jobs", "1", "--n-iter", "2"],
], ids=["cnn-halving", "rnn-optuna", "mlp-dask"])
def test_cli_strategies_families_and_dask(argv, capsys, monkeypatch):
    # digits cut to 300 rows (~30 per class): still read as 8x8 images by the CNN
    load, task = _cli.DATASETS["digits"]
    monkeypatch.setitem(_cli.DATASETS, "digits", (
        lambda return_X_y: tuple(a[:300] for a in load(return_X_y=True)), task))
    search = run(argv + ["--quick"])
    out = capsys.readouterr().out
    assert "test score:" in out and np.isfinite(search.best_score_)
