"""How many CPU threads a training step should use, from the work it does.

torch parallelises each operation over its intra-op threads. For the small networks
sklearn users often train, a step is a few hundred microseconds of arithmetic, and the
threads' synchronisation costs as much as they save; when other processes load the
cores (a search's other workers, a shared CI machine) every synchronisation waits for a
descheduled thread and a step becomes 5-20 times slower. The policy:

- a step below :data:`SINGLE_THREAD_FLOPS` floating-point operations (forward and
  backward, estimated from the layers' shapes) runs on one thread;
- larger steps (a big network, or a fused search's K copies at once) use torch's own
  setting (``torch.get_num_threads()``, which the user may set), where threads pay for
  themselves — but never more threads than there are idle cores (:func:`free_cores`:
  the CPUs this process may use, minus the load of the other processes; this
  process's own threads are not load).
  Measured on a 2-core machine (benchmarks/bench_fused.py, section ``threads``): a
  fused step of 24 MLPs (128, 64) took 20 ms on one thread and 365 ms on two under a
  load average of 11, and 4.8 ms on one against 2.8 ms on two on the idle machine,
  where two threads made a whole fused search of 8 x 3 MLPs 1.4x faster
  (section ``search-threads``);
- GPUs are left alone.

The thread count is set for the duration of a training call and restored after it.
"""

import os
import time
from contextlib import contextmanager

import torch
from torch import nn

from sktune.engine._precision import native_bf16

#: per-step work (FLOPs) below which training runs on one CPU thread
SINGLE_THREAD_FLOPS = 2e7
#: what a bfloat16 FLOP counts for in that rule on a CPU with native bfloat16 (AMX
#: computes it several times faster): an MLP (256, 256) step at batch 200 (92M FLOPs)
#: took 2.38 ms on one thread and 2.52 on two in bf16-mixed (2.90 / 2.13 in float32), at
#: batch 1000 7.50 / 5.65 ms; 24 fused MLP (128, 64) copies at batch 128 (250M) were
#: faster on two (``python benchmarks/bench_precision.py --sections threads``). Where
#: bfloat16 is emulated (no AVX512-BF16/AMX) a bfloat16 FLOP costs more than a float32
#: one (that MLP step: 26 ms of CPU against 5.0 in float32 on an AVX2 EPYC), so it counts
#: in full there.
BF16_FLOP_SHARE = 1 / 8


def _macs_hook(counter):
    def hook(module, inputs, output):
        out = output[0] if isinstance(output, tuple) else output
        if isinstance(module, nn.Linear):
            counter[0] += out.numel() * module.in_features
        elif isinstance(module, nn.modules.conv._ConvNd):
            per_output = module.in_channels // module.groups
            for k in module.kernel_size:
                per_output *= k
            counter[0] += out.numel() * per_output
        elif isinstance(module, nn.RNNBase):
            x = inputs[0]
            steps = x.data.shape[0] if not isinstance(x, torch.Tensor) else x.numel() // max(
                x.shape[-1], 1)
            gates = {"LSTM": 4, "GRU": 3}.get(module.mode, 1)
            directions = 2 if module.bidirectional else 1
            width = module.input_size + module.hidden_size
            counter[0] += steps * gates * module.hidden_size * width * module.num_layers * \
                directions
    return hook


def macs_per_sample(module, sample):
    """Multiply-accumulates of one forward pass over ``sample`` (a batch of one row, or a
    tuple of such tensors), counted on the linear, convolutional and recurrent layers."""
    counter = [0]
    handles = [m.register_forward_hook(_macs_hook(counter)) for m in module.modules()
               if isinstance(m, (nn.Linear, nn.modules.conv._ConvNd, nn.RNNBase))]
    was_training = module.training
    try:
        module.eval()
        with torch.no_grad():
            module(*sample) if isinstance(sample, tuple) else module(sample)
    finally:
        module.train(was_training)
        for handle in handles:
            handle.remove()
    return counter[0]


