"""Every private API of scikit-learn, joblib and skorch that sktune relies on, in one place.

Private names can change in any release. Importing them only here means one file to
read when a dependency moves, and ``tests/test_compat.py`` fails loudly — naming the
method — when skorch changes one of the ``NeuralNet`` methods the engine overrides.
"""

import numpy as np
from sklearn.utils._param_validation import (  # noqa: F401
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
)
from sklearn.utils.optimize import _check_optimize_result
from sklearn.utils.validation import _check_sample_weight

#: skorch releases the engine's overrides were written and tested against
#: (pyproject.toml pins the same range)
SKORCH_TESTED = ">=1.4,<1.5"

#: ``skorch.NeuralNet`` methods that :class:`sktune.engine.Engine` overrides or whose
#: contract it relies on. tests/test_compat.py records a digest of each one's source.
SKORCH_OVERRIDDEN = (
    "partial_fit", "fit_loop", "run_single_epoch", "train_step", "validation_step",
    "evaluation_step", "infer", "get_loss", "get_iterator", "get_params_for_optimizer",
    "initialize", "initialize_callbacks", "notify", "__getstate__", "__setstate__",
    "on_epoch_begin",
)


def check_sample_weight(sample_weight, X):
    """Validated non-negative float64 sample weights for the rows of ``X``."""
    return _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)


def check_optimize_result(solver, result, max_iter):
    """scikit-learn's check of a ``scipy.optimize`` result: a ConvergenceWarning with
    scipy's message when it did not converge; returns the number of iterations."""
    return _check_optimize_result(solver, result, max_iter)


def dask_backend_class():
    """joblib's dask.distributed backend class (a private joblib module)."""
    from joblib._dask import DaskDistributedBackend

    return DaskDistributedBackend
