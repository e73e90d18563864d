"""Register sktune's skl2onnx converters without importing skl2onnx at ``import sktune``.

Importing skl2onnx (and onnx) costs seconds; most sktune users never export. So
``import sktune`` calls :func:`install`, which costs one ``find_spec`` lookup:

- skl2onnx already imported: the converters are registered at once;
- skl2onnx installed but not imported: a one-shot import hook (``sys.meta_path``)
  registers them right after ``import skl2onnx`` completes, whenever that happens;
- skl2onnx not installed: nothing.

Either way ``skl2onnx.to_onnx(pipeline_with_an_sktune_estimator, X[:1])`` works with
nothing else to call. ``import sktune.export`` registers them too (explicitly).
"""

import importlib.abc
import importlib.util
import sys
import warnings

_PACKAGE = "skl2onnx"


def register_now():
    """Import :mod:`sktune.export._onnx` and register its converters in skl2onnx. A
    failure (an skl2onnx this code does not know) warns instead of breaking the import
    that triggered it."""
    try:
        from sktune.export import _onnx

        _onnx.register()
    except Exception as exc:  # noqa: BLE001 - never break the user's `import skl2onnx`
        warnings.warn(f"sktune could not register its skl2onnx converters: {exc!r}; "
                      "sktune estimators will not convert to ONNX.", RuntimeWarning,
                      stacklevel=2)
        return False
    return True


class _Loader(importlib.abc.Loader):
    """skl2onnx's own loader, then the registration."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        register_now()

    def __getattr__(self, name):  # resources, get_data...: the real loader's
        return getattr(self._loader, name)


class _RegisterAfterImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the loader of the first ``import skl2onnx``, then
    leaves ``sys.meta_path``."""

    def find_spec(self, name, path=None, target=None):
        if name != _PACKAGE:
            return None
        _remove_finder()
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _Loader(spec.loader)
        return spec


def _remove_finder():
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _RegisterAfterImport)]


def install():
    """Register now if skl2onnx is imported, later if it is installed (see the module)."""
    if _PACKAGE in sys.modules:
        register_now()
        return
    try:
        installed = importlib.util.find_spec(_PACKAGE) is not None
    except (ImportError, ValueError):
        installed = False
    if installed and not any(isinstance(f, _RegisterAfterImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _RegisterAfterImport())
