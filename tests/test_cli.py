"""The command line (sktune/_cli.py, sktune/_tabular.py): real CSV tables, data errors found
before any fit, exit statuses, outputs, quiet and plain output."""

import contextlib
import os
import re

import numpy as np
import pytest

from sktune import _cli
from sktune._cli import main, run
from sktune._tabular import DataError, infer_task, plan_columns
from tests.conftest import ROOT, run_python

ANSI = re.compile(r"\x1b\[")


def messy_frame(n=160, seed=0):
    """A table as people have them: an id, missing values, a city, a date, free text,
    an income in the tens of thousands and a yes/no label."""
    import pandas as pd

    rng = np.random.RandomState(seed)
    city = rng.choice(["Paris", "Lyon", "Nantes", "Lille"], n)
    age = rng.randint(18, 70, n).astype(float)
    hours = rng.uniform(10, 60, n)
    bonus = {"Paris": 9000, "Lyon": 3000, "Nantes": 0, "Lille": -2000}
    income = (20000 + 600 * (age - 18) + 350 * hours + np.vectorize(bonus.get)(city)
              + rng.normal(0, 1500, n))
    frame = pd.DataFrame({
        "customer_id": np.arange(1000, 1000 + n),
        "age": age, "hours": hours.round(1), "city": city,
        "joined": (pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.randint(0, 3000, n),
                                                                unit="D")).strftime("%Y-%m-%d"),
        "comment": [" ".join(rng.choice(["great", "service", "slow", "delivery", "would",
                                         "buy", "again", "not", "happy"], 7)) for _ in range(n)],
        "income": income.round(0),
    })
    frame["churned"] = np.where(income > np.median(income), "no", "yes")
    for column in ("age", "city", "hours"):
        frame.loc[rng.rand(n) < 0.08, column] = np.nan
    return frame


@pytest.fixture(scope="module")
def messy_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("csv") / "customers.csv"
    messy_frame().to_csv(path, index=False)
    return path


def raw_rows(path, target):
    """Rows of the CSV as a user would pass them: a missing value and an unseen category."""
    import pandas as pd

    rows = pd.read_csv(path).drop(columns=target).head(6).copy()
    rows.loc[rows.index[0], "city"] = "Marseille"  # never seen in training
    rows.loc[rows.index[1], "age"] = np.nan
    rows.loc[rows.index[2], "joined"] = np.nan
    return rows


@pytest.mark.parametrize("target", ["churned", "income"])
def test_csv_with_missing_values_strings_dates_ids_and_text(messy_csv, target, tmp_path,
                                                            capsys):
    import joblib
    from sklearn.compose import TransformedTargetRegressor

    out_dir = tmp_path / "results"
    # 2 candidates learn the label (test accuracy 0.82-0.93 over random states 0-2); the
    # income needs --quick's 4 (R^2 0.84-0.86; with 2, 0.46 at random state 1)
    n_iter = ["--n-iter", "2"] if target == "churned" else []
    search = run(["--csv", str(messy_csv), "--target", target, "--quick", "--output",
                  str(out_dir)] + n_iter)
    out = capsys.readouterr().out
    assert "customer_id: dropped: a distinct integer per row (an identifier)" in out
    assert "joined: date: used as" in out
    assert "comment: dropped: free text" in out
    model = joblib.load(out_dir / "best_model.joblib")
    predictions = model.predict(raw_rows(messy_csv, target))
    assert predictions.shape == (6,)
    test_score = float(re.search(r"test score: (\S+)", out).group(1))
    if target == "income":
        # an unscaled target (tens of thousands): learned through TransformedTargetRegressor
        assert isinstance(model, TransformedTargetRegressor)
        assert "regression" in out and test_score > 0.5
        assert np.all((predictions > 10_000) & (predictions < 120_000))
    else:
        assert "classification" in out and test_score > 0.6
        assert set(predictions) <= {"yes", "no"}
    assert np.isfinite(search.best_score_)


def test_column_kinds():
    import pandas as pd

    frame = pd.DataFrame({
        "id": range(50), "x": np.linspace(0, 1, 50), "flag": [True, False] * 25,
        "const": 3, "empty": np.nan, "code": ["a", "b", "c", "d", "e"] * 10,
        "n_text": [str(v) for v in range(49)] + ["?"],  # numbers with one "?"
        "when": pd.date_range("2020-01-01", periods=50).strftime("%d/%m/%Y"),
        "name": [f"user{i}" for i in range(50)],
    })
    kinds = {c.name: c.kind for c in plan_columns(frame)}
    assert kinds == {"id": "dropped", "x": "numeric", "flag": "numeric", "const": "dropped",
                     "empty": "dropped", "code": "categorical", "n_text": "numeric",
                     "when": "date", "name": "dropped"}
    with pytest.raises(DataError, match="no usable feature column"):
        plan_columns(frame[["id", "const", "empty"]])


