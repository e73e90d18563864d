"""The CPU thread policy (sktune/engine/_threads.py)."""

import os

import pytest
import torch

from sktune.engine import _threads
from sktune.engine._threads import SINGLE_THREAD_FLOPS, free_cores, threads_for


@pytest.fixture
def load(monkeypatch):
    def set_load(value, cpus=2, others=None, own=1.0):
        monkeypatch.setattr(os, "getloadavg", lambda: (value, value, value))
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cpus)),
                            raising=False)
        monkeypatch.setattr(_threads, "_others_running", lambda: others)
        monkeypatch.setattr(_threads, "_own_cpu_rate", lambda: own)
    return set_load


def test_small_steps_run_on_one_thread(load):
    load(0.0)
    assert threads_for(SINGLE_THREAD_FLOPS / 2, "cpu") == 1


def test_large_steps_use_torchs_threads_only_on_idle_cores(load, monkeypatch):
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    load(1.2)   # this process alone
    assert free_cores() == 2 and threads_for(SINGLE_THREAD_FLOPS * 10, "cpu") is None
    load(2.5)   # others keep the cores busy: threads would wait on descheduled ones
    assert free_cores() == 1 and threads_for(SINGLE_THREAD_FLOPS * 10, "cpu") == 1
    load(40.0, cpus=16)
    assert free_cores() == 1
    load(0.5, others=2)  # a load that has just started: the average has not seen it
    assert free_cores() == 1
    load(0.5, others=0)
    assert free_cores() == 2


@pytest.mark.parametrize("native, threads", [(True, 1), (False, None)])
def test_bfloat16_flops_count_an_eighth_only_where_bfloat16_is_native(
        load, monkeypatch, native, threads):
    """AMX computes a bfloat16 step several times faster: one thread suffices; emulated
    bfloat16 is slower than float32, so the step keeps the threads a float32 one gets."""
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    monkeypatch.setattr(_threads, "native_bf16", lambda device: native)
    load(0.0)
    flops = _threads.SINGLE_THREAD_FLOPS * 2  # an eighth of it is under the bound
    assert threads_for(flops, "cpu") is None
    assert threads_for(flops, "cpu", bf16=True) == threads


def test_this_processs_own_threads_are_not_load(load):
    load(2.1, own=2.0)  # the load average is this process's two threads
    assert free_cores() == 2
    load(3.1, own=2.0)  # and one other process
    assert free_cores() == 1


@pytest.mark.skipif(not os.path.exists("/proc/loadavg"), reason="reads Linux's /proc")
def test_the_running_counts_are_read_on_linux():
    """Measured, not mocked: another process spinning is counted as running; this
    process's own CPU use is measured as its own (0.4 s of busy work in a bit over a
    second of wall time, the least the rate is sampled over: a rate near 0.4)."""
    import subprocess
    import sys
    import time

    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        assert _threads._others_running() >= 1
    finally:
        spinner.kill()
        spinner.wait()
    _threads._LAST_SAMPLE.clear()
    _threads._own_cpu_rate()  # the first sample
    wall, start = time.monotonic(), time.process_time()
    while time.process_time() - start < 0.4:  # 0.4 s of this process's CPU
        pass
    time.sleep(max(0.0, 1.05 - (time.monotonic() - wall)))  # idle, the rest of a second
    # the reading is this process's CPU over the wall time it took, whatever the load
    # (idle ~0.4; on a machine with ten runnable processes per core the busy part alone
    # takes seconds and it is ~0.2)
    expected = (time.process_time() - start) / (time.monotonic() - wall)
    assert _threads._own_cpu_rate() == pytest.approx(expected, rel=0.25)


def test_no_load_average_keeps_torchs_setting(monkeypatch):
    def missing():
        raise OSError

    monkeypatch.setattr(os, "getloadavg", missing)
    assert free_cores() is None
    assert threads_for(SINGLE_THREAD_FLOPS * 10, "cpu") is None


def test_gpus_are_left_alone():
    assert threads_for(SINGLE_THREAD_FLOPS * 10, "cuda") is None


def test_thread_count_is_restored_after_the_block():
    before = torch.get_num_threads()
    with _threads.torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="reads Linux's /proc")
def test_child_processes_cpu_counts_as_this_process_own():
    # a search's joblib workers are child processes: their CPU use is this process's
    # own load, not another process's
    import subprocess
    import sys
    import time

    from sktune.engine._threads import _family_cpu_time

    before, own = _family_cpu_time(), time.process_time()
    burn = ("import sys, time\nwhile time.process_time() < 0.3: pass\n"
            "print('done', flush=True)\ntime.sleep(30)")
    child = subprocess.Popen([sys.executable, "-c", burn], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "done"  # 0.3 s of CPU burnt, still alive
        assert child.poll() is None
        assert _family_cpu_time() - before >= 0.25 + (time.process_time() - own)
    finally:
        child.kill()
        child.wait()
