"""Running searches on a Dask cluster: fault tolerance and the caller's thread settings.

sktune adds no scheduler: scikit-learn's searches send their fits through joblib, and
``joblib.parallel_config("dask")`` hands them to dask.distributed. This module adds
two pieces of care around that:

- joblib's dask backend *scatters* every argument over 1 kB (the data, each fold's
  indices) to one worker. Scattered data has no lineage, so when that worker dies the
  search fails (dask/distributed#3149). The ``"dask-resilient"`` backend sends each
  task's arguments with the task instead; dask then simply re-runs the fits of a dead
  worker elsewhere. And when *every* worker is gone (killed with its nanny, a lost
  machine), dask keeps the tasks waiting for a worker that may never come: the backend
  then fails the search after ``no_workers_timeout`` seconds without a worker, instead
  of waiting forever; workers that come back in time (a nanny restarting them) finish
  it.
- a ``LocalCluster`` sets ``OMP_NUM_THREADS=1`` (and the MKL / OpenBLAS equivalents) in
  the *client's* environment when it spawns its workers, which would silently make
  every later process started from the client single-threaded; :func:`dask_client`
  puts them back.
"""

import asyncio
import os
import time
from contextlib import contextmanager
from functools import cache

from joblib import register_parallel_backend

#: joblib backend name of :func:`resilient_dask_backend`
RESILIENT_DASK = "dask-resilient"

#: environment variables through which native libraries pick their thread counts
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                   "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "MALLOC_TRIM_THRESHOLD_")


@contextmanager
def preserve_thread_env():
    """Restore the thread-count environment variables on exit, as they were on entry.

    Yields
    ------
    None
        Control, inside the ``with`` block.
    """
    saved = {k: os.environ.get(k) for k in THREAD_ENV_VARS}
    try:
        yield
    finally:
        _restore(saved)


def _restore(saved):
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@contextmanager
def dask_client(address=None, *, n_workers=2, threads_per_worker=1, **cluster_kwargs):
    """A ``dask.distributed.Client``, to run searches under ``parallel_config("dask")``.

    Parameters
    ----------
    address : str, default=None
        A running scheduler (``"tcp://host:8786"``, started with ``dask scheduler``). None
        starts a multi-process ``LocalCluster`` on this machine for the duration.
    n_workers, threads_per_worker : int, default=2, 1
        Size of the local cluster. One thread per worker: each worker runs one fit, and
        torch in it uses one thread (dask sets ``OMP_NUM_THREADS=1`` in workers).
    **cluster_kwargs
        Passed to ``LocalCluster``.

    Yields
    ------
    client : dask.distributed.Client

    Examples
    --------
    >>> from joblib import parallel_config
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sktune import MLPClassifier, dask_client
    >>> X, y = load_iris(return_X_y=True)
    >>> search = GridSearchCV(MLPClassifier(max_iter=3), {"alpha": [1e-4, 1e-2]}, cv=2)
    >>> with dask_client(n_workers=1) as client, parallel_config("dask"):
    ...     search = search.fit(X, y)
    >>> len(search.cv_results_["params"])
    2

    (One worker keeps the example light: joblib then runs the fits in this process; with
    the default two, each worker runs fits.)
    """
    from dask.distributed import Client, LocalCluster

    saved = {k: os.environ.get(k) for k in THREAD_ENV_VARS}
    cluster = None
    try:
        if address is None:
            cluster_kwargs.setdefault("dashboard_address", None)
            cluster = LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker,
                                   processes=True, **cluster_kwargs)
            address = cluster
        _restore(saved)  # the workers are spawned: give the client its own settings back
        with Client(address) as client:
            yield client
    finally:
        if cluster is not None:
            cluster.close()
        _restore(saved)


class _LostCluster:
    """The outcome handed to joblib for a task whose cluster has no worker left."""

    def __init__(self, error):
        self.error = error


@cache
def _resilient_backend_class():
    from sktune._compat import dask_backend_class

    class ResilientDaskBackend(dask_backend_class()):
        """joblib's dask backend with automatic scattering turned off.

        Arguments travel inside each task, which dask can re-run on another worker if
        one dies. Explicit ``scatter=[X, y]`` still broadcasts (a copy per worker).
        """

        def __init__(self, *args, no_workers_timeout=60.0, **kwargs):
            super().__init__(*args, **kwargs)
            self.no_workers_timeout = float(no_workers_timeout)

        def start_call(self):
            super().start_call()
            self.call_data_futures = None  # disables joblib's automatic scatter
            self._watching = True
            self.client.loop.add_callback(self._watch)

        def stop_call(self):
            self._watching = False
            self.call_data_futures = {}
            super().stop_call()

        async def _watch(self):
            """Fail the pending tasks once the scheduler has had no worker (or has been
            unreachable) for ``no_workers_timeout`` seconds."""
            gone_since = None
            while self._watching:
                try:
                    workers = len((await self.client.scheduler.identity()).get("workers", {}))
                except Exception:  # noqa: BLE001 - an unreachable scheduler has no workers
                    workers = 0
                now = time.monotonic()
                gone_since = None if workers else (gone_since or now)
                if gone_since is not None and now - gone_since >= self.no_workers_timeout \
                        and self._results:
                    self._fail_pending(now - gone_since)
                    return
                await asyncio.sleep(min(1.0, self.no_workers_timeout / 4))

        def _fail_pending(self, seconds):
            error = RuntimeError(
                f"The Dask cluster has had no worker for {seconds:.0f} s (all of them died "
                "or were stopped), so the search stops instead of waiting for one. Start "
                "workers (or give them a nanny that restarts them) and run it again; "
                "parallel_config('dask-resilient', no_workers_timeout=...) sets the wait.")
            # joblib learns a task's outcome through its callback (the future alone
            # would leave it waiting): hand each pending task the error
            for dask_future, future in list(self._results.items()):
                callback = self._callbacks.pop(dask_future, None)
                if not future.done():
                    future.set_exception(error)
                if callback is not None:
                    callback(_LostCluster(error))
            self._results.clear()
            self.abort_everything()

        def retrieve_result_callback(self, out):
            if isinstance(out, _LostCluster):
                raise out.error
            return super().retrieve_result_callback(out)

    return ResilientDaskBackend


def resilient_dask_backend(**kwargs):
    """Factory of the ``"dask-resilient"`` joblib backend (registered by sktune).

    Use it like joblib's own: ``with parallel_config("dask-resilient"): search.fit(X, y)``
    inside a ``dask.distributed.Client`` (or with ``scheduler_host=``). Prefer it over
    ``"dask"`` when workers may be lost (preemptible machines, memory kills); for data
    of many MB, add ``scatter=[X, y]`` to broadcast it to every worker once. The fits of
    a dead worker run again on the others; when no worker is left for
    ``no_workers_timeout`` seconds (default 60), the search raises ``RuntimeError``
    instead of waiting forever.

    Parameters
    ----------
    **kwargs : dict
        Arguments of joblib's Dask backend (``scheduler_host``, ``scatter``...) and
        ``no_workers_timeout``.

    Returns
    -------
    backend : joblib parallel backend
        The backend instance joblib runs the fits through.
    """
    return _resilient_backend_class()(**kwargs)


register_parallel_backend(RESILIENT_DASK, resilient_dask_backend)
