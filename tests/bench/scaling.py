"""make bench, scaling part: executors as processes, table sizes, recovery, wake-up, memory.

A CPython driver. It creates a database of its own (on $WORKFLOWS_DSN's server, else an
embedded PostgreSQL; dropped at the end) and starts headless executors
(tests/gateway/simulator/worker.py, the gateway's startup script and 1 s timer as a process)
under CPython or Jython, with the bench workflows of tests/bench/project. Per interpreter:

  a. end to end   2,000 three_steps runs released at once on 1, 2, 4 executor processes
                  (8 workers each, 1 s timer; a drain stops after 15 s), after warm-up
                  rounds (Jython: until the JIT compilers are quiet, 60 s at most)
                                                 vs a hand-written psycopg2 queue, 8 x N threads
  c. recovery     kill -9 an executor holding 1,000 running runs: lease expiry -> all running
                  again on the survivor, a's first executor when a ran (a gateway that has
                  been running; paused while the victim takes its runs), warmed first on
                  the orphans' path (Jython: until its JIT compiler is quiet, 40 s at
                  most)                   vs one lease plus two ticks
  d. wake-up      a run enqueued by a client (no engine in that process) -> claimed by an idle
                  executor: p50/p99               vs the timer's mean wait (half a period)
  e. memory       an executor that parked 3,000 WAITING runs (10,000 would take a minute
                  per interpreter), and a full in-memory queue (10,000 requests)
                                                 vs the same executor idle
--quick: 500 runs on 1 and 2 executors (8 s cap), 200 orphans (3 s lease), 30 wake-ups, 500 parked
runs, a 100,000-run history. Executors are started once per interpreter (JVM start excluded
from every figure) and paused (SIGSTOP) while a smaller count runs.
And once, in this process (CPython):
  b. dispatch tick  service.dispatch() and each claim with 10,000 queued and over 1,000,000
                  terminal runs                  vs the same on an empty table

    .venv/bin/python tests/bench/scaling.py [--quick] [--interpreters cpython,jython]
        [--only a,b] [--json PATH]   (PATH may hold {interpreter}; default
        tests/bench/results/latest/scaling-<interpreter>.json)
"""
from __future__ import print_function

import argparse
import json
import math
import os
import platform as pyplatform
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path[:0] = [os.path.join(TESTS, "gateway"), TESTS]

import psycopg2  # noqa: E402
import psycopg2.errors  # noqa: E402
import psycopg2.extras  # noqa: E402

import executors  # noqa: E402
import handwritten  # noqa: E402  (tests/bench: the queue S1 compares with)
import rawdb  # noqa: E402  (its connections prepare as pgJDBC does)
from simulator import pgserver  # noqa: E402

PROJECT = os.path.join(HERE, "project")
MODULES = ("benchflows", "benchscaling")
WORKER = executors.WORKER
DB = "WorkflowsDB"
SCHEMA = "workflows"
THREADS = 8            # worker threads per executor (the engine's default)
PERIOD = 1.0           # the dispatch timer: the gateway's fixed delay
LEASE = 5.0            # c: the lease (short, so the figure fits the budget; 3 s --quick)
HOLD_THREADS = 1000    # c: the killed executor's workers (one per held run)
WARM_UP_LIMIT = {"cpython": 30.0, "jython": 60.0}  # a: s of warm-up rounds at most
JIT_QUIET_SHARE = 0.10  # a: a warm-up round whose compilers took less of it is the last
SURVIVOR_ROUND = 1000  # c: runs of a survivor's warm-up round
SURVIVOR_WARM_UP = {"cpython": 10.0, "jython": 40.0}  # c: s of warm-up rounds at most
TERMINAL = ("SUCCESS", "ERROR", "CANCELLED")
clock = time.perf_counter


def percentile(values, fraction):
    values = sorted(values)
    if not values:
        return float("nan")
    return values[min(len(values), max(1, int(math.ceil(fraction * len(values))))) - 1]


def rnd(value, digits=2):
    return None if value is None or value != value else round(float(value), digits)


# ----------------------------------------------------------------------------------------
# executors as processes, and what the machine's processes use
# ----------------------------------------------------------------------------------------
class Executor(executors.Executor):
    """One headless executor process (worker.py) with the bench workflows; started here,
    registered once ``ready()`` read its first line (so several start at once)."""

    def __init__(self, dsn, interpreter, threads=THREADS, period=PERIOD, lease=None,
                 env=None, name=None):  # noqa: B903 - the parent's start waits at once
        self.log = tempfile.NamedTemporaryFile(prefix="scaling-", suffix=".log", delete=False)
        command = [interpreter, WORKER, "--dsn", dsn, "--project", PROJECT,
                   "--period", str(period), "--threads", str(threads), "--grace", "0"]
        for module in MODULES:
            command += ["--module", module]
        if lease:
            command += ["--lease", str(lease)]
        if name:
            command += ["--name", name]
        environment = dict(os.environ)
        environment.update(env or {})
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self.log,
                                        env=environment)
        self.executorId = None
        self.paused = False

    def ready(self):
        """Wait for its EXECUTOR line (registered: schema installed, lease taken)."""
        line = self.process.stdout.readline().decode().strip()
        if not line.startswith("EXECUTOR "):
            raise RuntimeError("executor did not start: %r %s" % (line, self.errors()))
        self.executorId = line.split(" ", 1)[1]
        return self

    def pause(self):
        executors.Executor.pause(self)
        self.paused = True

    def resume(self):
        executors.Executor.resume(self)
        self.paused = False


_TICK = float(os.sysconf("SC_CLK_TCK"))


def _statCpu(path):
    """(name, CPU seconds: user + system) of a /proc ``stat`` file, or None when it is gone."""
    try:
        with open(path) as handle:
            text = handle.read()
        fields = text.rsplit(")", 1)[1].split()
        seconds = (int(fields[11]) + int(fields[12])) / _TICK
        return text[text.index("(") + 1:text.rindex(")")], seconds
    except (IOError, OSError, IndexError, ValueError):
        return None


