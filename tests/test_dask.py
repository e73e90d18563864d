"""Searches on a real multi-process dask.distributed cluster, on loopback only."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from joblib import parallel_config
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import (
    GridSearchCV,
    HalvingGridSearchCV,
    RandomizedSearchCV,
)

from sktune import MLPClassifier, dask_client, preserve_thread_env

distributed = pytest.importorskip("distributed")
# one test process runs them all: they share the module's cluster, and each cluster
# costs worker processes that import torch
pytestmark = pytest.mark.xdist_group("dask")
from distributed import Client, get_task_stream  # noqa: E402

GRID = {"alpha": [1e-4, 1e-2], "dropout": [0.0, 0.2]}
EST = dict(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=4, random_state=0,
           device="cpu")


@pytest.fixture(scope="module")
def client():
    with dask_client(n_workers=2, threads_per_worker=1) as c:
        yield c


def _torch_threads():
    import torch

    return torch.get_num_threads()


def test_grid_search_runs_on_both_workers_with_one_torch_thread_each(client, clf_data):
    X, y = clf_data
    assert set(client.run(_torch_threads).values()) == {1}
    sequential = GridSearchCV(MLPClassifier(**EST), GRID, cv=2).fit(X, y)
    with get_task_stream(client) as stream, parallel_config("dask"):
        on_dask = GridSearchCV(MLPClassifier(**EST), GRID, cv=2).fit(X, y)
    workers = {task["worker"] for task in stream.data}
    assert len(workers) == 2
    np.testing.assert_array_equal(sequential.cv_results_["mean_test_score"],
                                  on_dask.cv_results_["mean_test_score"])


def test_random_and_halving_searches_on_dask(client, clf_data):
    X, y = clf_data
    with parallel_config("dask"):
        RandomizedSearchCV(MLPClassifier(**EST), GRID, n_iter=3, cv=2, random_state=0,
                           error_score="raise").fit(X, y)
        halving = HalvingGridSearchCV(MLPClassifier(**EST), GRID, resource="max_iter",
                                      min_resources=2, max_resources=6, cv=2,
                                      error_score="raise").fit(X, y)
    assert max(halving.cv_results_["n_resources"]) == 6


def test_client_thread_environment_is_restored():
    before = os.environ.get("OMP_NUM_THREADS")
    with dask_client(n_workers=1) as c:
        assert os.environ.get("OMP_NUM_THREADS") == before  # restored right after spawn
        assert c.run(os.getpid)  # the client works (without importing torch there)
    assert os.environ.get("OMP_NUM_THREADS") == before
    os.environ["OMP_NUM_THREADS"] = "7"
    try:
        with preserve_thread_env():
            os.environ["OMP_NUM_THREADS"] = "1"
        assert os.environ["OMP_NUM_THREADS"] == "7"
    finally:
        os.environ.pop("OMP_NUM_THREADS") if before is None else os.environ.update(
            OMP_NUM_THREADS=before)


def test_a_worker_dying_mid_search_loses_nothing(client, clf_data):
    X, y = clf_data
    address, victim = sorted(client.run(os.getpid).items())[0]
    killed = threading.Event()

    def kill_once_busy():  # SIGKILL the worker as soon as it is running fits
        for _ in range(600):
            if client.processing().get(address):
                os.kill(victim, signal.SIGKILL)
                killed.set()
                return
            time.sleep(0.05)

    est = MLPClassifier(**{**EST, "max_iter": 60, "n_iter_no_change": np.inf})
    killer = threading.Thread(target=kill_once_busy, daemon=True)
    killer.start()
    with parallel_config("dask-resilient"):
        search = GridSearchCV(est, GRID, cv=3, error_score="raise").fit(X, y)
    killer.join()
    assert killed.is_set()
    assert victim not in client.run(os.getpid).values()  # it died (and was replaced)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert len(search.cv_results_["params"]) == 4


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_listening(port, proc, timeout=300):
    """Return once something accepts connections on ``port`` (``proc`` still running)."""
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, f"the scheduler exited with status {proc.returncode}"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            assert time.monotonic() < deadline, f"nothing listens on port {port}"
            time.sleep(0.05)


def test_many_machines_recipe_on_loopback(clf_data):
    """`dask scheduler` + two `dask worker` processes, as on separate machines."""
    X, y = clf_data
    dask_cli = shutil.which("dask", path=os.path.dirname(sys.executable))
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([dask_cli, "scheduler", "--host", "127.0.0.1", "--port",
                               str(port), "--no-dashboard"], stderr=subprocess.DEVNULL)]
    try:
        _wait_until_listening(port, procs[0])
        for _ in range(2):
            procs.append(subprocess.Popen(
                [dask_cli, "worker", address, "--nthreads", "1", "--no-dashboard",
                 "--host", "127.0.0.1"], stderr=subprocess.DEVNULL))
        with Client(address, timeout=300) as c:
            c.wait_for_workers(2, timeout=300)
            threads = c.run(lambda: __import__("torch").get_num_threads())
            assert set(threads.values()) == {1}
            with parallel_config("dask"):
                search = GridSearchCV(MLPClassifier(**EST), GRID, cv=2).fit(X, y)
        assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)


def test_a_search_left_without_any_worker_raises_in_bounded_time(client, clf_data):
    """The workers go away for good (here: the cluster scaled to zero, as a lost machine
    would leave it): the search raises after no_workers_timeout instead of waiting for a
    worker forever. It leaves its cluster without workers (the next test scales it up)."""
    from sktune.model_selection import GridSearchCV as FusedGridSearchCV

    X, y = clf_data
    client.wait_for_workers(2, timeout=300)  # 1 worker: joblib would run the fits here

    def remove_workers_once_busy():
        for _ in range(600):
            if any(client.processing().values()):
                client.cluster.scale(0)
                return
            time.sleep(0.05)

    threading.Thread(target=remove_workers_once_busy, daemon=True).start()
    est = MLPClassifier(**{**EST, "max_iter": 2000, "n_iter_no_change": np.inf})
    outcome = []

    def search():  # in a thread, so that a search that never returns fails the test
        try:
            with parallel_config("dask-resilient", no_workers_timeout=2):
                FusedGridSearchCV(est, GRID, cv=2, n_jobs=2).fit(X, y)
            outcome.append(None)
        except Exception as exc:  # noqa: BLE001 - the test reads it
            outcome.append(exc)

    runner = threading.Thread(target=search, daemon=True)
    runner.start()
    runner.join(timeout=60)
    assert outcome, "the search was still waiting for a worker after 60 s"
    assert isinstance(outcome[0], RuntimeError)
    assert "has had no worker for 2 s" in str(outcome[0])


def test_a_search_whose_workers_all_die_finishes_on_restarted_ones(client, clf_data):
    """Both workers SIGKILLed at once: their nannies restart them and the fits run again.
    The module's last test (it runs after the cluster was scaled to zero, and kills what
    it starts: a nanny may lose the race to re-register its worker under the old name).
    Under load the cluster may even close both nannies after their workers restarted
    (distributed's SpecCluster did so in a loaded .ci/run: "Lost all workers", then
    "Closing Nanny ... nanny-close"); the workers then come back as an operator would
    bring them back, by scaling the cluster up again: what is tested is that the search
    waits for workers and finishes on new ones, whoever starts them."""
    X, y = clf_data
    client.cluster.scale(2)
    client.wait_for_workers(2, timeout=300)
    victims = list(client.run(os.getpid).values())
    killed = threading.Event()

    def kill_all_once_busy():
        for _ in range(600):
            if any(client.processing().values()):
                for pid in victims:
                    os.kill(pid, signal.SIGKILL)
                killed.set()
                return
            time.sleep(0.05)

    def bring_back_if_none_return():
        killed.wait(60)
        for _ in range(300):  # up to 30 s for the nannies' restarted workers
            if client.scheduler_info()["workers"]:
                return
            time.sleep(0.1)
        client.cluster.scale(0)  # forget the closed nannies (once gone), then start two
        for _ in range(100):
            if not client.cluster.workers:
                break
            time.sleep(0.1)
        client.cluster.scale(2)

    threading.Thread(target=kill_all_once_busy, daemon=True).start()
    threading.Thread(target=bring_back_if_none_return, daemon=True).start()
    # what is tested is the backend's resubmission, not the model: scikit-learn's MLP
    # keeps the four new worker processes from importing torch (~5 s of CPU each)
    from sklearn.neural_network import MLPClassifier as SklearnMLP

    grid = {"alpha": [1e-4, 1e-2], "hidden_layer_sizes": [(8,), (16,)]}
    with parallel_config("dask-resilient", no_workers_timeout=300):
        search = GridSearchCV(SklearnMLP(max_iter=50, random_state=0), grid, cv=2,
                              error_score="raise").fit(X, y)
    assert killed.is_set()
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert not set(victims) & set(client.run(os.getpid).values())  # restarted ones ran it
