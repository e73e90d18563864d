"""Docstrings are code: numpydoc-valid, and their defaults written from the signatures.

As scikit-learn's ``sklearn/tests/test_docstrings.py`` does, every public class and
function of the user-facing API (``sktune``, ``sktune.model_selection``,
``sktune.transfer``) and of the building blocks (``sktune.nn``, ``sktune.engine``), with
the public methods that sktune defines on them, is run through ``numpydoc.validate``.
Checks left out, and why:

- GL01, GL02, RT02: layout rules scikit-learn leaves out too (where the summary starts,
  a blank line before the closing quotes, a name in the Returns type line).
- SA01: no See Also sections; the docs/ pages cross-reference instead.
- SS06: a summary is one sentence, which may wrap.
- PR03: the ~35 shared training parameters are documented as one block, in one order, in
  every family (``sktune._docs``), not interleaved as each signature has them.
- ES01, EX01 for methods and functions: Examples and an extended summary are required of
  classes (every public class has an Examples section that runs as a doctest).

Methods that override a documented method of a third-party base class (skorch callback
hooks, ``torch.nn.Module.forward``) keep that class's contract and are not checked.
"""

import importlib
import inspect

import pytest

import sktune
from sktune._docs import format_default, replace_entries, with_defaults

numpydoc_validate = pytest.importorskip("numpydoc.validate")

MODULES = ["sktune", "sktune.model_selection", "sktune.transfer", "sktune.nn", "sktune.engine"]
IGNORED = {"GL01", "GL02", "RT02", "SA01", "SS06", "PR03"}
IGNORED_FOR_ROUTINES = {"ES01", "EX01"}


def _overrides_third_party(cls, name):
    return any(name in vars(base) for base in cls.__mro__[1:]
               if base is not object and not base.__module__.startswith("sktune"))


def public_objects():
    """Import path -> whether it is a class, for the public API and its methods."""
    found, functions = {}, set()
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)) or \
                    not obj.__module__.startswith("sktune"):
                continue
            path = f"{obj.__module__}.{obj.__qualname__}"
            found[path] = inspect.isclass(obj)
            if not inspect.isclass(obj):
                continue
            for attr in dir(obj):
                value = inspect.getattr_static(obj, attr)
                func = value.fget if isinstance(value, property) else value
                if attr.startswith("_") or not inspect.isfunction(func) or \
                        not func.__module__.startswith("sktune") or \
                        _overrides_third_party(obj, attr) or func in functions:
                    continue
                functions.add(func)  # an inherited method is checked once
                found[f"{path}.{attr}"] = False
    return found


OBJECTS = public_objects()


def test_the_public_api_is_found():
    names = {path.rsplit(".", 1)[-1] for path in OBJECTS}
    assert {"FineTuneRegressor", "TransformerClassifier", "GridSearchCV", "leaderboard",
            "fit", "predict_proba", "transform", "MLPModule", "Stackable", "Engine",
            "train_stacked"} <= names


@pytest.mark.parametrize("path", sorted(OBJECTS))
def test_docstring_is_valid_numpydoc(path):
    ignored = IGNORED | (set() if OBJECTS[path] else IGNORED_FOR_ROUTINES)
    errors = [f"{code}: {message}" for code, message in numpydoc_validate.validate(path)["errors"]
              if code not in ignored]
    assert not errors, f"{path}:\n" + "\n".join(errors)


# ---- defaults written from the signature (sktune._docs) ----------------------------


ESTIMATORS = [obj for obj in (getattr(sktune, name) for name in sktune.__all__)
              if inspect.isclass(obj) and hasattr(obj, "get_params")]


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_every_documented_default_is_the_signatures(cls):
    """sktune's estimators (not the searches, which document scikit-learn's defaults)."""
    documented = {}
    for line in cls.__doc__.splitlines():
        if line.startswith("    ") and not line.startswith("     ") and ", default=" in line:
            names, default = line.strip().split(" : ")[0], line.rsplit(", default=", 1)[1]
            documented.update(dict.fromkeys(names.split(", "), default))
    signature = inspect.signature(cls).parameters
    assert documented.keys() >= signature.keys()
    for param in signature.values():
        assert documented[param.name] == format_default(param.default), param.name


def _estimator(doc):
    class Estimator:
        __doc__ = doc

        def __init__(self, alpha=1e-4, *, solver="adam", tol=float("inf")):
            pass
    return Estimator


def test_with_defaults_writes_every_default_from_the_signature():
    cls = with_defaults(_estimator("""Summary.

    Parameters
    ----------
    alpha : float, default=3.0
        Written from the signature, whatever the text said.
    solver : str
        No default written here.
    tol : float
        Infinity.

    Examples
    --------
    >>> 1
    1
    """))
    assert "alpha : float, default=1e-4\n" in cls.__doc__
    assert 'solver : str, default="adam"\n' in cls.__doc__
    assert "tol : float, default=inf\n" in cls.__doc__
    assert cls.__doc__.endswith(">>> 1\n    1\n    ")


@pytest.mark.parametrize("doc,match", [
    ("Summary, no parameters.", "no Parameters section"),
    ("S.\n\n    Parameters\n    ----------\n    alpha : float\n    solver : str\n",
     r"takes \['tol'\]"),
    ("S.\n\n    Parameters\n    ----------\n    alpha : float\n    solver : str\n"
     "    tol : float\n    beta : float\n", r"documents \['beta'\]"),
    ("S.\n\n    Parameters\n    ----------\n    alpha, solver : float\n    tol : float\n",
     "whose defaults differ"),
])
def test_with_defaults_fails_loudly_when_its_target_text_is_missing(doc, match):
    with pytest.raises(TypeError, match=match):
        with_defaults(_estimator(doc))


def test_replace_entries_replaces_by_name_and_refuses_unknown_names():
    section = ("    a : int\n        Old a,\n        two lines.\n"
               "    b : int\n        Old b.\n")
    assert replace_entries(section, a="        New a.") == (
        "    a : int\n        New a.\n    b : int\n        Old b.\n")
    with pytest.raises(KeyError, match="'c'"):
        replace_entries(section, c="        New c.")


@pytest.mark.parametrize("value,text", [
    ("adam", '"adam"'), (r"(?u)\b\w+\b", r'r"(?u)\b\w+\b"'), (1e-4, "1e-4"), (3e-3, "3e-3"),
    (0.9, "0.9"), (0.01, "0.01"), (1e4, "1e4"), (15000, "15000"), (0.0, "0.0"), (None, "None"),
    (True, "True"), ((100,), "(100,)"), (float("inf"), "inf")])
def test_defaults_are_written_as_numpydoc_writes_them(value, text):
    assert format_default(value) == text
