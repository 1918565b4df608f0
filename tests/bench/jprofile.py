"""Where a figure's time goes under Jython (bench.py --profile): a sampling profiler in the
bench's own JVM, needing no JDK (where one is installed, a JFR recording read with
jfrstacks.py gives whole stacks) now that ``jython -J-Xprof`` is gone.

Every ``interval`` s a daemon thread takes ``Thread.getAllStackTraces()`` and, for every
RUNNABLE thread but its own, notes whether it waits on PostgreSQL (a socket read at the top
of its stack: RUNNABLE in Java, idle for the CPU) or is on the CPU, and then the innermost
frame of the script library (exchange/workflows), of the simulator (tests/gateway/system)
and of the bench. Beside the samples: the process's CPU time, the JIT compiler's time and
the garbage collectors' time over the figure (java.lang.management). Sampling costs CPU
itself: figures measured with --profile are slower; read the shares, not the rates.
"""
from __future__ import absolute_import, division, print_function

import collections
import re
import threading

_FRAME = re.compile(r"([^/]+(?:/[^/]+)*)\.py$")
_WAITS = ("socketRead", "SocketDispatcher.read", "NioSocketImpl", "EPoll", "Net.poll",
          "FileDispatcherImpl.read", "FileDispatcherImpl.write")
# RUNNABLE by the time the state was read, parked or idle by the time the stack was
_IDLE = ("waitForReferencePendingList", "Unsafe.park", "Thread.sleep", "Object.wait")
_HZ = 100.0  # Linux clock ticks a second (USER_HZ) in /proc/<pid>/task/<tid>/stat


def threadCpu():
    """{tid: (thread name, CPU seconds)} of this process's threads from /proc (Linux; the
    JVM names its native threads: "C2 CompilerThre", "G1 Young RemSet", Java threads by
    their names cut to 15 characters), or {} elsewhere."""
    import os
    result = {}
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return result
    for tid in tids:
        try:
            with open("/proc/self/task/%s/stat" % tid) as handle:
                text = handle.read()
        except (IOError, OSError):
            continue
        name = text[text.index("(") + 1:text.rindex(")")]
        fields = text[text.rindex(")") + 2:].split()
        result[tid] = (name, (int(fields[11]) + int(fields[12])) / _HZ)
    return result


def cpuByGroup(before, after):
    """CPU seconds per thread group (JIT compiler, GC, the engine's workers, ...) between two
    threadCpu() readings, largest first."""
    groups = collections.Counter()
    for tid, (name, seconds) in after.items():
        spent = seconds - before.get(tid, (name, 0.0))[1]
        if spent <= 0:
            continue
        if "Compiler" in name:
            group = "JIT compiler"
        elif name.startswith(("GC ", "G1 ")) or "GC" in name:
            group = "GC"
        else:
            group = re.sub(r"[-#]?\d+$", "", name) or name
        groups[group] += spent
    return groups.most_common()


def _where(element):
    """'exchange/workflows/engine/steps.function' of a Python frame, else None."""
    name = element.getFileName()
    if name is None or not name.endswith(".py"):
        return None
    method = element.getMethodName().split("$")[0]
    path = name.replace("\\", "/")
    for marker in ("script-python/", "tests/gateway/", "tests/bench/", "tests/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    if path.endswith("/code.py"):
        path = path[:-len("/code.py")]
    return "%s.%s" % (path[:-3] if path.endswith(".py") else path, method)


class Sampler(object):
    def __init__(self, interval=0.02):
        self.interval = interval
        self.stopping = threading.Event()
        self.samples = 0
        self.states = collections.Counter()
        self.engine = collections.Counter()
        self.simulator = collections.Counter()
        self.leaf = collections.Counter()
        self.thread = None
        self.cpu0 = self._cpu()
        self.threads0 = threadCpu()

    @staticmethod
    def _cpu():
        """(process CPU s, JIT compile s, GC s) so far."""
        from java.lang.management import ManagementFactory  # novm - Jython only
        os = ManagementFactory.getOperatingSystemMXBean()
        process = os.getProcessCpuTime() / 1e9 if hasattr(os, "getProcessCpuTime") else 0.0
        jit = ManagementFactory.getCompilationMXBean().getTotalCompilationTime() / 1e3
        gc = sum(bean.getCollectionTime() for bean in
                 ManagementFactory.getGarbageCollectorMXBeans()) / 1e3
        return process, jit, gc

    def start(self):
        self.thread = threading.Thread(target=self._run, name="bench-profiler")
        self.thread.daemon = True
        self.thread.start()
        return self

    def _run(self):
        from java.lang import Thread  # novm - Jython only
        me = Thread.currentThread()
        while not self.stopping.wait(self.interval):
            traces = Thread.getAllStackTraces()
            self.samples += 1
            for entry in traces.entrySet():
                thread, frames = entry.getKey(), entry.getValue()
                if thread is me or str(thread.getState()) != "RUNNABLE" or not len(frames):
                    continue
                group = re.sub(r"\d+", "N", thread.getName())
                top = "%s.%s" % (frames[0].getClassName(), frames[0].getMethodName())
                if any(idle in top for idle in _IDLE):
                    continue
                if any(wait in top for wait in _WAITS):
                    self.states[(group, "waits on PostgreSQL")] += 1
                    continue
                self.states[(group, "on the CPU")] += 1
                self.leaf[top] += 1
                engine = simulator = None
                for element in frames:
                    where = _where(element)
                    if where is None:
                        continue
                    if simulator is None and where.startswith("system/"):
                        simulator = where
                    if where.startswith("exchange/"):
                        engine = where
                        break
                self.engine[engine or "(no engine frame: %s)" % (simulator or "bench/JVM")] += 1
                if simulator:
                    self.simulator[simulator] += 1

    def stop(self, seconds):
        """Stop; the report lines for a figure that took ``seconds`` of wall clock."""
        self.stopping.set()
        self.thread.join(5)
        cpu1 = self._cpu()
        process, jit, gc = [b - a for a, b in zip(self.cpu0, cpu1)]
        busy = sum(v for (_, state), v in self.states.items() if state == "on the CPU")
        lines = ["profile: %d samples every %.0f ms; process CPU %.1f s in %.1f s of wall clock "
                 "(%.0f%% of 2 CPUs); compilation %.1f s and GC %.1f s by the JVM's count"
                 % (self.samples, self.interval * 1000, process, seconds,
                    100 * process / (2 * seconds) if seconds else 0, jit, gc)]
        groups = cpuByGroup(self.threads0, threadCpu())
        if groups:
            lines.append("  CPU by thread (/proc): " + ", ".join(
                "%s %.1f s (%.0f%%)" % (name, spent, 100 * spent / max(process, 1e-9))
                for name, spent in groups[:8]))
        lines.append("  RUNNABLE threads (samples): " + ", ".join(
            "%s %s %d" % (group, state, count)
            for (group, state), count in self.states.most_common(8)))
        for title, counter in (("innermost engine function on the CPU", self.engine),
                               ("innermost simulator function on the CPU", self.simulator),
                               ("top Java frame on the CPU", self.leaf)):
            lines.append("  %s (of %d on-CPU samples):" % (title, busy))
            for where, count in counter.most_common(10):
                lines.append("    %5.1f%%  %s" % (100.0 * count / max(1, busy), where))
        return lines