def processCpu(pids):
    """CPU seconds (user + system) used so far by these processes."""
    return sum(stat[1] for stat in (_statCpu("/proc/%d/stat" % pid) for pid in pids) if stat)


_COMPILERS = ("C1 CompilerThre", "C2 CompilerThre")  # HotSpot's names, cut to 15 characters


def compilerCpu(pids):
    """{(pid, tid): CPU seconds} of the JIT compiler threads of these JVMs so far ({} for
    a CPython process: it has none)."""
    threads = {}
    for pid in pids:
        try:
            tids = os.listdir("/proc/%d/task" % pid)
        except OSError:
            continue
        for tid in tids:
            stat = _statCpu("/proc/%d/task/%s/stat" % (pid, tid))
            if stat and stat[0].startswith(_COMPILERS):
                threads[(pid, tid)] = stat[1]
    return threads


def compiledSince(before, after):
    """CPU seconds the compiler threads of ``after`` (compilerCpu) used since ``before``:
    thread by thread, so a compiler thread the JVM stopped meanwhile (it starts and stops
    them with the load) takes nothing away; None when there was none to read (not a
    HotSpot JVM, or not the JVM's process)."""
    if not before and not after:
        return None
    return sum(seconds - before.get(key, 0.0) for key, seconds in after.items())


def warmInRounds(interp, pids, limit, oneRound):
    """Warm-up rounds (``oneRound(t0, limit)`` queues one and waits for it, not past
    ``limit`` s after ``t0``) until a round costs the JIT compilers of the processes
    ``pids`` under JIT_QUIET_SHARE of its wall clock, or ``limit`` s passed (to the limit
    when no compiler thread can be read; CPython: one round): (rounds, the last round's
    compiler share or None, seconds)."""
    t0, rounds = clock(), 0
    while True:
        compiled, begun = compilerCpu(pids), clock()
        oneRound(t0, limit)
        rounds += 1
        spent = compiledSince(compiled, compilerCpu(pids))
        share = None if spent is None else spent / (clock() - begun)
        if interp != "jython" or clock() - t0 >= limit \
                or (share is not None and share < JIT_QUIET_SHARE):
            return rounds, share, clock() - t0


def jitShare(interp, share):
    """A warm-up's last compiler share as the bench prints it."""
    if interp != "jython":
        return "none (no JIT)"
    return "not read (warmed to the limit)" if share is None else "%.0f%% of a core" % (
        100 * share)


def postgresPids():
    """The local PostgreSQL server's processes (postmaster and backends), by name."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/comm" % entry) as handle:
                    if handle.read().strip() in ("postgres", "postmaster"):
                        pids.append(int(entry))
            except (IOError, OSError):
                pass
    return pids


def machineBusy():
    """(busy, total) jiffies of the whole machine so far."""
    with open("/proc/stat") as handle:
        fields = [int(x) for x in handle.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


class Sampler(object):
    """During a measured span: CPU of PostgreSQL, of the executors and of the machine, and
    what active backends wait on (pg_stat_activity, every 100 ms)."""

    def __init__(self, conn, executors=()):
        self.conn = conn
        self.pids = [e.process.pid for e in executors]
        self.waits = {}
        self.samples = 0
        self.stopping = threading.Event()

    def __enter__(self):
        self.first, self.last = {}, {}
        self._cpu()
        self.ex0 = processCpu(self.pids)
        self.jit0 = compilerCpu(self.pids)
        self.busy0 = machineBusy()
        self.t0 = clock()
        self.thread = threading.Thread(target=self._sample)
        self.thread.daemon = True
        self.thread.start()
        return self

    def _cpu(self):
        """Note each PostgreSQL process's CPU (a backend that exits keeps its last value)."""
        starting = not self.last
        for pid in postgresPids():
            used = processCpu([pid])
            self.first.setdefault(pid, used if starting else 0.0)
            self.last[pid] = used

    def _sample(self):
        cur = self.conn.cursor()
        while not self.stopping.wait(0.1):
            self._cpu()
            cur.execute("SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU'), "
                        "count(*) FROM pg_stat_activity WHERE state = 'active' "
                        "AND datname = current_database() AND pid <> pg_backend_pid() "
                        "GROUP BY 1")
            self.samples += 1
            for what, count in cur.fetchall():
                self.waits[what] = self.waits.get(what, 0) + count

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join(5)
        self._cpu()
        elapsed = clock() - self.t0
        busy1 = machineBusy()
        self.cores = os.cpu_count() or 1
        self.pgCores = sum(self.last[p] - self.first[p] for p in self.last) / elapsed
        self.exCores = (processCpu(self.pids) - self.ex0) / elapsed
        compiled = compiledSince(self.jit0, compilerCpu(self.pids))
        self.jitCores = None if compiled is None else compiled / elapsed
        self.machine = (busy1[0] - self.busy0[0]) / float(max(1, busy1[1] - self.busy0[1]))
        self.conn.close()
        return False

    def summary(self):
        n = max(1, self.samples)
        top = sorted(self.waits.items(), key=lambda item: -item[1])[:4]
        return {"postgresCores": rnd(self.pgCores), "executorCores": rnd(self.exCores),
                "executorJitCores": None if self.jitCores is None else rnd(self.jitCores),
                "machineBusy": rnd(self.machine),
                "activeBackends": rnd(sum(self.waits.values()) / float(n)),
                "waits": dict((k, rnd(v / float(n))) for k, v in top)}

    def text(self):
        s = self.summary()
        jit = s["executorJitCores"]
        return ("postgres %.2f cores, executors %.2f cores%s, machine %.0f%% busy of %d cores; "
                "active backends %.1f avg (%s)" % (
                    s["postgresCores"], s["executorCores"],
                    "" if jit is None else " (of it their JIT compilers %.2f)" % jit,
                    100 * s["machineBusy"], self.cores,
                    s["activeBackends"], ", ".join("%s %.1f" % kv for kv in
                                                   sorted(s["waits"].items(),
                                                          key=lambda kv: -kv[1]))))


