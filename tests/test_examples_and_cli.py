"""The examples and the command line run end to end (in their --quick size)."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sktune import MLPClassifier, search_space
from sktune._cli import main

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script, tmp_path):
    done = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True,
                          text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip()


def test_cli_quick_search_prints_best_parameters_and_test_score(capsys):
    search = main(["--dataset", "iris", "--quick"])
    out = capsys.readouterr().out
    assert "best parameters:" in out and "test score:" in out
    assert search.best_score_ > 0.5


def test_cli_csv_regression(tmp_path, capsys):
    import numpy as np
    import pandas as pd

    rng = np.random.RandomState(0)
    frame = pd.DataFrame(rng.randn(120, 3), columns=["a", "b", "c"])
    frame["y"] = frame["a"] * 2 - frame["b"] + rng.rand(120)
    frame.to_csv(tmp_path / "data.csv", index=False)
    main(["--csv", str(tmp_path / "data.csv"), "--target", "y", "--quick"])
    assert "regression" in capsys.readouterr().out


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
    search = main(argv + ["--quick"])
    out = capsys.readouterr().out
    assert "test score:" in out and np.isfinite(search.best_score_)


def test_cli_output_folder(tmp_path, capsys):
    import joblib

    main(["--dataset", "iris", "--quick", "--output", str(tmp_path)])
    for name in ("leaderboard.csv", "best_model.joblib", "scores.png", "learning_curves.png"):
        assert (tmp_path / name).stat().st_size > 0
    model = joblib.load(tmp_path / "best_model.joblib")
    assert model.predict([[5.0, 3.0, 1.5, 0.2]]).shape == (1,)
