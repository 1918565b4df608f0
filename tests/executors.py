"""Several executors at once, as real processes: each one the gateway simulator running the
timer loop (tests/gateway/simulator/worker.py) against the test database, with the suite's
workflows. Started from the CPython suite; an executor is a CPython process unless asked
for a Jython one (a JVM each is slow to start, so the fault tests use one at most).

Each Executor knows its process, its executor id (the worker prints it first) and its log
(stderr goes to a file, so a chatty executor never blocks on a full pipe)."""
from __future__ import absolute_import, division, print_function

import os
import signal
import subprocess
import sys
import tempfile

TESTS = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(TESTS, "gateway", "simulator", "worker.py")
FIXTURE_PROJECT = os.path.join(TESTS, "fixture_project")


class Executor(object):
    """One headless executor process."""

    def __init__(self, dsn, threads=4, periodSeconds=0.25, name=None, leaseSeconds=None,
                 env=None, interpreter=None, modules=()):
        """``interpreter``: the command that runs the worker (default: this Python; "jython"
        for a Jython 2.7 executor on pgJDBC); ``modules``: fixture workflow modules it
        registers beside testing.flows."""
        self.log = tempfile.NamedTemporaryFile(prefix="executor-", suffix=".log", delete=False)
        command = [interpreter or sys.executable, WORKER, "--dsn", dsn, "--project",
                   FIXTURE_PROJECT,
                   "--module", "testing.flows", "--period", str(periodSeconds),
                   "--threads", str(threads), "--grace", "2"]
        for module in modules:
            command += ["--module", module]
        if name:
            command += ["--name", name]
        if leaseSeconds:
            command += ["--lease", str(leaseSeconds)]
        environment = dict(os.environ)
        environment.update(env or {})
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self.log,
                                        env=environment)
        line = self.process.stdout.readline().decode().strip()
        if not line.startswith("EXECUTOR "):
            self.process.wait(10)
            raise AssertionError("executor did not start: %r %s" % (line, self.errors()))
        self.executorId = line.split(" ", 1)[1]

    def errors(self):
        with open(self.log.name) as handle:
            return handle.read()[-4000:]

    def alive(self):
        return self.process.poll() is None

    def kill(self):
        """kill -9: no shutdown script, no retirement, nothing flushed."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def pause(self):
        self.process.send_signal(signal.SIGSTOP)

    def resume(self):
        self.process.send_signal(signal.SIGCONT)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self.process.stdout.close()
        self.log.close()
        os.unlink(self.log.name)


def startExecutors(gw, count, threads=4, periodSeconds=0.25, **options):
    """Start ``count`` executor processes (stopped after the test); their Executor objects."""
    executors = []
    for _ in range(count):
        executor = Executor(gw.dsn, threads, periodSeconds, **options)
        gw.addCleanup(executor.stop)
        executors.append(executor)
    return executors


def assertAlive(executors):
    """Fail with an executor's error output if one of them died."""
    for executor in executors:
        if not executor.alive():
            raise AssertionError("an executor exited (%s): %s"
                                 % (executor.process.returncode, executor.errors()))
