"""The code is clean under ruff, as configured in pyproject.toml ([tool.ruff])."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _ruff():
    try:
        from ruff.__main__ import find_ruff_bin
    except ImportError:
        return shutil.which("ruff")
    return find_ruff_bin()


@pytest.fixture(scope="module")
def ruff():
    path = _ruff()
    if path is None:
        pytest.skip("ruff is not installed (it is in the test extra: pip install -e '.[test]')")
    return path


def test_the_repository_is_clean_under_ruff(ruff):
    result = subprocess.run([ruff, "check", "--no-cache", "--output-format", "concise", "."],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_configured_rules_are_the_ones_run(ruff, tmp_path):
    """The configuration is read (unsorted imports, bugbear and pyupgrade findings are
    reported), so a clean run above means something."""
    sample = tmp_path / "sample.py"
    sample.write_text("import sys\nimport os\n\n\ndef f(x=[]):\n    return dict(), os, sys, "
                      "x, '%s' % x\n")
    result = subprocess.run([ruff, "check", "--no-cache", "--config",
                             str(ROOT / "pyproject.toml"), "--output-format", "concise",
                             str(sample)], capture_output=True, text=True)
    for code in ("I001", "B006", "UP031"):
        assert code in result.stdout, result.stdout