def free_cores():
    """CPUs that other processes leave idle (at least 1), or None where the system tells
    nothing about its load.

    Two readings of the *other* processes' load, the larger wins: the 1-minute load
    average less this process's own recent CPU use (:func:`_own_cpu_rate`: its threads
    count in the average too), and, on Linux, the threads of other processes running
    right now (:func:`_others_running`, median of three looks). The first remembers a
    load that comes and goes, the second notices a load that has just started. Neither
    counts this process's own threads — torch's worker threads, still spinning after
    the last operation, would otherwise look like another process's load.
    """
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return None
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    others = max(0.0, load - min(_own_cpu_rate(), load))
    running = _others_running()
    if running is not None:
        others = max(others, running)
    return max(1, min(cpus, round(cpus - others)))


_LAST_SAMPLE = {}


def _own_cpu_rate():
    """CPUs this process and its child processes kept busy since the previous call
    (their CPU time over the wall time, all threads), 1.0 until a second has passed: the
    share of the load average that is this process's own. The children are a previous
    search's joblib workers: idle now, they stay in the load average for a minute, and
    without them a fused search run after an ``n_jobs=2`` one trained on one thread
    (the float64 search of ``benchmarks/bench_fused.py`` took 9.6 s instead of 5.8 s)."""
    now, cpu = time.monotonic(), _family_cpu_time()
    last = _LAST_SAMPLE.get("sample")
    if last is None or now - last[0] >= 1.0:
        if last is not None:
            _LAST_SAMPLE["rate"] = (cpu - last[1]) / (now - last[0])
        _LAST_SAMPLE["sample"] = (now, cpu)
    return _LAST_SAMPLE.get("rate", 1.0)


def _family_cpu_time():
    """CPU seconds of this process, of its live child processes (Linux's
    ``/proc/<pid>/stat``) and of the children it has reaped."""
    total = time.process_time()
    reaped = os.times()
    total += reaped.children_user + reaped.children_system
    try:
        tick = os.sysconf("SC_CLK_TCK")
        tasks = list(os.scandir("/proc/self/task"))
    except (AttributeError, ValueError, OSError):
        return total
    for task in tasks:
        try:
            with open(os.path.join(task.path, "children")) as f:
                children = f.read().split()
        except OSError:
            continue
        for pid in children:
            try:
                fields = _stat_fields(f"/proc/{pid}/stat")
                total += (int(fields[11]) + int(fields[12])) / tick
            except (OSError, ValueError, IndexError):
                continue
    return total


def _stat_fields(path):
    """The fields of a ``/proc/.../stat`` file after the command name: state first,
    then (at 11 and 12) user and system CPU time in clock ticks."""
    with open(path) as f:
        return f.read().rpartition(")")[2].split()


def _others_running():
    """Threads of other processes running at this moment (Linux), or None: the running
    count of ``/proc/loadavg`` less this process's running threads (median of three
    looks)."""
    counts = []
    for _ in range(3):
        try:
            with open("/proc/loadavg") as f:
                total = int(f.read().split()[3].split("/")[0])
            own = 0
            for task in os.scandir("/proc/self/task"):
                own += _stat_fields(os.path.join(task.path, "stat"))[0] == "R"
        except (OSError, ValueError, IndexError):
            return None
        counts.append(max(0, total - max(own, 1)))
    return sorted(counts)[1]


def threads_for(flops_per_step, device, bf16=False):
    """The intra-op thread count for steps of ``flops_per_step`` on ``device`` (None:
    torch's own setting); ``bf16``: the step's products compute in bfloat16 (their FLOPs
    count :data:`BF16_FLOP_SHARE` as much where the CPU computes bfloat16 natively)."""
    if torch.device(device).type != "cpu":
        return None
    if bf16 and native_bf16(device):
        flops_per_step *= BF16_FLOP_SHARE
    if flops_per_step < SINGLE_THREAD_FLOPS:
        return 1
    free = free_cores()
    return free if free is not None and free < torch.get_num_threads() else None


@contextmanager
def torch_threads(n):
    """Run the block with ``n`` intra-op threads (None: leave torch's setting)."""
    if n is None or n == torch.get_num_threads():
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