def test_task_inference():
    import pandas as pd

    assert infer_task(pd.Series(["a", "b"]), "y")[0] == "classification"
    assert infer_task(pd.Series([0, 1, 2] * 10), "y")[0] == "classification"
    assert infer_task(pd.Series(np.arange(100) * 1000), "y")[0] == "regression"
    assert infer_task(pd.Series([0.5, 1.5, 2.0]), "y")[0] == "regression"


def _no_fit(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("a fit started although the data was wrong")

    monkeypatch.setattr(_cli, "run_search", fail)


@pytest.mark.parametrize("change,args,message", [
    (None, ["--target", "salary"], "'salary' is not a column"),
    (lambda f: f.assign(churned=np.nan), [], "has no values"),
    (lambda f: f.assign(churned=f["churned"].where(f.index % 9 > 0)), [],
     "rows have no value in the target column 'churned'"),
    (lambda f: f.assign(churned="yes"), [], "a single class"),
    (lambda f: f.assign(churned=["rare"] * 3 + ["yes", "no"] * 78 + ["no"]), [],
     "'rare' \\(3 rows\\)"),
    (lambda f: f[["customer_id", "comment", "churned"]], [], "no usable feature column"),
    (None, ["--task", "regression"], "is not numeric"),
    (None, ["--output", "FILE"], "exists and is not a folder"),
    # a folder inside a (writable) file: found before the search, not after it
    (None, ["--output", "FILE/out"], "is a file, not a folder"),
], ids=["no-column", "all-nan", "missing-target", "one-class", "rare-class", "no-feature",
        "non-numeric-regression", "output-is-a-file", "output-under-a-file"])
def test_data_errors_are_found_before_any_fit(change, args, message, tmp_path, monkeypatch,
                                              capsys):
    frame = messy_frame()
    if change is not None:
        frame = change(frame)
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    (tmp_path / "FILE").write_text("")
    args = [str(tmp_path / a) if a.startswith("FILE") else a for a in args]
    if "--target" not in args:
        args = ["--target", "churned"] + args
    _no_fit(monkeypatch)
    assert main(["--csv", str(path), "--quick"] + args) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("sktune: error: ")
    assert re.search(message, err), err


def test_missing_target_rows_can_be_dropped(tmp_path, capsys):
    frame = messy_frame()
    frame.loc[[3, 5], "churned"] = np.nan
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    run(["--csv", str(path), "--target", "churned", "--drop-missing-target", "--quick",
         "--n-iter", "1"])
    assert "2 rows without a target value dropped (CSV lines 5, 7)" in capsys.readouterr().out


def test_output_writes_what_it_can_without_matplotlib(tmp_path, monkeypatch, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    out_dir = tmp_path / "out"
    assert main(["--dataset", "iris", "--quick", "--n-iter", "2", "--output",
                 str(out_dir)]) == 0
    captured = capsys.readouterr()
    assert "matplotlib is not installed" in captured.out.split("Fitting")[0]  # said upfront
    assert sorted(p.name for p in out_dir.iterdir()) == ["best_model.joblib", "leaderboard.csv"]
    assert "could not write scores.png" in captured.err


def test_output_folder_is_not_left_empty(tmp_path, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("joblib.dump", broken)
    monkeypatch.setattr("sktune.model_selection._results.leaderboard", broken)
    monkeypatch.setitem(__import__("sys").modules, "matplotlib", None)
    out_dir = tmp_path / "out"
    assert main(["--dataset", "iris", "--quick", "--n-iter", "1", "--output",
                 str(out_dir)]) == 1
    assert not out_dir.exists()
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("sktune: error: nothing")


def test_a_full_disk_keeps_the_previous_model_and_fails(tmp_path, monkeypatch, capsys):
    """joblib.dump fails half-way (ENOSPC): best_model.joblib of the previous run stays
    whole, no partial file is left, and the exit status says the model was not written."""
    import errno

    import joblib

    out_dir = tmp_path / "out"
    args = ["--dataset", "iris", "--quick", "--n-iter", "1", "--output", str(out_dir)]
    assert main(args) == 0
    before = (out_dir / "best_model.joblib").read_bytes()
    real_dump = joblib.dump

    def full_disk(value, path, *a, **k):
        real_dump(value, path, *a, **k)
        with open(path, "r+b") as f:
            f.truncate(10)  # what reached the disk before it filled up
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("joblib.dump", full_disk)
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "could not write best_model.joblib (the previous one is kept)" in err
    assert "the best model could not be written" in err
    assert (out_dir / "best_model.joblib").read_bytes() == before
    assert joblib.load(out_dir / "best_model.joblib").predict([[5.1, 3.5, 1.4, 0.2]]).shape == (1,)
    assert not [p.name for p in out_dir.iterdir() if "partial" in p.name]


def test_verbose_prints_one_line_per_fit_with_its_score(capsys):
    run(["--dataset", "iris", "--quick", "--n-iter", "2", "--verbose"])
    out = capsys.readouterr().out
    fits = [line for line in out.splitlines() if line.startswith("[CV")]
    assert len(fits) == 2 * 2 and all("score=" in line and "time=" in line for line in fits)


def test_output_is_quiet_and_plain(capsys):
    """One summary line about convergence; no batch-size or per-fit warnings; no colours."""
    run(["--dataset", "iris", "--quick", "--n-iter", "3"])
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert len([line for line in text.splitlines() if "converg" in line.lower()]) <= 1
    assert "larger than the sample size" not in text
    assert "Warning" not in captured.err
    assert not ANSI.search(text)


def test_optuna_searches_every_default_parameter_and_scales_regression_targets(capsys):
    search = run(["--dataset", "diabetes", "--strategy", "optuna", "--quick", "--n-iter", "2",
                  "--max-iter", "4", "--verbose"])  # test R^2 0.36-0.44 over random states 0-2
    captured = capsys.readouterr()
    assert "hidden_layer_sizes" in search.param_distributions
    assert "hidden_layer_sizes" in search.best_params_
    assert float(re.search(r"test score: (\S+)", captured.out).group(1)) > 0.0
    assert not ANSI.search(captured.out + captured.err)  # optuna's log, written to a pipe


def test_halving_and_the_search_class_factory(capsys):
    from sktune.model_selection import HalvingRandomSearchCV

    search = run(["--dataset", "wine", "--strategy", "halving", "--quick"])
    assert isinstance(search, HalvingRandomSearchCV) and _cli.search_class("halving") is \
        HalvingRandomSearchCV
    assert search.best_params_["mlpclassifier__max_iter"] == max(search.n_resources_)
    out = capsys.readouterr().out
    assert "test score:" in out
    # the fused search's progress line, once per rung at least (plain text: not a tty)
    total = sum(n * search.n_splits_ for n in search.n_candidates_)
    assert re.search(rf"fits {total}/{total} \| best mean score 0\.\d+ \| elapsed", out), out


def test_the_default_search_is_sktunes_fused_search_with_a_progress_line(capsys):
    from sktune.model_selection import RandomizedSearchCV

    search = run(["--dataset", "iris", "--quick", "--n-iter", "2"])
    assert type(search) is RandomizedSearchCV
    out = capsys.readouterr().out
    n_fits = 2 * search.n_splits_
    lines = re.findall(r"fits (\d+)/(\d+)", out)
    assert lines and lines[-1] == (str(n_fits), str(n_fits)), out
    assert "\r" not in out and not ANSI.search(out)


def test_unconverged_fits_are_one_note_from_the_searchs_own_summary(capsys):
    run(["--dataset", "iris", "--quick", "--n-iter", "2", "--max-iter", "2"])
    captured = capsys.readouterr()
    notes = re.findall(r"note: (\d+) of (\d+) fits reached max_iter.*", captured.out)
    assert len(notes) == 1 and int(notes[0][0]) >= 1, captured.out
    assert "ConvergenceWarning" not in captured.err


def test_exit_status_of_the_console_script():
    """``sktune`` runs ``sys.exit(main())`` (pyproject's entry point): 0 and a quiet stderr
    on success, in a real process."""
    import tomllib

    entry = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]["sktune"]
    assert entry == "sktune._cli:main"
    script = "import sys; from sktune._cli import main; sys.exit(main())"
    done = run_python("-c", script, "--dataset", "iris", "--quick", "--n-iter", "1")
    assert done.returncode == 0, done.stderr
    assert "test score:" in done.stdout and not done.stderr.strip()



def test_python_m_sktune_exits_with_main_s_status(tmp_path, monkeypatch, capsys):
    import runpy
    import sys

    missing = tmp_path / "missing.csv"
    monkeypatch.setattr(sys, "argv", ["sktune", "--csv", str(missing), "--target", "y"])
    with pytest.raises(SystemExit) as exit_:
        runpy.run_module("sktune", run_name="__main__", alter_sys=True)
    assert exit_.value.code == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        f"sktune: error: no such file: {missing}"]


def test_usage_errors_exit_with_status_2(capsys):
    assert main(["--csv", "x.csv"]) == 2
    assert "--csv needs --target" in capsys.readouterr().err
    assert main(["--help"]) == 0


def test_dask_runs_the_fits_on_every_worker_unless_told_otherwise(monkeypatch):
    # joblib runs n_jobs=1 in the calling process whatever the backend: on Dask the
    # default is every worker of the cluster, and a local cluster has one per core
    assert _cli.parse_args([]).n_jobs == 1
    assert _cli.parse_args(["--dask", "tcp://scheduler:8786"]).n_jobs == -1
    assert _cli.parse_args(["--dask", "local", "--n-jobs", "3"]).n_jobs == 3
    sizes = []

    @contextlib.contextmanager
    def fake_client(address, n_workers):
        sizes.append((address, n_workers))
        yield "client"

    import joblib

    from sktune.model_selection import _parallel

    monkeypatch.setattr(_parallel, "dask_client", fake_client)
    monkeypatch.setattr(joblib, "parallel_config", lambda backend: contextlib.nullcontext())
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    with _cli._backend(_cli.parse_args(["--dask", "local"])):
        pass
    with _cli._backend(_cli.parse_args(["--dask", "tcp://h:8786", "--n-jobs", "4"])):
        pass
    assert sizes == [(None, 6), ("tcp://h:8786", 4)]