# ----------------------------------------------------------------------------------------
# the bench
# ----------------------------------------------------------------------------------------
class Scaling(object):
    def __init__(self, args, dsn):
        self.args = args
        self.dsn = dsn
        q = args.quick
        self.nEndToEnd = 500 if q else 2000
        self.runLimit = 8.0 if q else 15.0  # a: a drain stops then (rate of those done)
        self.nWarmUp = 100 if q else 300    # a: runs per executor in a warm-up round
        self.warmShare = 0.25 if q else 1.0  # a, c: of the warm-ups' time limits
        self.counts = (1, 2) if q else (1, 2, 4)
        self.nOrphans = 200 if q else 1000
        self.lease = 3.0 if q else LEASE  # c: at least 3 timer periods
        self.nWake = 30 if q else 100
        self.nWaiting = 500 if q else 3000
        self.nMemory = 2000 if q else 10000  # full: the in-memory queue's default capacity
        self.nTicks = 10 if q else 30
        self.historyRuns = 100000 if q else 1000000
        self.backlog = 10000
        self.conn = self.raw()
        self.figures = {}
        self.executors = []

    def raw(self):
        conn = psycopg2.connect(self.dsn, application_name="scaling-driver")
        conn.autocommit = True
        return conn

    def sql(self, statement, params=None, conn=None):
        cur = (conn or self.conn).cursor()
        try:
            cur.execute(statement.replace("{s}", SCHEMA), params)
            return cur.fetchall() if cur.description is not None else cur.rowcount
        finally:
            cur.close()

    def wait(self, what, predicate, timeout, step=0.05):
        deadline = clock() + timeout
        while clock() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(step)
        raise RuntimeError("timed out after %.0f s waiting for %s" % (timeout, what))

    def figure(self, interp, fid, **fields):
        fields["id"] = fid
        self.figures.setdefault(interp, []).append(fields)
        print("   -> %s" % json.dumps(dict((k, v) for k, v in fields.items()
                                          if k not in ("notes", "series", "title"))))

    def start(self, interp, count, **options):
        command = {"cpython": sys.executable, "jython": "jython"}[interp]
        started = [Executor(self.dsn, command, **options) for _ in range(count)]
        self.executors.extend(started)
        t0 = clock()
        for executor in started:
            executor.ready()
        return started, clock() - t0

    def stopAll(self, keep=None):
        """Every executor stopped, but ``keep`` (left running)."""
        for executor in self.executors:
            if executor is keep:
                continue
            try:
                executor.stop()
            except Exception as error:  # noqa: B902
                print("   (could not stop an executor: %s)" % error)
        self.executors = [keep] if keep is not None else []

    def clean(self):
        """No run left: the run tables emptied. A paused executor may hold a lock (it was
        stopped inside a transaction): then every paused one is let go on first."""
        if self.sql("SELECT to_regclass('{s}.workflow_runs')")[0][0] is None:
            return  # no executor installed the schema yet
        self.sql("SET lock_timeout = '5s'")
        try:
            self.sql("TRUNCATE {s}.workflow_runs CASCADE")
        except psycopg2.errors.LockNotAvailable:
            print("   (a paused executor held a lock: every executor resumed)")
            for executor in self.executors:
                if executor.paused:
                    executor.resume()
            self.sql("TRUNCATE {s}.workflow_runs CASCADE")

    def preload(self, count, name, inputs):
        """``count`` ENQUEUED runs in one transaction: released at its commit, at once."""
        conn = psycopg2.connect(self.dsn)
        try:
            with conn:
                psycopg2.extras.execute_values(
                    conn.cursor(), "INSERT INTO %s.workflow_runs (workflow_id, workflow_name, "
                    "status, queue_name, priority, inputs) VALUES %%s" % SCHEMA,
                    [(str(uuid.uuid4()), name, "ENQUEUED", "default", 0, json.dumps(inputs))
                     for _ in range(count)], page_size=1000)
            return self.sql("SELECT {s}.now_ms()")[0][0]
        finally:
            conn.close()

    def statusCounts(self):
        return dict(self.sql("SELECT status, count(*) FROM {s}.workflow_runs GROUP BY 1"))

    # --- a. end to end on 1, 2, 4 executors ---------------------------------------------
    def endToEnd(self, interp, baseline):
        n = self.nEndToEnd
        # (the bench's short lease: the first one survives into c)
        executors, startSeconds = self.start(interp, max(self.counts), lease=self.lease)
        print("   %d %s executor(s) started and registered in %.1f s (excluded)"
              % (len(executors), interp, startSeconds))
        self.warmUp(interp, executors)
        rates, notes = [], []
        for count in self.counts:
            for index, executor in enumerate(executors):
                if index < count and executor.paused:
                    executor.resume()
                elif index >= count and not executor.paused:
                    executor.pause()
            time.sleep(PERIOD * 1.5)  # every resumed one ticked (lease renewed)
            self.clean()
            with Sampler(self.raw(), executors[:count]) as sampler:
                t0 = clock()
                self.preload(n, "three_steps", {"value": 1})
                while clock() - t0 < self.runLimit and sum(
                        v for k, v in self.statusCounts().items() if k in TERMINAL) < n:
                    time.sleep(0.02)
                elapsed = clock() - t0
            done = self.statusCounts().get("SUCCESS", 0)
            rate = done / elapsed
            capped = done < n
            if capped:  # the rest is taken away, and what is running let finish
                self.sql("DELETE FROM {s}.workflow_runs WHERE status = 'ENQUEUED'")
                self.wait("the running runs to end", lambda: not self.sql(
                    "SELECT 1 FROM {s}.workflow_runs WHERE status IN ('PENDING', 'RUNNING') "
                    "LIMIT 1"), 60, 0.05)
            rates.append(rate)
            # the baseline right after, in the same machine state; its rows name a workflow
            # no executor registers, so the (idle, ticking) executors leave them alone
            base = baseline[count] = self.handWritten(THREADS * count)
            print("   %d executor(s) x %d workers: %d runs in %.2f s = %.0f wf/s%s; baseline "
                  "%d threads %.0f wf/s; ratio %.2f" % (
                      count, THREADS, done, elapsed, rate,
                      " (CAPPED at %.0f s: %d of %d done)" % (self.runLimit, done, n)
                      if capped else "", THREADS * count, base, base / rate))
            print("      %s" % sampler.text())
            notes.append({"executors": count, "wfPerS": rnd(rate, 1), "capped": capped,
                          "baselineWfPerS": rnd(base, 1), "sample": sampler.summary()})
        for executor in executors:
            if executor.paused:
                executor.resume()
        self.clean()
        best = max(rates)
        self.figure(interp, "S1", title="end to end three_steps, %d queued, on 1-%d executor "
                    "processes" % (n, max(self.counts)),
                    engine=rnd(best, 1), unit="wf/s", higherIsBetter=True,
                    baseline=rnd(baseline[self.counts[rates.index(best)]], 1),
                    baselineLabel="hand-written queue (8 threads per executor)",
                    ratio=rnd(baseline[self.counts[rates.index(best)]] / best),
                    aim="within 1.5x, growing with executors",
                    met=bool(baseline[self.counts[rates.index(best)]] / best <= 1.5
                             and rates[-1] >= rates[0]),
                    series={"x": list(self.counts), "y": [rnd(r, 1) for r in rates],
                            "baseline": [rnd(baseline[c], 1) for c in self.counts],
                            "xLabel": "executors"},
                    notes="%d workers each, %.0f s timer (plus the fast paths: a finishing "
                    "worker claims the next runs itself); runs released in one commit after "
                    "every executor registered (%s start excluded); a drain stops after %.0f "
                    "s (its rate: the runs done by then); per count: %s"
                    % (THREADS, PERIOD, interp, self.runLimit, json.dumps(notes)))
        return executors

    def warmUp(self, interp, executors):
        """A gateway that has been running is warm: rounds of runs over all the executors
        (nWarmUp each) until a round costs their JIT compilers under JIT_QUIET_SHARE of
        the round's wall clock (each compiles on its own: figure 4 under Jython ran 1.5
        times faster once its compiler was quiet), WARM_UP_LIMIT s at most, to the limit
        when no compiler thread can be read; CPython: one round. Then the queue is emptied
        and the running runs let end."""
        count = self.nWarmUp * len(executors)

        def oneRound(t0, limit):
            self.clean()
            self.preload(count, "three_steps", {"value": 1})
            while clock() - t0 < limit and self.statusCounts().get("SUCCESS", 0) < count:
                time.sleep(0.05)
        rounds, share, seconds = warmInRounds(interp, [e.process.pid for e in executors],
                                              WARM_UP_LIMIT[interp] * self.warmShare, oneRound)
        print("   warm-up: %d round(s) of %d runs over all of them in %.1f s; the JIT "
              "compilers' share of the last: %s (a gateway's JIT is warm)"
              % (rounds, count, seconds, jitShare(interp, share)))
        self.sql("DELETE FROM {s}.workflow_runs WHERE status = 'ENQUEUED'")
        self.wait("the warm-up to end", lambda: not self.sql(
            "SELECT 1 FROM {s}.workflow_runs WHERE status IN ('PENDING', 'RUNNING') LIMIT 1"),
            60, 0.05)

    def handWritten(self, threads):
        """The same database work as three_steps with psycopg2 alone (statements prepared from
        their 5th use, as pgJDBC does): wf/s."""
        n = self.nEndToEnd
        self.clean()
        self.preload(n, "raw_three_steps", {"value": 1})
        connections = [rawdb.connect(self.dsn, "scaling-handwritten") for _ in range(threads)]
        elapsed, errors = handwritten.drain(connections, SCHEMA, clock)
        for conn in connections:
            conn.close()
        if errors:
            raise errors[0]
        self.clean()
        return n / elapsed

    # --- c. recovery of orphans -----------------------------------------------------------
    def recovery(self, interp, survivor=None):
        """The victim holds nOrphans runs and is killed; ``survivor`` (an executor that has
        been running, else one started here) recovers and runs them."""
        n = self.nOrphans
        self.clean()
        if survivor is not None:  # (it would take some of the victim's runs)
            survivor.pause()
        (victim,), _ = self.start(interp, 1, threads=HOLD_THREADS, lease=self.lease,
                                  env={"SCALING_HOLD": "1"}, name="victim")
        self.preload(n, "held", {"seconds": 600})
        self.wait("the victim to hold %d runs" % n, lambda: self.sql(
            "SELECT count(*) FROM {s}.workflow_runs WHERE status = 'RUNNING' "
            "AND executor_id = %s", (victim.executorId,))[0][0] >= n, 120, 0.1)
        origin = "S1's first executor, warm from S1, paused while the victim took its runs"
        if survivor is None:
            (survivor,), _ = self.start(interp, 1, lease=self.lease, name="survivor")
            origin = "started for this figure"
        else:
            survivor.resume()
        self.warmSurvivor(interp, survivor)
        # it judges another dead once in contact for a lease, its own or the other's
        self.wait("the survivor's contact to be a lease old", lambda: self.sql(
            "SELECT 1 FROM {s}.executors s, {s}.executors v WHERE s.executor_id = %s "
            "AND v.executor_id = %s AND s.contact_since_ms + GREATEST(s.lease_ms, v.lease_ms) "
            "+ %s < {s}.now_ms()", (survivor.executorId, victim.executorId, PERIOD * 1000)),
            60 + 2 * self.lease, 0.1)
        victim.kill()
        killedMs = self.sql("SELECT {s}.now_ms()")[0][0]
        expiry = self.sql("SELECT heartbeat_at_ms + lease_ms FROM {s}.executors "
                          "WHERE executor_id = %s", (victim.executorId,))[0][0]
        self.wait("%d runs running again on the survivor" % n, lambda: self.sql(
            "SELECT count(*) FROM {s}.step_outputs WHERE step_position = 1 "
            "AND executor_id = %s", (survivor.executorId,))[0][0] >= n, 120 + 3 * self.lease, 0.05)
        stamps = self.sql("SELECT min(started_at_ms), max(started_at_ms), "
                          "percentile_disc(0.5) WITHIN GROUP (ORDER BY started_at_ms) "
                          "FROM {s}.step_outputs WHERE step_position = 1 AND executor_id = %s",
                          (survivor.executorId,))[0]
        first, last, median = [float(x) - expiry for x in stamps]
        back = self.sql("SELECT min(at_ms), max(at_ms), count(DISTINCT at_ms) FROM {s}.journal "
                        "WHERE action = 'RECOVER' AND at_ms >= %s", (killedMs,))[0]
        requeued = (float(back[0]) - expiry, float(back[1]) - expiry, back[2]) \
            if back[0] is not None else (float("nan"), float("nan"), 0)
        leases = last / (self.lease * 1000)
        ticks = last / (PERIOD * 1000)
        aimMs = 2 * PERIOD * 1000  # one lease plus two ticks, counted from the lease's end
        print("   victim (%d workers) held %d RUNNING runs, killed -9 %.0f ms before its lease "
              "ran out; lease %.0f s, timer %.0f s; the survivor: %s"
              % (HOLD_THREADS, n, expiry - killedMs, self.lease, PERIOD, origin))
        print("   back in the queue (journal RECOVER): first +%.0f ms, all +%.0f ms after the "
              "lease ran out, in %d recovery statement(s) (heartbeats of %d runs at most)"
              % (requeued[0], requeued[1], requeued[2], 500))
        print("   after the lease ran out: first running again on the survivor +%.0f ms, "
              "half +%.0f ms, all +%.0f ms (= %.2f leases, %.1f ticks after expiry; from "
              "the kill %.2f leases)" % (first, median, last, leases, ticks,
                                         (last + expiry - killedMs) / (self.lease * 1000)))
        victim.stop()
        survivor.stop()
        self.executors = [e for e in self.executors if e not in (victim, survivor)]
        self.sql("DELETE FROM {s}.executors WHERE executor_id IN (%s, %s)",
                 (victim.executorId, survivor.executorId))
        self.clean()
        self.figure(interp, "S3", title="recovery of %d orphaned runs (kill -9): lease expiry "
                    "to all running again" % n, engine=rnd(last, 0), unit="ms",
                    higherIsBetter=False, baseline=rnd(aimMs, 0),
                    baselineLabel="two ticks after the lease (the aim)",
                    ratio=rnd(last / aimMs), aim="one lease plus two ticks",
                    met=bool(last <= aimMs),
                    notes="lease %.0f s, timer %.0f s, survivor %d workers (%s); after expiry: first "
                    "+%.0f ms, median +%.0f ms, all +%.0f ms = %.1f ticks; from the kill "
                    "%.2f leases; back in the queue (journal RECOVER) +%.0f..+%.0f ms in %d "
                    "heartbeat(s); 'running again' = its step started on the survivor "
                    "(step_outputs.started_at_ms, database clock)"
                    % (self.lease, PERIOD, THREADS, origin, first, median, last, ticks,
                       (last + expiry - killedMs) / (self.lease * 1000), requeued[0], requeued[1],
                       requeued[2]))

    def warmSurvivor(self, interp, survivor):
        """A surviving gateway has been running: the survivor first takes runs down the
        path the orphans will take (claim, step, wake time, suspend), in rounds of
        SURVIVOR_ROUND, until a round costs its JIT compiler under JIT_QUIET_SHARE of the
        round's wall clock or its time is up (to the limit when no compiler thread can be
        read; CPython: one round); they are deleted before the kill. The victim claims
        none: each of its workers holds a run."""
        def waiting():
            return self.sql("SELECT count(*) FROM {s}.workflow_runs "
                            "WHERE workflow_name = 'held' AND status = 'WAITING'")[0][0]

        def oneRound(t0, limit):
            target = waiting() + SURVIVOR_ROUND
            self.preload(SURVIVOR_ROUND, "held", {"seconds": 0})
            while clock() - t0 < limit and waiting() < target:
                time.sleep(0.05)
        rounds, share, seconds = warmInRounds(interp, [survivor.process.pid],
                                              SURVIVOR_WARM_UP[interp] * self.warmShare,
                                              oneRound)
        print("   survivor warm-up: %d runs suspended in %d round(s), %.1f s; the JIT "
              "compiler's share of the last: %s (then deleted)"
              % (waiting(), rounds, seconds, jitShare(interp, share)))
        self.sql("DELETE FROM {s}.workflow_runs WHERE workflow_name = 'held' "
                 "AND status = 'ENQUEUED'")
        self.wait("the warm-up to end", lambda: not self.sql(
            "SELECT 1 FROM {s}.workflow_runs WHERE workflow_name = 'held' AND status "
            "IN ('PENDING', 'RUNNING') AND executor_id = %s LIMIT 1",
            (survivor.executorId,)), 30, 0.05)
        self.sql("DELETE FROM {s}.workflow_runs WHERE workflow_name = 'held' "
                 "AND status = 'WAITING'")

    # --- d. enqueue from a client to running on an executor -------------------------------
    def client(self):
        """This process as a client of the system database: the engine's library, a
        datasource, and no onStartup (enqueue only inserts; it claims nothing)."""
        if getattr(self, "service", None) is None:
            from simulator import gateway, loader
            loader.install([loader.engineRoot(), loader.projectRoot(PROJECT)])
            gateway.addDatabase(DB, self.dsn)
            gateway.setDefaultDatabase(DB)
            import exchange.workflows.api.service as service
            for module in MODULES:  # a client registers the workflows it starts
                __import__(module)
            self.service = service
        return self.service

    def wakeUp(self, interp, executor):
        service = self.client()
        n = self.nWake
        self.clean()
        ids = []
        rng = random.Random(18)
        for _ in range(n):
            time.sleep(0.05 + rng.random() * 0.1)  # random moments against the timer
            result = service.enqueue("three_steps", inputs={"value": 1})
            if not result["ok"]:
                raise RuntimeError("enqueue: %r" % result)
            ids.append(result["data"]["workflowId"])
        self.wait("the client's runs to end", lambda: self.sql(
            "SELECT count(*) FROM {s}.workflow_runs WHERE workflow_id = ANY(%s) "
            "AND status = 'SUCCESS'", (ids,))[0][0] >= n, 30, 0.05)
        waits = [float(r[0]) for r in self.sql(
            "SELECT claimed_at_ms - created_at_ms FROM {s}.workflow_runs "
            "WHERE workflow_id = ANY(%s)", (ids,))]
        p50, p99 = percentile(waits, 0.5), percentile(waits, 0.99)
        mean = sum(waits) / len(waits)
        timer = PERIOD * 1000 / 2
        print("   %d runs enqueued by a client at random moments, claimed by an idle %s "
              "executor: p50 %.0f ms  p99 %.0f ms  mean %.0f ms  max %.0f ms; the timer's mean "
              "wait %.0f ms" % (n, interp, p50, p99, mean, max(waits), timer))
        self.clean()
        self.figure(interp, "S4", title="enqueue by a client to claimed on an idle executor, "
                    "p50", engine=rnd(p50, 0), unit="ms", higherIsBetter=False,
                    baseline=rnd(timer, 0), baselineLabel="the %.0f s timer's mean wait"
                    % PERIOD, ratio=rnd(p50 / timer), aim="under 100 ms p50",
                    met=bool(p50 < 100),
                    notes="p99 %.0f ms, mean %.0f ms, max %.0f ms over %d runs enqueued "
                    "50-150 ms apart from a process without the engine (claimed_at_ms - "
                    "created_at_ms, database clock)" % (p99, mean, max(waits), n))

    # --- e. memory -------------------------------------------------------------------------
    def probe(self, fill=0):
        service = self.client()
        result = service.enqueue("probe", inputs={"fill": fill})
        workflowId = result["data"]["workflowId"]
        row = self.wait("the probe run", lambda: self.sql(
            "SELECT status, output FROM {s}.workflow_runs WHERE workflow_id = %s",
            (workflowId,)), 60, 0.05)
        self.wait("the probe run to end", lambda: self.sql(
            "SELECT 1 FROM {s}.workflow_runs WHERE workflow_id = %s AND status IN %s",
            (workflowId, TERMINAL)), 60, 0.05)
        row = self.sql("SELECT status, output, error FROM {s}.workflow_runs "
                       "WHERE workflow_id = %s", (workflowId,))[0]
        if row[0] != "SUCCESS":
            raise RuntimeError("the probe ended %s: %r" % (row[0], row[2]))
        return row[1]

    def memory(self, interp, executor):
        n = self.nWaiting
        self.clean()
        idle = self.probe()["before"]
        self.preload(n, "parked", {"seconds": 3600})
        t0 = clock()
        self.wait("%d runs WAITING" % n, lambda: self.statusCounts().get("WAITING", 0) >= n,
                  300, 0.2)
        parkSeconds = clock() - t0
        holding = self.probe()["before"]
        full = self.probe(self.nMemory)
        self.clean()

        def delta(a, b):
            heap = (b["heapBytes"] - a["heapBytes"]) if a.get("heapBytes") is not None \
                else None
            return {"rssKb": b["rssKb"] - a["rssKb"], "heapBytes": heap}

        waiting, queued = delta(idle, holding), delta(full["before"], full["after"])
        jvm = interp == "jython"
        use = (lambda d: d["heapBytes"] / 1024.0) if jvm else (lambda d: float(d["rssKb"]))
        what = "heap after System.gc()" if jvm else "RSS"
        print("   idle executor: RSS %d kB%s" % (idle["rssKb"], ", heap %.1f MB" % (
            idle["heapBytes"] / 1048576.0) if jvm else ""))
        objects = (holding["objects"] - idle["objects"]) if idle.get("objects") else None
        print("   holding %d WAITING runs (parked in %.1f s): %s %+.0f kB (%+.2f kB per run; "
              "RSS %+d kB%s)" % (n, parkSeconds, what, use(waiting), use(waiting) / n,
                                 waiting["rssKb"], "; Python objects tracked by gc %+d"
                                 % objects if objects is not None else ""))
        print("   in-memory queue filled to %d of %d (%d accepted): %s %+.0f kB (%.2f kB per "
              "request; RSS %+d kB)" % (full["depth"], self.nMemory, full["accepted"], what,
                                         use(queued), use(queued) / max(1, full["depth"]),
                                         queued["rssKb"]))
        self.figure(interp, "S5", title="memory of an executor holding %d WAITING runs" % n,
                    engine=rnd(use(waiting) / 1024.0, 1), unit="MB", higherIsBetter=False,
                    baseline=rnd((idle["heapBytes"] / 1048576.0) if jvm
                                 else idle["rssKb"] / 1024.0, 1),
                    baselineLabel="the idle executor's %s" % what, ratio=None, aim=None,
                    met=None, notes="%s delta after parking %d runs through it (durable "
                    "sleep: WAITING, no thread); %.2f kB per waiting run; idle RSS %d kB%s"
                    % (what, n, use(waiting) / n, idle["rssKb"],
                       "; gc-tracked objects %+d" % objects if objects is not None else ""))
        self.figure(interp, "S6", title="memory of a full in-memory queue (%d requests)"
                    % full["depth"], engine=rnd(use(queued) / 1024.0, 1), unit="MB",
                    higherIsBetter=False, baseline=rnd((idle["heapBytes"] / 1048576.0) if jvm
                                                       else idle["rssKb"] / 1024.0, 1),
                    baselineLabel="the idle executor's %s" % what, ratio=None, aim=None,
                    met=None, notes="%s delta; %.2f kB per request (queue capacity %d, "
                    "the default)" % (what, use(queued) / max(1, full["depth"]), self.nMemory))

    # --- b. the dispatch tick over big tables (this process, CPython) ---------------------
    def tickCost(self):
        import history
        from simulator import worker
        self.stopAll()
        self.clean()
        self.sql("DELETE FROM {s}.executors")
        worker.boot(self.dsn, [PROJECT], list(MODULES), dbName=DB, workerThreads=THREADS)
        import exchange.workflows.api.service as service
        from exchange.workflows.db import runs
        from exchange.workflows.engine import dispatcher, kernel
        original, afterRun, handOver = runs.claim, dispatcher.afterRun, dispatcher.handOver
        # a finishing worker claims no more here, neither after its run nor with its
        # terminal write (the hand-over): each timed tick's claim is the only one, and the
        # backlog stays as it is between ticks. (With hand-overs the 8 workers drained the
        # backlog while the ticks were timed, and on a slow machine the tick could wait
        # out the pool's 10 s for a connection, one run in three.)
        dispatcher.afterRun = lambda dbName: None
        dispatcher.handOver = lambda *args, **kwargs: None
        claims = []

        def timed(*args, **kwargs):
            t0 = clock()
            result = original(*args, **kwargs)
            claims.append(clock() - t0)
            return result
        runs.claim = timed

        def idle():
            return kernel.getKernel().inFlight.get() == 0 and not self.sql(
                "SELECT 1 FROM {s}.workflow_runs WHERE status IN ('PENDING', 'RUNNING') "
                "LIMIT 1")

        def ticks(label, refill):
            del claims[:]
            times = []
            for i in range(3 + self.nTicks):
                if refill:
                    self.preload(THREADS, "three_steps", {"value": 1})
                t0 = clock()
                result = service.dispatch()
                elapsed = clock() - t0
                if not result["ok"]:
                    raise RuntimeError("dispatch: %r" % result)
                if i >= 3:
                    times.append(elapsed)
                else:
                    del claims[:]
                self.wait("the tick's runs", idle, 30, 0.005)
            out = {"label": label, "tickP50": 1000 * percentile(times, 0.5),
                   "tickP99": 1000 * percentile(times, 0.99),
                   "claimP50": 1000 * percentile(claims, 0.5),
                   "claimP99": 1000 * percentile(claims, 0.99), "claims": len(claims)}
            print("   %-40s dispatch() p50 %6.2f ms p99 %6.2f ms; claim p50 %6.2f ms p99 "
                  "%6.2f ms (%d claims)" % (label, out["tickP50"], out["tickP99"],
                                            out["claimP50"], out["claimP99"], len(claims)))
            return out
        try:
            rows = []
            rows.append((8, ticks("empty table (8 queued per tick)", True)))
            self.preload(self.backlog, "three_steps", {"value": 1})
            self.sql("ANALYZE {s}.workflow_runs")
            rows.append((self.backlog, ticks("%d queued" % self.backlog, False)))
            t0 = clock()
            conn = self.raw()
            # (no step rows: a tick and a claim never read them, and on a slow machine they
            # were half of the minute the history took)
            history.fillHistory(conn.cursor(), SCHEMA, self.historyRuns, 0, oneQueue=True)
            conn.close()
            print("   (history of %d terminal runs made in %.0f s)"
                  % (self.historyRuns, clock() - t0))
            rows.append((self.historyRuns + self.backlog,
                         ticks("%d terminal + %d queued" % (self.historyRuns, self.backlog),
                               False)))
        finally:
            runs.claim, dispatcher.afterRun, dispatcher.handOver = original, afterRun, handOver
            self.sql("DELETE FROM {s}.workflow_runs WHERE status = 'ENQUEUED'")
            self.wait("idle", idle, 60, 0.01)
            from exchange.workflows.api import lifecycle
            lifecycle.onShutdown()
            lifecycle.retire(0)
        empty, big = rows[0][1], rows[-1][1]
        worst = max(big["tickP99"], big["claimP99"], rows[1][1]["tickP99"])
        self.figure("cpython", "S2", title="dispatch tick p50 over %d terminal + %d queued rows"
                    % (self.historyRuns, self.backlog), engine=rnd(big["tickP50"]),
                    unit="ms", higherIsBetter=False, baseline=rnd(empty["tickP50"]),
                    baselineLabel="the same tick on an empty table",
                    ratio=rnd(big["tickP50"] / empty["tickP50"]),
                    aim="tick and every claim under 20 ms", met=bool(worst < 20),
                    series={"x": [r[0] for r in rows], "y": [rnd(r[1]["tickP50"]) for r in rows],
                            "xLabel": "rows in workflow_runs",
                            "p99": [rnd(r[1]["tickP99"]) for r in rows],
                            "claimP50": [rnd(r[1]["claimP50"]) for r in rows],
                            "claimP99": [rnd(r[1]["claimP99"]) for r in rows]},
                    notes="service.dispatch() in the driver (CPython, psycopg2 simulator, %d "
                    "workers), %d timed ticks per size, each claiming 8 runs, waited for; "
                    "worst p99 (tick or claim) %.1f ms; per size: %s"
                    % (THREADS, self.nTicks, worst, json.dumps(
                        [dict((k, rnd(v) if isinstance(v, float) else v)
                              for k, v in r[1].items()) for r in rows])))


