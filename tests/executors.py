"""Several executors at once, as real processes: each one the gateway simulator running the
timer loop (tests/gateway/simulator/worker.py) against the test database, with the suite's
workflows. CPython only (a JVM per executor would make these tests slow)."""
from __future__ import absolute_import, division, print_function

import os
import subprocess
import sys

TESTS = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(TESTS, "gateway", "simulator", "worker.py")
FIXTURE_PROJECT = os.path.join(TESTS, "fixture_project")


def startExecutors(gw, count, threads=4, periodSeconds=0.25):
    """Start ``count`` executor processes (stopped after the test); their Popen objects."""
    processes = []
    for _ in range(count):
        processes.append(subprocess.Popen(
            [sys.executable, WORKER, "--dsn", gw.dsn, "--project", FIXTURE_PROJECT,
             "--module", "testing.flows", "--period", str(periodSeconds),
             "--threads", str(threads)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
    gw.addCleanup(stopExecutors, processes)
    return processes


def stopExecutors(processes):
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def assertAlive(processes):
    """Fail with an executor's error output if one of them died."""
    for process in processes:
        if process.poll() is not None:
            raise AssertionError("an executor exited (%s): %s"
                                 % (process.returncode, process.stderr.read().decode()[-2000:]))
