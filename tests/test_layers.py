"""Imports run one way (README, "Layout"): every sktune module imports only modules on
its own floor or below, found by reading the source (imports inside functions count)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sktune"

#: floor of each part of the package, lowest first; a module may import from its own
#: floor's part and from lower floors
FLOORS = [
    {"sktune._compat", "sktune._docs", "sktune.exceptions"},
    {"sktune.nn"},  # torch modules; torch's private probes come through _compat
    {"sktune.engine"},
    {"sktune._lbfgs", "sktune._training", "sktune._text", "sktune._sequences"},
    {"sktune._base"},
    {"sktune._supervised"},
    # the families, the transfer wing and the tuning tools: none imports another
    {"sktune._mlp"}, {"sktune._cnn"}, {"sktune._rnn"}, {"sktune.transfer"},
    {"sktune.model_selection"},
    {"sktune._ensemble"},  # seed ensembles: fitted through the tuning tools' fit_together
    {"sktune.export"},  # fitted estimators of any family as ONNX / torch files
    {"sktune._recipes"},  # configured estimators (the tabular MLP recipe)
    {"sktune"},  # the package's __init__: the public names
    {"sktune._tabular"}, {"sktune._cli"}, {"sktune.__main__"},
]
#: parts on the same level of the layout: the floors above order them only for lookup
SIDE_BY_SIDE = [{"sktune._mlp", "sktune._cnn", "sktune._rnn", "sktune.transfer",
                 "sktune.model_selection"},
                {"sktune._lbfgs", "sktune._training", "sktune._text", "sktune._sequences"}]
#: the one dependency inside a floor of side-by-side modules
WITHIN = {("sktune._training", "sktune._lbfgs"), ("sktune._sequences", "sktune._text")}


def _part(module):
    """The part of the package a dotted module name belongs to."""
    for floor in FLOORS:
        for part in floor:
            if module == part or (part != "sktune" and module.startswith(part + ".")):
                return part
    raise AssertionError(f"{module} is on no floor of tests/test_layers.py: add it")


def _floor(part):
    return next(i for i, floor in enumerate(FLOORS) if part in floor)


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        yield name.removesuffix(".__init__"), path


def _imports(path):
    modules = {name for name, _ in _modules()}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:  # "from sktune import _training" is a module
                full = f"{node.module}.{alias.name}"
                yield full if full in modules else node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


@pytest.mark.parametrize("module,path", list(_modules()), ids=lambda v: str(v))
def test_nothing_imports_upward_or_sideways(module, path):
    here = _part(module)
    for imported in filter(lambda m: m.split(".")[0] == "sktune", _imports(path)):
        there = _part(imported)
        if there == here or (here, there) in WITHIN:
            continue
        beside = any(here in level and there in level for level in SIDE_BY_SIDE)
        assert not beside and _floor(there) < _floor(here), \
            f"{module} imports {imported}, which is not below it"


def test_the_floors_are_checked_against_real_imports():
    assert _part("sktune.transfer._finetune") == "sktune.transfer"
    assert _floor("sktune.nn") < _floor("sktune.engine") < _floor("sktune._base")
    imports = set(_imports(PACKAGE / "transfer" / "_embedder.py"))
    assert "sktune.transfer._backbones" in imports and "sktune.transfer._finetune" not in imports
