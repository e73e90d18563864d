"""The CPU thread policy (sktune/engine/_threads.py)."""

import os

import pytest
import torch

from sktune.engine import _threads
from sktune.engine._threads import SINGLE_THREAD_FLOPS, free_cores, threads_for


@pytest.fixture
def load(monkeypatch):
    def set_load(value, cpus=2, running=None):
        monkeypatch.setattr(os, "getloadavg", lambda: (value, value, value))
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cpus)),
                            raising=False)
        monkeypatch.setattr(_threads, "_running_now", lambda: running)
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
    load(0.5, running=3)  # a load that has just started: the average has not seen it
    assert free_cores() == 1
    load(0.5, running=1)
    assert free_cores() == 2


def test_the_running_count_is_read_on_linux():
    running = _threads._running_now()
    assert running is None or running >= 1


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
