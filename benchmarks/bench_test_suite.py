"""How long the README's test command takes, on the machine as it is and with busy
loops competing for its cores (as on a shared 2-core CI machine).

Runs ``python -m pytest -q`` (the suite with its own options: one test process per core)
once with no extra load and once beside ``--busy`` processes that spin on the CPU, and
prints the wall time, the CPU time of the suite's processes (user + system, the test
processes and every subprocess they waited for) and the pytest summary of each. The
busy loops are plain Python ``while True`` processes at the same priority as the
tests: with as many of them as cores, the suite gets about half the machine, so its
busy wall time is close to its CPU time.

Run: python benchmarks/bench_test_suite.py [--busy 2] [--only busy|idle]
"""

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_suite(extra_load):
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                for _ in range(extra_load)]
    try:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly"],
                             cwd=ROOT, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        for spinner in spinners:
            spinner.kill()
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = out.stdout.splitlines()
    summary = [line for line in lines if " passed" in line][-1:]
    failed = [line for line in lines if line.startswith(("FAILED", "ERROR"))]
    return seconds, cpu, "\n".join(summary + failed) if summary else out.stdout[-2000:]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--busy", type=int, default=2, help="busy-loop processes")
    parser.add_argument("--only", choices=["idle", "busy"])
    args = parser.parse_args()
    for name, load in (("idle", 0), ("busy", args.busy)):
        if args.only and args.only != name:
            continue
        seconds, cpu, summary = run_suite(load)
        print(f"{name:5s} ({load} busy loops): {seconds / 60:5.1f} min wall, "
              f"{cpu / 60:5.1f} min CPU | {summary}", flush=True)


if __name__ == "__main__":
    main()
