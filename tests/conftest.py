"""Tiny shared data sets and fitted models: every test trains for a few epochs at most.

Threads: the tests train tiny networks, for which one torch thread is as fast as two on
an idle machine, while on a loaded one (CI shares its 2 cores) torch's intra-op threads
wait on each other for cores other processes hold, and fits run several times slower.
So the whole session trains on one thread (``torch.set_num_threads(1)`` below), its
BLAS (numpy's, scipy's: scikit-learn's own MLP and checks) runs on one thread too
(``threadpool_limits(1)``: OpenBLAS's second thread spins waiting for work, 36 s of
CPU in an idle run of the suite, more on a loaded machine), and subprocesses that tests
start can use :func:`child_env` (``OMP_NUM_THREADS=1``). That
variable is not set in this process's own environment: tests of Dask's thread handling
must see the caller's real settings.

Every subprocess a test starts (examples, ``dask worker`` processes, scripts) imports
the ``sktune`` of this checkout: its root goes first on ``PYTHONPATH`` here, so an
``sktune`` installed in the environment from another checkout (an editable install of
a sibling worktree) never answers for it.
"""

import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from sktune import MLPClassifier, MLPRegressor

FAST = dict(hidden_layer_sizes=(16,), learning_rate_init=0.01, random_state=0, device="cpu")
ROOT = Path(__file__).resolve().parent.parent

torch.set_num_threads(1)
threadpool_limits(1)
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                   if p and p != str(ROOT)])


def child_env(**extra):
    """Environment for a subprocess started by a test: one thread per native library."""
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1", **extra}


def run_python(*args, cwd=None, timeout=300, **env):
    """Run ``python *args`` as a test's subprocess (see :func:`child_env`)."""
    import subprocess

    return subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env=child_env(**env))


@pytest.fixture(autouse=True)
def _quiet_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.fixture(scope="session")
def clf_data():
    X, y = make_classification(n_samples=240, n_features=8, n_informative=5, n_classes=3,
                               random_state=0)
    return X, y


@pytest.fixture(scope="session")
def reg_data():
    X, y = make_regression(n_samples=200, n_features=6, noise=0.1, random_state=0)
    return X, y / np.std(y)


@pytest.fixture(scope="session")
def fitted_clf(clf_data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MLPClassifier(max_iter=30, **FAST).fit(*clf_data)


@pytest.fixture(scope="session")
def fitted_reg(reg_data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MLPRegressor(max_iter=30, **FAST).fit(*reg_data)
