"""The examples and the command line run end to end (in their --quick size)."""

from pathlib import Path

import numpy as np
import pytest

from sktune import MLPClassifier, search_space
from sktune._cli import run
from tests.conftest import run_python

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script, tmp_path):
    done = run_python(script, "--quick", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip()
    # no warning floods: at most one line about convergence, none per fit or per epoch
    assert done.stderr.count("ConvergenceWarning") <= 1, done.stderr[-2000:]
    assert "larger than the sample size" not in done.stderr


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
    ["--dataset", "digits", "--model", "cnn", "--strategy", "halving"],
    ["--dataset", "wine", "--model", "rnn", "--strategy", "optuna"],
    ["--dataset", "iris", "--dask", "local", "--n-jobs", "2"],
], ids=["cnn-halving", "rnn-optuna", "mlp-dask"])
def test_cli_strategies_families_and_dask(argv, capsys):
    search = run(argv + ["--quick"])
    out = capsys.readouterr().out
    assert "test score:" in out and np.isfinite(search.best_score_)