def machine(conn):
    cur = conn.cursor()
    cur.execute("SHOW server_version")
    return {"cpus": os.cpu_count(), "postgres": cur.fetchone()[0],
            "platform": pyplatform.platform(terse=True)}


def interpreterName(interp):
    if interp == "cpython":
        return "cpython %s" % pyplatform.python_version()
    try:
        out = subprocess.check_output(["jython", "--version"], stderr=subprocess.STDOUT)
        return "jython %s" % out.decode().split()[-1]
    except (OSError, subprocess.CalledProcessError):
        return "jython"


def jsonPath(template, interp, many):
    if template is None:
        return os.path.join(HERE, "results", "latest", "scaling-%s.json" % interp)
    if "{interpreter}" in template:
        return template.replace("{interpreter}", interp)
    if many:
        root, ext = os.path.splitext(template)
        return "%s-%s%s" % (root, interp, ext or ".json")
    return template


def markdownTable(paths):
    """The figures of scaling JSON files as the table of docs/scaling.md."""
    lines = ["| figure | interpreter | engine | baseline | ratio | aim |",
             "| --- | --- | --- | --- | --- | --- |"]
    for path in paths:
        with open(path) as handle:
            part = json.load(handle)
        for f in part["figures"]:
            series = f.get("series") or {}
            engine = "%s %s" % (f["engine"], f["unit"])
            if series.get("y") and len(series["y"]) > 1:
                engine += " (%s: %s)" % (series.get("xLabel", "x"), ", ".join(
                    "%s: %s" % xy for xy in zip(series["x"], series["y"])))
            baseline = "%s %s, %s" % (f["baseline"], f["unit"], f["baselineLabel"]) \
                if f.get("baseline") is not None else ""
            if series.get("baseline"):
                baseline += " (%s)" % ", ".join("%s: %s" % xy for xy in
                                                zip(series["x"], series["baseline"]))
            met = {True: " (met)", False: " (not met)"}.get(f.get("met"), "")
            lines.append("| %s %s | %s | %s | %s | %s | %s%s |" % (
                f["id"], f["title"], part["interpreter"], engine, baseline,
                "" if f.get("ratio") is None else "%.2fx" % f["ratio"], f.get("aim") or "",
                met))
    return "\n".join(lines)


