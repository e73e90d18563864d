"""Every ```python block of README.md and docs/*.md runs, so the documentation stays true.

Each block runs alone, in a fresh namespace, in a temporary working directory: it must
import what it uses. Two documented exceptions:

- A block that cannot run in CI (it needs a Dask scheduler on another machine, a GPU...)
  says so in its first line, visibly in the rendered page:
  ``# not run by tests/test_docs.py: <reason>``. The test checks that such blocks are few
  (``NOT_RUN`` lists them, with the same reason) and runs everything else.
- Sizes: ``SHRINK`` rewrites the few numbers that would make a block slow (epochs,
  candidates, parallel workers) before it runs; each rule must still match its block,
  so the list cannot rot silently. ``DATA`` defines, per page, the example data that a
  page's blocks refer to in prose (``X_a, y_a``: "task A").
"""

import re
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NOT_RUN_MARK = "# not run by tests/test_docs.py:"

#: (page, text in the block) -> reason; mirrors the blocks' own first lines
NOT_RUN = {
    ("docs/tuning.md", "tcp://scheduler-host:8786"): "needs a Dask scheduler at an address",
}

#: page -> [(old, new)] applied to its blocks: the same code at CI size
SHRINK = {
    "README.md": [("n_iter=30", "n_iter=2"), ("n_jobs=2", "n_jobs=1"),
                  ("random_state=0))", "random_state=0, max_iter=3))"),
                  ("search_space(pipe, X), random_state=0)",
                   "search_space(pipe, X), n_iter=2, cv=2, random_state=0)")],
    "docs/tuning.md": [("n_iter=10", "n_iter=2"), ("max_iter=50", "max_iter=3"),
                       ("n_iter=30)", "n_iter=2)"),
                       ("dask_client() as", "dask_client(n_workers=1) as")],
    # the CNNs fitted on (most of) digits: one epoch converts, exports and transfers alike
    "docs/deploy.md": [("input_shape=(8, 8), max_iter=5)", "input_shape=(8, 8), max_iter=1)")],
    "docs/finetune.md": [("input_shape=(8, 8), max_iter=5)",
                          "input_shape=(8, 8), max_iter=1)")],
}

#: page -> code defining the data its blocks use without defining it (the prose says what)
DATA = {
    "docs/finetune.md": (
        "from sklearn.datasets import load_digits\n"
        "X, y = load_digits(return_X_y=True)\n"
        "X_a, y_a, X_b, y_b = X[y < 5][:100], y[y < 5][:100], X[y >= 5][:30], y[y >= 5][:30]\n"
        "texts, labels = ['good film', 'bad film', 'great', 'awful'] * 4, [1, 0, 1, 0] * 4\n"),
    "docs/cnn_rnn.md": (
        "docs = ['not good', 'good', 'not bad', 'bad', 'very good', 'very bad'] * 4\n"
        "labels = [0, 1, 1, 0, 1, 0] * 4\n"),
}

#: blocks that are fragments (they use names defined in an earlier block or in the prose
#: only): expected to fail until made self-contained; strict, so an entry must be removed
#: when its block runs. Empty: every block runs on its own.
FRAGMENTS = {}


def python_blocks(page):
    """``(line number, code)`` of each ```python block of ``page``."""
    blocks, lines, start, code = [], page.read_text().splitlines(), None, []
    for number, line in enumerate(lines, start=1):
        if start is None and line.strip() == "```python":
            start, code = number, []
        elif start is not None and line.strip() == "```":
            blocks.append((start, "\n".join(code) + "\n"))
            start = None
        elif start is not None:
            code.append(line)
    return blocks


def _cases():
    for page in PAGES:
        name = page.relative_to(ROOT).as_posix()
        for line, code in python_blocks(page):
            marks = [pytest.mark.xfail(reason=why, strict=True)
                     for (p, text), why in FRAGMENTS.items() if p == name and text in code]
            yield pytest.param(name, code, id=f"{name}:{line}", marks=marks)


@pytest.mark.parametrize("page,code", list(_cases()))
def test_python_block_runs(page, code, tmp_path, monkeypatch):
    first = code.lstrip().splitlines()[0] if code.strip() else ""
    if first.startswith(NOT_RUN_MARK):
        reason = first[len(NOT_RUN_MARK):].strip()
        listed = [why for (p, text), why in NOT_RUN.items() if p == page and text in code]
        assert listed == [reason], f"list this block in NOT_RUN with reason {reason!r}"
        pytest.skip(reason)
    for old, new in SHRINK.get(page, []):
        code = code.replace(old, new)
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__docs__"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the docs show code, not warnings
        if page in DATA:
            exec(compile(DATA[page], f"{page}:data", "exec"), namespace)
        exec(compile(code, page, "exec"), namespace)


def test_shrink_rules_and_not_run_list_still_match():
    blocks = {p.relative_to(ROOT).as_posix(): [c for _, c in python_blocks(p)] for p in PAGES}
    for page, rules in SHRINK.items():
        for old, _ in rules:
            assert any(old in code for code in blocks[page]), f"{page}: no block has {old!r}"
    for (page, text), reason in NOT_RUN.items():
        code = next(c for c in blocks[page] if text in c)
        assert code.lstrip().startswith(f"{NOT_RUN_MARK} {reason}")
    assert len(NOT_RUN) <= 3, "keep the blocks CI cannot run few"


def test_readme_and_docs_commands_match_the_cli():
    """Options the pages show for ``python -m sktune`` exist."""
    from sktune._cli import build_parser

    known = {a for action in build_parser()._actions for a in action.option_strings}
    for page in PAGES:
        for command in re.findall(r"(?:python -m sktune|sktune)((?: --?[\w-]+(?: [^\s`-]+)?)+)",
                                  page.read_text()):
            for option in re.findall(r"(--[\w-]+)", command):
                assert option in known, f"{page.name}: {option} is not an option of sktune"