def parseArgs(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small counts (about a minute)")
    parser.add_argument("--interpreters", default="cpython,jython",
                        help="executor interpreters, comma-separated (jython skipped when "
                             "not installed)")
    parser.add_argument("--only", default="", help="figures to run: a,b,c,d,e")
    parser.add_argument("--json", default=None, help="where to write the JSON (may hold "
                                                     "{interpreter})")
    parser.add_argument("--table", nargs="+", metavar="JSON",
                        help="print these JSON files' figures as docs/scaling.md's table")
    args = parser.parse_args(argv)
    args.interpreters = [i.strip() for i in args.interpreters.split(",") if i.strip()]
    args.only = set(x.strip() for x in args.only.split(",") if x.strip()) or set("abcde")
    return args


def main(argv=None):
    args = parseArgs(sys.argv[1:] if argv is None else argv)
    if args.table:
        print(markdownTable(args.table))
        return
    begun = clock()
    interps = [i for i in args.interpreters if i != "jython" or shutil.which("jython")]
    for missing in set(args.interpreters) - set(interps):
        print("scaling: %s NOT FOUND - its figures are skipped" % missing)
    adminDsn, stop = pgserver.serverFromEnv("WORKFLOWS_DSN")
    name = None
    bench = None
    try:
        name, dsn = pgserver.createDatabase(adminDsn, "wf_scaling")
        bench = Scaling(args, dsn)
        info = machine(bench.conn)
        print("exchange.workflows bench, scaling part (%s); PostgreSQL %s, %d CPUs"
              % ("--quick" if args.quick else "full counts", info["postgres"], info["cpus"]))
        for interp in interps:
            print("")
            print("== %s executors" % interp)
            if "a" in args.only or "d" in args.only or "e" in args.only:
                if "a" in args.only:
                    section(bench, "a", lambda: bench.endToEnd(interp, {}))
                if not bench.executors:
                    bench.start(interp, 1)
                one = bench.executors[0]
                for extra in bench.executors[1:]:
                    extra.pause()
                if "d" in args.only:
                    section(bench, "d", lambda: bench.wakeUp(interp, one))
                if "e" in args.only:
                    section(bench, "e", lambda: bench.memory(interp, one))
                # the warm one survives into c: a surviving gateway has been running
                survivor = one if "c" in args.only else None
                bench.stopAll(keep=survivor)
                bench.sql("DELETE FROM {s}.executors WHERE executor_id <> %s",
                          (survivor.executorId if survivor is not None else "",))
            if "c" in args.only:
                section(bench, "c", lambda: bench.recovery(
                    interp, bench.executors[0] if bench.executors else None))
        if "b" in args.only:
            print("")
            print("== in this process (cpython)")
            section(bench, "b", bench.tickCost)
        for interp in set(interps) | set(bench.figures):
            path = jsonPath(args.json, interp, len(interps) > 1)
            if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
                os.makedirs(os.path.dirname(os.path.abspath(path)))
            with open(path, "w") as handle:
                json.dump({"part": "scaling", "interpreter": interpreterName(interp),
                           "quick": bool(args.quick), "machine": info,
                           "figures": bench.figures.get(interp, [])}, handle, indent=1)
            print("wrote %s" % path)
        print("total %.0f s" % (clock() - begun))
    finally:
        if bench is not None:
            bench.stopAll()
            bench.conn.close()
        try:
            from simulator import gateway
            gateway.closeAll()
        except Exception:  # noqa: B902
            pass
        if name is not None:
            try:
                pgserver.dropDatabase(adminDsn, name)
            except Exception as error:  # noqa: B902
                print("could not drop the scaling database %s: %s" % (name, error))
        stop()


def section(bench, letter, function):
    print("-- %s." % letter)
    t0 = clock()
    try:
        function()
    except Exception as error:  # noqa: B902 - one figure failing must not stop the rest
        import traceback
        print("   ERROR: %s: %s" % (type(error).__name__, error))
        for line in traceback.format_exc().rstrip().splitlines()[-6:]:
            print("   | " + line)
        for executor in bench.executors:
            if executor.paused:
                executor.resume()
    print("   (%.1f s)" % (clock() - t0))


if __name__ == "__main__":
    main()
