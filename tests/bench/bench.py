"""make bench: what the engine costs, each figure against a baseline measured in the same run.

Boots a simulated gateway in this process (the gateway simulator's system.db over psycopg2
under CPython, over pgJDBC under Jython 2.7, the engine's script library, the trivial
workflows of tests/bench/project), on a database of its own (created on $WORKFLOWS_DSN's
server, else on an embedded PostgreSQL; dropped at the end; ``--interpreter jython`` from
CPython makes the database and runs this script under Jython on it), and measures:

  1. in-memory enqueue  service.enqueueInMemory, one thread    vs offer() to a bounded queue
  2. flush              memoryqueue.flushAll until empty        vs execute_values, 500 rows/stmt
  3. durable enqueue    service.enqueue, one thread, no start   vs a single-row INSERT
  4. end to end         three_steps runs, dispatch every 1 s    vs a hand-written queue
  5. per step           noop_steps(10) - noop_steps(0)          vs one small single-row INSERT
  6. start latency      enqueue -> claim, no timer at all       vs the timer's mean wait, 500 ms
  7. claim over history db.runs.claim over 1,000,000 terminal runs, and a drain over them
                                                               vs the same over an empty history
                                                               (and a hand-written claim)
  8. retention tick     dispatch() with a retention pass due, 100,000 ended runs
                                                               vs the same tick, retention off
  9. statement time     figure 4's drain, ms per workflow in each statement kind (claim,
                        step INSERT, terminal UPDATE, SELECT 1, ...): pg_stat_statements'
                        server time when the server loads it, else client round trips
                                                               vs the hand-written queue's
(baselines 2 to 5: psycopg2 directly on CPython, bare JDBC on Jython (rawdb), on the same
database and tables; every figure also says how much of it the simulator's system.db took)

Ratios are engine cost / baseline cost (1.0 = as fast as the baseline; higher = slower).
Runs driven by dispatch stop at a time limit (--run-limit) so the whole bench stays within a
few minutes however slow the engine is; a capped figure says so. A figure the engine cannot
produce (an API raising) prints its error and the bench goes on.

    .venv/bin/python tests/bench/bench.py [--quick] [--only 1,4] [--run-limit 60]
        [--interpreter jython] [--json PATH]
"""
from __future__ import division, print_function

import argparse
import collections
import json
import math
import os
import platform as pyplatform
import re
import subprocess
import sys
import threading
import time
import traceback
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
REPO = os.path.dirname(TESTS)
sys.path[:0] = [os.path.join(TESTS, "gateway"), TESTS, HERE]

import handwritten  # noqa: E402  (the queue figure 4 compares with)
import rawdb  # noqa: E402  (tests/bench: psycopg2 on CPython, bare JDBC on Jython)
from helpers import waitFor  # noqa: E402
from simulator import worker  # noqa: E402

PROJECT = os.path.join(HERE, "project")
MODULE = "benchflows"
DB = "WorkflowsDB"
WORKER_THREADS = 8
# figure 4d: the concurrency the peer runs at (peers/README.md, its best on 2 cores: a
# queue's worker_concurrency 32, sys_db_pool_size 40), given to the engine and to the
# hand-written queue, so the peer's ratio compares like with like
PEER_WORKERS, PEER_POOL = 32, 40
DISPATCH_PERIOD = 1.0
POLL_SECONDS = 0.02
RAW_PAGE_SIZE = 500
RAW_QUEUE = "bench-raw"     # figure 3: the queue the baselines' rows name (never claimed)
STARTS_WARMUP = 5           # figure 6: runs before the measured ones
START_POLL_SECONDS = 0.001  # figure 6: how often the poller looks for SUCCESS
START_TIMEOUT = 5.0         # figure 6: a run not claimed by then fails the figure
RUN_TIMEOUT = 30.0          # figure 6: a claimed run not ended by then fails it too
TIMER_MEAN_WAIT_MS = 500.0  # the gateway timer's mean wait: half its 1 s fixed delay
HISTORY_RUNS = 1000000      # figure 7: terminal runs of a plant that keeps months of history
HISTORY_STEP_RUNS = 300000  # figure 7: ... the last of them with 3 step rows each
CLAIM_BACKLOG = 10000       # figure 7: runs queued while the claims are timed
CLAIM_SIZE = 8              # figure 7: rows each timed claim asks for (a free worker each)
CLAIM_WARMUP = 5            # figure 7: claims before the timed ones
JIT_QUIET_SHARE = 0.1       # figure 4: a JVM is warm when a drain costs its JIT under 10 % ...
JIT_WARM_LIMIT_S = 60       # ... of the drain's wall clock (no new warm-up drain after 60 s)
WARM_AGAIN_LIMIT_S = 10     # figures 4c and 4d, warm from figure 4: no new warm-up drain after 10 s
HISTORY_DB = "BenchHistory"  # figure 7: a second datasource on the bench database ...
HISTORY_SCHEMA = "wf_history"  # ... whose system schema holds the history
RETENTION_RUNS = 100000     # figure 8: ended runs (3 step rows each) the passes delete from
RETENTION_BATCH = 500       # figure 8: the pass's batch (the policy's default)
RETENTION_QUEUED = 8        # figure 8: runs queued before each timed tick (it claims them)
HAND_WRITTEN_CLAIM = (  # figure 7's baseline: CLAIM_SIZE runs of the queue, FIFO, one statement
    "UPDATE {s}.workflow_runs SET status = 'RUNNING', executor_id = 'bench-raw', "
    "attempts = attempts + 1, claimed_at_ms = {s}.now_ms(), updated_at_ms = {s}.now_ms() "
    "WHERE workflow_id IN (SELECT workflow_id FROM {s}.workflow_runs "
    "WHERE {queued} AND partition_key IS NULL AND queue_name = 'default' "
    "ORDER BY priority, enqueue_seq LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING workflow_id")

clock = rawdb.clock
RESULTS = os.path.join(HERE, "results", "latest")
PGJDBC_JAR = os.environ.get("PGJDBC_JAR") or "/usr/share/java/postgresql.jar"
try:  # what a figure may fail with: Python errors, and Java ones under Jython
    from java.lang import Throwable as _Throwable  # novm
    CATCHABLE = (Exception, _Throwable)
except ImportError:
    CATCHABLE = (Exception,)


def gitHead():
    """(short commit, whether the engine has uncommitted changes) or (None, False)."""
    try:
        with open(os.devnull, "w") as quiet:
            head = subprocess.check_output(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                                           stderr=quiet).decode().strip()
            dirty = subprocess.check_output(
                ["git", "-C", REPO, "status", "--porcelain", "--", "ignition"],
                stderr=quiet).decode().strip()
        return head, bool(dirty)
    except (OSError, subprocess.CalledProcessError):
        return None, False


def interpreterName():
    """"cpython 3.11.7" or "jython 2.7.3"."""
    return "%s %s" % (pyplatform.python_implementation().lower(), pyplatform.python_version())


def cpuCount():
    try:
        return os.cpu_count() or 0  # novm (Python 2.7: the fallback below)
    except AttributeError:  # Python 2.7
        if rawdb.IS_JAVA:
            from java.lang import Runtime  # novm
            return Runtime.getRuntime().availableProcessors()
        import multiprocessing
        return multiprocessing.cpu_count()


# ----------------------------------------------------------------------------------------
# small helpers
# ----------------------------------------------------------------------------------------
def jitMs():
    """Milliseconds the JVM's JIT compiler has spent so far (None off a JVM)."""
    try:
        from java.lang.management import ManagementFactory  # novm
    except ImportError:
        return None
    return ManagementFactory.getCompilationMXBean().getTotalCompilationTime()


def warmUntilCompiled(oneRound, rounds=10, quietMs=50, quietShare=0.0, limitS=None):
    """Call ``oneRound()`` once, and on a JVM again until a round costs its JIT compiler
    under ``quietMs``, or under ``quietShare`` of the round's wall clock (``rounds`` at most,
    no new round after ``limitS`` s): a gateway's hot paths run warm. The rounds run."""
    done, begun = 0, clock()
    while True:
        compiledMs, t0 = jitMs(), clock()
        oneRound()
        done += 1
        if compiledMs is None or done >= rounds or (limitS and clock() - begun > limitS):
            return done
        spentMs = jitMs() - compiledMs
        if spentMs < quietMs or spentMs < quietShare * (clock() - t0) * 1000.0:
            return done


def warmThenTimed(oneRound, timedRound=None, limitS=JIT_WARM_LIMIT_S):
    """On a JVM, ``oneRound()`` until the JIT compiler is quiet (warmUntilCompiled with
    JIT_QUIET_SHARE and JIT_WARM_LIMIT_S), then ``timedRound()`` (``oneRound`` once more by
    default): (its result, the compiler's milliseconds during that last round; None off a
    JVM). Off a JVM, one untimed round first. ``limitS``: no new untimed round after it."""
    warmUntilCompiled(oneRound, rounds=40, quietShare=JIT_QUIET_SHARE, limitS=limitS)
    compiledMs = jitMs()
    result = (timedRound or oneRound)()
    return result, None if compiledMs is None else jitMs() - compiledMs


def withCountsOf(timed, counted):
    """A drive() result timed without the StatementCounter, given the statements, the
    simulator's share and the ended runs (``countedFinal``) of an untimed ``counted`` one."""
    for key in ("counts", "transactions", "validations", "counter"):
        timed[key] = counted[key]
    timed["countedFinal"] = counted["final"]
    return timed


def percentile(sortedValues, fraction):
    """Nearest-rank percentile of an already sorted list."""
    if not sortedValues:
        return float("nan")
    rank = max(1, int(math.ceil(fraction * len(sortedValues))))
    return sortedValues[min(rank, len(sortedValues)) - 1]


def ms(seconds):
    return seconds * 1000.0


def fmtMs(value):
    if value != value:  # nan
        return "n/a"
    if abs(value) >= 100:
        return "%.0f ms" % value
    if abs(value) >= 1:
        return "%.2f ms" % value
    return "%.4f ms" % value


def fmtWholeMs(value):
    """A difference of two database stamps (whole milliseconds)."""
    return "n/a" if value != value else "%.0f ms" % value


def fmtRate(value):
    return "%.0f/s" % value if value >= 100 else "%.1f/s" % value


def fmtRatio(value):
    if value is None or value != value:
        return "n/a"
    return "%.1fx" % value if value >= 10 else "%.2fx" % value


def fmtSmallRatio(value):
    """A ratio far below 1 (figure 6); one at or below 0 means 'below the stamps' resolution'."""
    if value != value:
        return "n/a"
    return "%.3fx" % value if value > 0 else "~0x (p50 <= 0)"


def finite(value):
    """A number for JSON (NaN and infinities are not JSON: None)."""
    if value is None or isinstance(value, bool):
        return value
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if value == value and abs(value) != float("inf") else None


def check(envelope, what):
    if not isinstance(envelope, dict) or not envelope.get("ok"):
        raise RuntimeError("%s: %r" % (what, envelope))
    return envelope


class StatementCounter(object):
    """Wraps system.db (like tests/tools/statement_count.py) to count statements by kind,
    and the connection pool's test-on-borrow validations (a SELECT 1 round trip per borrow,
    Ignition's default datasource setting, which the simulator imitates). Counts made on
    the thread that installed it ("caller") are kept apart from the other threads' (the
    engine's workers and timer). Uninstallable.

    It also times where the time of those calls goes (the simulator's share, issue 18): in
    system.db's entry points (statements and transaction calls), inside them in the
    driver (connect, validate, execute, begin/commit/rollback, reset: pgJDBC or psycopg2
    with the conversion of values a gateway does in Java), and in the error context
    system.db formats before every call (describe/argsText). system.db minus the driver is
    the simulator's own cost (pool, locks, transaction bookkeeping, formatting): Java
    code on a gateway."""

    STATEMENTS = ("runPrepQuery", "runPrepUpdate", "runScalarPrepQuery")
    TRANSACTIONS = ("beginTransaction", "commitTransaction", "rollbackTransaction",
                    "closeTransaction")
    DRIVER = ("connect", "validate", "execute", "begin", "commit", "rollback", "reset")
    FORMATTING = ("describe", "argsText")
    SIDES = ("caller", "other")
    TIMES = ("db", "driver", "validation", "formatting")

    def __init__(self, schema):
        import system.db as db
        self.db = db
        self.schema = schema
        self.caller = threading.current_thread().ident
        self.counts = dict((side, collections.Counter()) for side in self.SIDES)
        self.transactions = dict((side, 0) for side in self.SIDES)
        self.validations = dict((side, 0) for side in self.SIDES)
        self.seconds = dict(((side, what), 0.0) for side in self.SIDES for what in self.TIMES)
        self.lock = threading.Lock()
        self.saved = []

    def install(self):
        for name in self.STATEMENTS:
            self._wrap(self.db, name, self._statement, "db")
        for name in self.TRANSACTIONS:
            self._wrap(self.db, name, self._transaction if name == "beginTransaction"
                       else None, "db")
        for name in self.FORMATTING:
            if hasattr(self.db, name):
                self._wrap(self.db, name, None, "formatting")
        driver = getattr(self.db, "_driver", None)
        for name in self.DRIVER:
            if driver is not None and hasattr(driver, name):
                self._wrap(driver, name, self._validation if name == "validate" else None,
                           "driver")
        return self

    def uninstall(self):
        for owner, name, original in reversed(self.saved):
            setattr(owner, name, original)
        self.saved = []

    def snapshot(self, side=None):
        """(Counter of statement kinds, transactions, validations) of one side or both."""
        sides = self.SIDES if side is None else (side,)
        with self.lock:
            texts = collections.Counter()
            for one in sides:
                texts.update(self.counts[one])
            transactions = sum(self.transactions[one] for one in sides)
            validations = sum(self.validations[one] for one in sides)
        counts = collections.Counter()
        for query, number in texts.items():
            counts[self.kind(query)] += number
        return counts, transactions, validations

    def share(self, per, side=None):
        """Milliseconds per unit (``per`` units: runs, calls, rows) spent in system.db, in
        the driver (of which the SELECT 1 validations), in error-context formatting, and
        the simulator's own (system.db minus the driver), summed over the threads of
        ``side`` (both when None); ``ownShare``: own / system.db."""
        sides = self.SIDES if side is None else (side,)
        with self.lock:
            total = dict((what, sum(self.seconds[(one, what)] for one in sides))
                         for what in self.TIMES)
        per = float(max(1, per))
        result = dict((what + "Ms", ms(total[what]) / per) for what in self.TIMES)
        result["ownMs"] = result["dbMs"] - result["driverMs"]
        result["ownShare"] = (result["ownMs"] / result["dbMs"]) if result["dbMs"] else None
        return result

    def _side(self):
        return "caller" if threading.current_thread().ident == self.caller else "other"

    def _wrap(self, owner, name, hook, timed):
        original = getattr(owner, name)
        self.saved.append((owner, name, original))
        seconds, lock, side = self.seconds, self.lock, self._side

        def counted(*args, **kwargs):
            if hook is not None:
                hook(args)
            t0 = clock()
            try:
                return original(*args, **kwargs)
            finally:
                elapsed = clock() - t0
                key = (side(), timed)
                with lock:
                    seconds[key] += elapsed
                    if name == "validate":
                        seconds[(key[0], "validation")] += elapsed
        setattr(owner, name, counted)

    def _statement(self, args):
        # (the statement's text only: classifying it, a regex on a long text, costs Jython
        # about 0.1 ms, which would count as the engine's own time; snapshot classifies)
        query = args[0] if args else ""
        side = self._side()
        with self.lock:
            self.counts[side][query] += 1

    def _transaction(self, args):
        side = self._side()
        with self.lock:
            self.transactions[side] += 1

    def _validation(self, args):
        side = self._side()
        with self.lock:
            self.validations[side] += 1

    def kind(self, query):
        text = " ".join(str(query).split())
        s = self.schema
        if "%s.finish_and_claim(" % s in text:
            return "terminal write + claim (one statement)"
        if "%s.finish_step_and_claim(" % s in text:
            return "terminal write + last checkpoint + claim (one statement)"
        if text.startswith("WITH fin AS (UPDATE %s.workflow_runs" % s):
            return "terminal write + last checkpoint (one statement)"
        if "%s.suspend_and_claim(" % s in text:
            return "sleep's suspend + claim (one statement)"
        if "pending_command IS NULL AND CAST(" in text and "SET status = 'WAITING'" in text:
            return "sleep's suspend (one statement)"
        if re.search(r"claimed_at_ms = %s\.now_ms\(\)" % re.escape(s), text) \
                or "SET status = 'PENDING'" in text or "%s.claim_runs(" % s in text:
            return "claim"  # (an engine whose claim makes the run RUNNING at once, or PENDING)
        if "json_array_elements(" in text and "INSERT INTO %s.step_outputs" % s in text:
            return "step checkpoints of several runs (one statement)"
        for marker, kind in (("INSERT INTO %s.step_outputs" % s, "step checkpoint (INSERT)"),
                             ("INSERT INTO %s.executors" % s, "executor registration"),
                             ("UPDATE %s.executors" % s, "heartbeat (lease + recovery)"),
                             ("SET status = 'RUNNING'", "start (UPDATE + step log read)"),
                             ("SET status = 'ENQUEUED', executor_id = NULL", "release (UPDATE)"),
                             ("SET status = 'ENQUEUED'", "promote delayed (UPDATE)"),
                             ("SET status = ?", "terminal write (UPDATE)"),
                             ("jsonb_array_elements(", "in-memory flush (batch INSERT)"),
                             ("INSERT INTO %s.workflow_runs" % s, "enqueue (INSERT)"),
                             ("FROM %s.step_outputs" % s, "step log read")):
            if marker in text:
                return kind
        verb = (text.split(" ", 1)[0] or "?").upper()
        table = re.search(r"\b(?:INTO|UPDATE|FROM)\s+([\w.]+)", text, re.IGNORECASE)
        return "other: %s %s" % (verb, table.group(1) if table else "")


def statementKind(query):
    """Figure 9's kind of one SQL statement (as sent, or as pg_stat_statements normalised
    it, constants as $1): the claim, the step INSERT, the terminal UPDATE, the pool's
    validation, the enqueue, transaction control, the bench's own polling, other."""
    text = " ".join(str(query).split()).lower()
    if text in ("select 1", "select $1"):
        return "validation SELECT 1"
    verb = text.split(" ", 1)[0] if text else "?"
    if verb in ("begin", "commit", "rollback", "set", "start", "end"):
        return "transaction control"
    if "select status, count(*)" in text or "pg_stat_statements" in text:
        return "(bench's own polling)"
    if text.startswith("with fin as (update"):
        return "terminal UPDATE + last step INSERT"
    if re.search(r"insert into [\w.]*step_outputs", text):
        return "step INSERT"
    if re.search(r"from [\w.]*finish_and_claim\(", text):
        return "terminal UPDATE + claim"
    if re.search(r"from [\w.]*finish_step_and_claim\(", text):
        return "terminal UPDATE + last step INSERT + claim"
    if re.search(r"from [\w.]*suspend_and_claim\(", text):
        return "sleep's suspend + claim"
    if ("skip locked" in text and re.search(r"update [\w.]*workflow_runs", text)) \
            or re.search(r"from [\w.]*claim_runs\(", text):
        return "claim UPDATE"
    if re.search(r"insert into [\w.]*workflow_runs", text):
        return "enqueue INSERT"
    if re.search(r"update [\w.]*workflow_runs", text) and "completed_at_ms" in text:
        return "terminal UPDATE"
    if "heartbeat_at_ms" in text and re.search(r"(update|insert into) [\w.]*executors", text):
        return "heartbeat / registration"
    table = re.search(r"\b(?:into|update|from)\s+([\w.]+)", text)
    return "other: %s %s" % (verb.upper(), table.group(1).split(".")[-1] if table else "")


def serverCostLine(kind, per, server, client):
    """Figure 9's line of one statement kind: count a workflow x mean ms = ms a workflow,
    of the server's time (``server``, (calls, ms)) when given, and of the client's."""
    parts = []
    for label, pair in (("server", server), ("client", client)):
        if pair is not None:
            count, spent = pair
            parts.append("%s%.2f x %.3f = %.3f ms" % (
                label + " " if server is not None else "", count / per,
                spent / count if count else 0.0, spent / per))
    return "%s %s" % (kind, ", ".join(parts))


class KindTimer(object):
    """Figure 9's client-side timing: the round trip of each statement by statementKind,
    on system.db's driver (execute, the pool's validate, begin/commit/rollback) and on the
    hand-written queue's cursors. Uninstallable."""

    TRANSACTIONS = ("begin", "commit", "rollback")

    def __init__(self):
        self.lock = threading.Lock()
        self.kinds = {}
        self.saved = []

    def add(self, kind, seconds):
        with self.lock:
            count, spent = self.kinds.get(kind, (0, 0.0))
            self.kinds[kind] = (count + 1, spent + ms(seconds))

    def snapshot(self):
        with self.lock:
            return dict(self.kinds)

    def installDriver(self):
        import system.db as db
        driver = db._driver
        self._wrap(driver, "execute", lambda args: statementKind(args[2]))
        self._wrap(driver, "validate", lambda args: "validation SELECT 1")
        for name in self.TRANSACTIONS:
            if hasattr(driver, name):
                self._wrap(driver, name, lambda args: "transaction control")
        return self

    def uninstall(self):
        for owner, name, original in reversed(self.saved):
            setattr(owner, name, original)
        self.saved = []

    def _wrap(self, owner, name, kindOf):
        original = getattr(owner, name)
        self.saved.append((owner, name, original))
        add = self.add

        def timed(*args, **kwargs):
            t0 = clock()
            try:
                return original(*args, **kwargs)
            finally:
                add(kindOf(args), clock() - t0)
        setattr(owner, name, timed)

    def connection(self, conn):
        """``conn`` whose cursors time each execute (the hand-written queue's)."""
        timer = self

        class Cursor(object):
            def __init__(self, cur):
                self.cur = cur

            def execute(self, statement, params=None):
                t0 = clock()
                try:
                    return self.cur.execute(statement, params)
                finally:
                    timer.add(statementKind(statement), clock() - t0)

            def __getattr__(self, name):
                return getattr(self.cur, name)

        class Connection(object):
            def cursor(self):
                return Cursor(conn.cursor())

            def __getattr__(self, name):
                return getattr(conn, name)
        return Connection()


class TimedExecutor(worker.HeadlessExecutor):
    """The gateway timer (fixed delay, worker.HeadlessExecutor), noting when it first ticked
    and what each tick claimed."""

    def __init__(self, periodSeconds, dbName=None):
        worker.HeadlessExecutor.__init__(self, periodSeconds, dbName)
        self.firstTickAt = None
        self.claimed = []
        self.tickSeconds = []
        self.failures = []
        self.crashed = None

    def tick(self):
        started = clock()
        if self.firstTickAt is None:
            self.firstTickAt = started
        result = worker.HeadlessExecutor.tick(self)
        self.tickSeconds.append(clock() - started)
        if isinstance(result, dict) and result.get("ok"):
            self.claimed.append((result.get("data") or {}).get("claimed", 0))
        else:
            self.failures.append(result)
        return result

    def runSafely(self):
        try:
            self.run()
        except BaseException as error:  # noqa: B902 - reported by the bench
            self.crashed = error


class ClaimTracker(object):
    """Wraps the engine's claim statement (db.runs.claim) to note which thread claimed each
    run: the caller's thread (the one that installed it: an enqueue's own claim) or another
    (a worker that finished a run and took the next); and how long each call took and how
    many rows it took (whoever called it: the timer, a finishing worker, an enqueue).
    Uninstallable."""

    def __init__(self):
        from exchange.workflows.db import runs
        self.runs = runs
        self.caller = threading.current_thread().ident
        self.claimedBy = {}
        self.seconds = []
        self.taken = []
        self.lock = threading.Lock()
        self.original = None

    def install(self):
        self.original = original = self.runs.claim

        def claim(*args, **kwargs):
            t0 = clock()
            result = original(*args, **kwargs)
            elapsed = clock() - t0
            with self.lock:  # result: ([db.runs.Claim], limitedWithWork, queuesWithWork)
                self.seconds.append(elapsed)
                self.taken.append(len(result[0]))
                for taken in result[0]:
                    self.claimedBy[taken.fence.workflowId] = threading.current_thread().ident
            return result
        self.runs.claim = claim
        return self

    def uninstall(self):
        if self.original is not None:
            self.runs.claim = self.original
            self.original = None

    def thread(self, workflowId):
        return self.claimedBy.get(workflowId)


# ----------------------------------------------------------------------------------------
# the bench
# ----------------------------------------------------------------------------------------
class Bench(object):
    def __init__(self, args):
        self.args = args
        scale = 10 if args.quick else 1
        # (counts cut in issue 18 so that both interpreters' core parts take about 5 minutes
        # together: 10,000 in-memory and 1,000 durable calls still give a p99 over 100 and
        # 10 samples; the drains over the history, 4 of them, 1,000 runs each)
        self.nMemory = 10000 // scale
        self.nDurable = 1000 // scale
        self.nEndToEnd = 2000 // scale
        self.nDrain = 1000 // scale
        self.nPerStep = 300 // scale
        self.nStart = 300 // scale
        self.nClaims = 100 // (5 if args.quick else 1)
        self.runLimit = args.run_limit if args.run_limit else (30.0 if args.quick else 60.0)
        self.summary = []
        self.figures = []  # the JSON report's (tests/bench/README.md, "JSON")
        self.memoryTexts = None
        self.postgres = None

    # --- set-up -----------------------------------------------------------------------
    def boot(self, dsn):
        self.dsn = dsn
        worker.boot(dsn, [PROJECT], [MODULE], dbName=DB, workerThreads=WORKER_THREADS)
        import exchange.workflows.api.admin as admin
        self.admin = admin
        import exchange.workflows.api.service as service
        from exchange.workflows import settings
        self.service = service
        self.schema = settings.schemaName()
        self.conn = self.raw()
        # The lookout (idlePollMs, an idle executor's 50 ms look for work started elsewhere)
        # is off here: each figure drives its own claims, and figure 8 times the pass on the
        # tick, where it runs when the lookout is off. tests/bench/scaling.py measures the
        # lookout (start latency from a client, recovery).
        self.configured = check(self.admin.configure(workerThreads=WORKER_THREADS,
                                                     idlePollMs=0),
                                "admin.configure").get("data") or {}

    def raw(self):
        return rawdb.connect(self.dsn)

    def sql(self, statement, params=None, conn=None, schema=None):
        cur = (conn or self.conn).cursor()
        try:
            cur.execute(statement.replace("{s}", schema or self.schema), params)
            return cur.fetchall() if cur.description is not None else cur.rowcount
        finally:
            cur.close()

    def truncate(self):
        """Empty the run tables (steps and anything else referencing runs cascade). Runs the
        engine may have started by itself are let finish first: queued ones are cancelled
        (so no worker claims them), claimed ones waited for."""
        self.sql("UPDATE {s}.workflow_runs SET status = 'CANCELLED', "
                 "error = CAST('{\"type\": \"BenchCleanup\"}' AS jsonb), "
                 "completed_at_ms = 0, updated_at_ms = 0 "
                 "WHERE status NOT IN ('PENDING', 'RUNNING', 'SUCCESS', 'ERROR', 'CANCELLED')")
        waitFor(lambda: not self.activeRuns(), 60, 0.02, "claimed runs to finish")
        waitFor(lambda: self.inFlight() == 0, 30, 0.01, "the engine's workers to go idle")
        tables = ["{s}.workflow_runs"]
        if self.sql("SELECT to_regclass('{s}.dead_letters')")[0][0] is not None:
            tables.append("{s}.dead_letters")
        self.sql("TRUNCATE %s CASCADE" % ", ".join(tables))

    def activeRuns(self, conn=None, schema=None):
        return self.sql("SELECT count(*) FROM {s}.workflow_runs "
                        "WHERE status IN ('PENDING', 'RUNNING')", conn=conn, schema=schema)[0][0]

    @staticmethod
    def inFlight():
        try:
            from exchange.workflows.engine import kernel
            return kernel.getKernel().inFlight.get()
        except CATCHABLE:  # noqa: B902 - the engine's internals may have moved
            return 0

    def statusCounts(self, conn=None, since=None, schema=None):
        """Runs by status (only those created since the database instant ``since``: over a
        long history, counting every row at every poll would load the server)."""
        if since is None:
            return dict(self.sql("SELECT status, count(*) FROM {s}.workflow_runs "
                                 "GROUP BY status", conn=conn, schema=schema))
        return dict(self.sql("SELECT status, count(*) FROM {s}.workflow_runs "
                             "WHERE created_at_ms >= %s GROUP BY status", (since,), conn=conn,
                             schema=schema))

    def databaseNowMs(self):
        return self.sql("SELECT {s}.now_ms()")[0][0]

    def discardMemoryQueue(self):
        """Empty the in-memory queue of the engine's connection without storing it."""
        from exchange.workflows import settings
        from exchange.workflows.engine import kernel
        queue = kernel.getKernel().memoryQueues.get(settings.databaseName(None))
        while queue is not None and queue.poll() is not None:
            pass

    def clearMemoryQueue(self):
        """Empty the in-memory queues (so no later dispatch stores and runs what is left):
        flushed into the database (truncate() then drops it), else simply discarded."""
        from exchange.workflows.engine import kernel, memoryqueue
        try:
            for _ in range(1000):
                if memoryqueue.totalDepth() == 0:
                    return
                memoryqueue.flushAll()
        except CATCHABLE:  # noqa: B902
            pass
        k = kernel.getKernel()
        for queues in (k.memoryQueues, k.memoryBatches, k.memoryDropped):
            for name in list(queues.keySet()):
                queue = queues.get(name)
                while queue.poll() is not None:
                    pass

    def header(self, adminDsn, embedded):
        print("exchange.workflows bench (%s)" % ("--quick: counts / 10" if self.args.quick
                                                   else "full counts"))
        print("  machine : %d CPU(s), %s %s on %s" % (
            cpuCount(), pyplatform.python_implementation(),
            pyplatform.python_version(), pyplatform.platform(terse=True)))
        version = self.postgres = self.sql("SHOW server_version")[0][0]
        print("  database: PostgreSQL %s, %s, schema %s" % (
            version, "embedded server (durability off)" if embedded else "$WORKFLOWS_DSN server",
            self.schema))
        head, dirty = gitHead()
        if head:
            print("  engine  : commit %s%s" % (head, " + uncommitted engine changes" if dirty
                                               else ""))
        info = self.admin.getEngineInfo() if hasattr(self.admin, "getEngineInfo") else None
        if isinstance(info, dict) and info.get("ok"):
            data = info["data"]
            try:
                from simulator import gateway
                poolMax = gateway.poolStats(DB)["max"]
            except CATCHABLE:  # noqa: B902
                poolMax = "?"
            print("  settings: workerThreads=%s claimBatch=%s startOnEnqueue=%s, dispatch every "
                  "%.1f s (fixed delay; figure 6 runs no timer), system.db pool of %s "
                  "connections with test-on-borrow"
                  % (data.get("workerThreads"), data.get("claimBatch"),
                     self.configured.get("startOnEnqueue", "n/a"), DISPATCH_PERIOD, poolMax))
        print("  ratios  : engine cost / baseline cost (1.0 = as fast as the baseline)")
        print("  limit   : dispatch-driven runs stop after %.0f s each" % self.runLimit)

    def block(self, number, title, function, cleanup=True):
        if not wantsFigure(self.args, number):
            return
        print("")
        print("== %d. %s" % (number, title))
        started = clock()
        sampler = None
        if self.args.profile and rawdb.IS_JAVA:
            import jprofile
            sampler = jprofile.Sampler().start()
        try:
            function()
        except CATCHABLE as error:  # noqa: B902 - one figure failing must not stop the rest
            print("   ERROR: this figure could not be produced: %s: %s"
                  % (type(error).__name__, error))
            for line in traceback.format_exc().rstrip().splitlines()[-8:]:
                print("   | " + line)
            self.summary.append((number, title.split(":")[0].lower(), "ERROR", "", "", ""))
            self.figure(str(number), title, None, "", None,
                        notes="ERROR: %s: %s" % (type(error).__name__, error))
        finally:
            try:
                if cleanup:  # (figure 2 flushes what figure 1 queued)
                    self.clearMemoryQueue()
                self.truncate()
            except CATCHABLE as error:  # noqa: B902
                print("   (clean-up after this figure failed: %s)" % error)
        if sampler is not None:
            for line in sampler.stop(clock() - started):
                print("   " + line)
        print("   (%.1f s)" % (clock() - started))

    def figure(self, fid, title, engine, unit, baseline, **fields):
        """One figure of the JSON report: ``engine`` and ``baseline`` in ``unit``; options
        baselineLabel, higherIsBetter (a rate), ratio (engine cost / baseline cost; by
        default from the two), aim, met, notes, simulator (StatementCounter.share),
        settings (what the engine ran with, where a peer's figure is compared at them)."""
        higher = bool(fields.get("higherIsBetter"))
        ratio = fields.get("ratio")
        if ratio is None and engine and baseline:
            ratio = baseline / engine if higher else engine / baseline
        entry = {"id": str(fid), "title": title, "engine": finite(engine), "unit": unit,
                 "higherIsBetter": higher, "baseline": finite(baseline),
                 "baselineLabel": fields.get("baselineLabel"), "ratio": finite(ratio),
                 "aim": fields.get("aim"), "met": fields.get("met"),
                 "notes": fields.get("notes")}
        if fields.get("settings"):
            entry["settings"] = fields["settings"]
        simulator = fields.get("simulator")
        if simulator:
            entry["simulator"] = dict((k, finite(v) if isinstance(v, float) else v)
                                      for k, v in simulator.items())
        self.figures.append(entry)

    def printShare(self, share, unit):
        """The simulator's share of a figure (StatementCounter.share), one line."""
        print("   simulator system.db %s per %s (thread time): driver %s (SELECT 1 validations "
              "%s), the simulator's own %s%s (of it error-context formatting %s)" % (
                  fmtMs(share["dbMs"]), unit, fmtMs(share["driverMs"]),
                  fmtMs(share["validationMs"]), fmtMs(share["ownMs"]),
                  " = %.0f%%" % (100 * share["ownShare"]) if share["ownShare"] is not None
                  else "", fmtMs(share["formattingMs"])))
        share["per"] = unit
        return share

    # --- 1. in-memory enqueue ---------------------------------------------------------
    def inMemoryEnqueue(self):
        from exchange.workflows import platform, settings
        from exchange.workflows.engine import kernel
        n = self.nMemory
        # as many untimed calls first: the JVM compiles a hot path only after thousands of
        # calls, and a gateway's tag event threads run warm for months (CPython pays 70 ms)
        # (a JVM goes on compiling for longer: there, rounds of n calls until a round costs
        # the JIT compiler under 50 ms, at most 10, each queue emptied before the next)
        warm = max(100, n)
        check(self.admin.configure(memoryQueueCapacity=n + warm + 1000), "admin.configure")
        self.clearMemoryQueue()
        enqueueInMemory = self.service.enqueueInMemory
        first = enqueueInMemory("three_steps", inputs={"value": -1})
        check(first, "enqueueInMemory")
        latencies = []
        refusals = []

        def oneRound(count):
            # the warm-up rounds and the timed one run this same code, so the timed calls
            # run what the JIT compiled during the warm-up (a new loop would be compiled
            # anew while it is timed)
            del latencies[:], refusals[:]
            for i in range(count):
                t0 = clock()
                result = enqueueInMemory("three_steps", inputs={"value": i})
                latencies.append(clock() - t0)
                if not result["ok"]:
                    refusals.append(result)

        def warmRound():
            oneRound(warm - 1)
            self.discardMemoryQueue()
        rounds = warmUntilCompiled(warmRound)
        # the timed round again (twice at most, the queue emptied first) when the JIT
        # compiler worked during it: a warm gateway's tag threads run compiled code, and on
        # 2 cores a compilation in the timed second shows in its p99
        retaken = 0
        while True:
            compiledMs = jitMs()
            begun = clock()
            oneRound(n)
            elapsed = clock() - begun
            if compiledMs is None or jitMs() - compiledMs < 50 or retaken == 2:
                break
            retaken += 1
            self.discardMemoryQueue()
        refused = len(refusals)
        lastRefusal = refusals[-1] if refusals else None
        timedJitMs = None if compiledMs is None else jitMs() - compiledMs
        queue = kernel.getKernel().memoryQueues.get(settings.databaseName(None))
        texts = []
        iterator = queue.iterator()
        while iterator.hasNext():
            texts.append(iterator.next())
        self.memoryTexts = texts
        # baseline: the same JSON texts offered to the very queue type the engine keeps
        timed = texts[-n:]
        baseQueue = platform.newBoundedQueue(len(timed) + 10)
        for text in texts[:warm]:
            platform.newBoundedQueue(10).offer(text)
        base = []
        baseBegun = clock()
        for text in timed:
            t0 = clock()
            baseQueue.offer(text)
            base.append(clock() - t0)
        baseElapsed = clock() - baseBegun
        deque = collections.deque()
        plain = []
        for text in timed:
            t0 = clock()
            deque.append(text)
            plain.append(clock() - t0)
        latencies.sort()
        base.sort()
        plain.sort()
        rate, baseRate = n / elapsed, len(timed) / baseElapsed
        p50, p99 = ms(percentile(latencies, 0.5)), ms(percentile(latencies, 0.99))
        b50, b99 = ms(percentile(base, 0.5)), ms(percentile(base, 0.99))
        print("   engine   enqueueInMemory x %d: p50 %s  p99 %s  max %s  %s"
              % (n, fmtMs(p50), fmtMs(p99), fmtMs(ms(latencies[-1])), fmtRate(rate)))
        print("   baseline bounded-queue offer of the same %d JSON texts: p50 %s  p99 %s  %s"
              % (len(timed), fmtMs(b50), fmtMs(b99), fmtRate(baseRate)))
        print("            (a bare deque.append: p50 %s; per-call timer included in all)"
              % fmtMs(ms(percentile(plain, 0.5))))
        print("   ratio    p50 %s   rate %s   (%d of %d refused%s)"
              % (fmtRatio(p50 / b50), fmtRatio(baseRate / rate), refused, n,
                 ": %s" % lastRefusal.get("code") if lastRefusal else ""))
        print("   row JSON : %d characters, e.g. %s" % (len(texts[-1]), texts[-1][:160]))
        self.summary.append((1, "in-memory enqueue p50", fmtMs(p50), fmtMs(b50),
                             fmtRatio(p50 / b50), "tag scripts: single-digit ms"))
        self.summary.append((1, "in-memory enqueue rate", fmtRate(rate), fmtRate(baseRate),
                             fmtRatio(baseRate / rate), ""))
        self.figure("1", "in-memory enqueue p50, %d calls, one thread" % n, p50, "ms", b50,
                    baselineLabel="bounded-queue offer of the same JSON",
                    aim="p99 under 0.1 ms (tag event threads)", met=p99 < 0.1,
                    notes="p99 %.4f ms (baseline %.4f ms), after %d untimed warm-up calls%s"
                    % (p99, b99, warm * rounds, "" if timedJitMs is None else
                       "; the JIT compiler's time during the timed calls: %d ms (the timed "
                       "round taken %d time(s))" % (timedJitMs, retaken + 1)))
        self.figure("1b", "in-memory enqueue rate", rate, "calls/s", baseRate,
                    higherIsBetter=True, baselineLabel="bounded-queue offer")

    # --- 2. flush ---------------------------------------------------------------------
    def flush(self):
        from exchange.workflows.engine import memoryqueue
        if self.memoryTexts is None or memoryqueue.totalDepth() == 0:
            raise RuntimeError("nothing queued in memory (figure 1 did not run)")
        self.truncate()
        depth = memoryqueue.totalDepth()
        counter = StatementCounter(self.schema).install()
        rounds = 0
        begun = clock()
        try:
            while memoryqueue.totalDepth() > 0:
                result = memoryqueue.flushAll()
                rounds += 1
                if result.get("errors"):
                    raise RuntimeError("flushAll errors: %r" % (result["errors"],))
                if rounds > depth:
                    raise RuntimeError("flushAll makes no progress (%d left)"
                                       % memoryqueue.totalDepth())
            elapsed = clock() - begun
        finally:
            counter.uninstall()
        counts, _, validations = counter.snapshot()
        share = counter.share(depth)
        landed = self.statusCounts()
        stored = sum(landed.values())
        self.truncate()
        # baseline: the same rows through psycopg2's execute_values, 500 rows a statement
        rows = []
        for text in self.memoryTexts:
            item = json.loads(text)
            rows.append((item["workflow_id"], item["workflow_name"], "ENQUEUED",
                         item.get("queue_name") or "default", item.get("priority") or 0,
                         json.dumps(item.get("inputs") or {})))
        conn = self.raw()
        try:
            cur = conn.cursor()
            baseBegun = clock()
            rawdb.executeValues(
                cur, self.q("INSERT INTO {s}.workflow_runs (workflow_id, workflow_name, status, "
                            "queue_name, priority, inputs) VALUES %s"),
                rows, template="(%s, %s, %s, %s, %s, CAST(%s AS jsonb))",
                pageSize=RAW_PAGE_SIZE)
            baseElapsed = clock() - baseBegun
        finally:
            conn.close()
        rawStored = sum(self.statusCounts().values())
        rate, baseRate = depth / elapsed, len(rows) / baseElapsed
        print("   engine   flushAll x %d until empty: %d rows in %.3f s = %s (%d statements, "
              "%d stored)" % (rounds, depth, elapsed, fmtRate(rate), sum(counts.values()),
                              stored))
        print("   baseline %s multi-row INSERT, %d rows/statement: %d rows in %.3f s = %s "
              "(%d stored)" % (rawdb.driverName(), RAW_PAGE_SIZE, len(rows), baseElapsed, fmtRate(baseRate),
                               rawStored))
        print("   ratio    time per row %s   (aim: within 2x)"
              % fmtRatio((elapsed / depth) / (baseElapsed / len(rows))))
        self.printShare(share, "row")
        self.summary.append((2, "flush rows/s", fmtRate(rate), fmtRate(baseRate),
                             fmtRatio(baseRate / rate), "within 2x"))
        self.figure("2", "flush of the in-memory queue, %d rows" % depth, rate, "rows/s",
                    baseRate, higherIsBetter=True, aim="within 2x",
                    met=baseRate / rate <= 2.0, simulator=share,
                    baselineLabel="multi-row INSERT, %d rows a statement (%s)"
                    % (RAW_PAGE_SIZE, rawdb.driverName()))

    def q(self, statement):
        return statement.replace("{s}", self.schema)

    # --- 3. durable enqueue -----------------------------------------------------------
    def setStartOnEnqueue(self, value):
        """admin.configure(startOnEnqueue=value); False when the engine has no such option."""
        try:
            result = self.admin.configure(startOnEnqueue=value)
        except TypeError:
            return False
        if not (isinstance(result, dict) and result.get("ok")):
            return False
        return (result.get("data") or {}).get("startOnEnqueue", value) == value

    def durableEnqueue(self):
        """The enqueue call's own cost: startOnEnqueue off and no run executing, so every
        call is the durable INSERT path alone (no claim on the caller's thread, no worker
        competing for the CPU). The engine's calls and the two baselines' are interleaved
        (rotating their order), so all three meet the same table size and machine state."""
        n = self.nDurable
        countedCalls = max(1, n // 5)
        enqueue = self.service.enqueue
        insert = self.q("INSERT INTO {s}.workflow_runs (workflow_id, workflow_name, status, "
                        "queue_name, priority, inputs) "
                        "VALUES (%s, %s, 'ENQUEUED', %s, %s, CAST(%s AS jsonb))")
        bareConn, validatingConn = self.raw(), self.raw()
        bareCur, validatingCur = bareConn.cursor(), validatingConn.cursor()
        latencies, base, validated = [], [], []
        failed = [0]

        def engineCall(i):
            t0 = clock()
            result = enqueue("three_steps", inputs={"value": i})
            latencies.append(clock() - t0)
            if not result["ok"]:
                failed[0] += 1

        def bareInsert(i):
            # baseline: one single-row INSERT per run, psycopg2 autocommit, one thread
            params = (str(uuid.uuid4()), "three_steps", RAW_QUEUE, 0, json.dumps({"value": i}))
            t0 = clock()
            bareCur.execute(insert, params)
            base.append(clock() - t0)

        def validatedInsert(i):
            # secondary baseline: the same INSERT preceded by the SELECT 1 a validating pool
            # sends on every borrow
            params = (str(uuid.uuid4()), "three_steps", RAW_QUEUE, 0, json.dumps({"value": i}))
            t0 = clock()
            validatingCur.execute("SELECT 1")
            validatingCur.fetchall()
            validatingCur.execute(insert, params)
            validated.append(clock() - t0)

        kinds = [engineCall, bareInsert, validatedInsert]
        self.truncate()
        turnedOff = self.setStartOnEnqueue(False)
        try:
            # untimed rounds first; on a JVM until a round costs its JIT compiler under
            # 50 ms (at most 10 rounds of 200): a gateway's enqueue path runs warm
            def warmRound():
                for i in range(20 if jitMs() is None else 200):
                    for call in kinds:
                        call(i)
            warmUntilCompiled(warmRound)
            check(enqueue("three_steps", inputs={"value": -1}), "enqueue")
            self.truncate()
            del latencies[:], base[:], validated[:]
            failed[0] = 0
            idle = (self.inFlight(), self.activeRuns())
            for i in range(n):
                for k in range(3):
                    kinds[(i + k) % 3](i)
            timed, failedTimed = list(latencies), failed[0]
            stored = self.sql("SELECT count(*) FROM {s}.workflow_runs WHERE queue_name <> %s",
                              (RAW_QUEUE,))[0][0]
            startedMeanwhile = self.sql("SELECT count(*) FROM {s}.workflow_runs "
                                        "WHERE status <> 'ENQUEUED'")[0][0]
            # the statements and the simulator's share: engine calls again with the bench's
            # StatementCounter, untimed (its wrappers cost the call time the baselines do
            # not pay)
            counter = StatementCounter(self.schema).install()
            try:
                for i in range(countedCalls):
                    engineCall(i)
            finally:
                counter.uninstall()
            countedMean = ms(sum(latencies[len(timed):]) / max(1, len(latencies) - len(timed)))
            if failed[0] != failedTimed:
                raise RuntimeError("%d of the %d counted enqueue calls failed"
                                   % (failed[0] - failedTimed, countedCalls))
            latencies[:] = timed
        finally:
            if turnedOff:
                self.setStartOnEnqueue(True)
            bareConn.close()
            validatingConn.close()
        failed = failed[0]
        counts, transactions, validations = counter.snapshot("caller")
        share = counter.share(countedCalls, "caller")
        others = counter.snapshot("other")
        self.truncate()
        mean, baseMean = ms(sum(latencies) / n), ms(sum(base) / n)
        validatedMean = ms(sum(validated) / n)
        self.rawInsertMs = baseMean
        latencies.sort()
        base.sort()
        if turnedOff:
            print("   (the enqueue call's own cost, the durable INSERT path alone: "
                  "admin.configure(startOnEnqueue=False) and no run executing - %d in flight, "
                  "%d active at the start, %d started meanwhile - so no claim runs on the "
                  "caller's thread and no worker competes for the CPU; engine calls and "
                  "baseline INSERTs interleaved)" % (idle[0], idle[1], startedMeanwhile))
        else:
            print("   (NOTE: this engine has no startOnEnqueue=False; each enqueue may start "
                  "its run, so the figure includes that claim and workers competing for the "
                  "CPU: %d of %d runs left ENQUEUED state meanwhile)" % (startedMeanwhile, n))
        print("   engine   service.enqueue x %d: mean %s  p50 %s  p99 %s  = %s (%d failed, "
              "%d stored)" % (n, fmtMs(mean), fmtMs(ms(percentile(latencies, 0.5))),
                              fmtMs(ms(percentile(latencies, 0.99))), fmtRate(1000.0 / mean),
                              failed, stored))
        print("            per call, on the caller's thread (counted over %d more calls, "
              "untimed): %.2f statement(s) %s, %.2f pool validation(s) (SELECT 1), %.2f "
              "transaction(s)" % (countedCalls, sum(counts.values()) / float(countedCalls),
                                  self.kinds(counts, countedCalls),
                                  validations / float(countedCalls),
                                  transactions / float(countedCalls)))
        if sum(others[0].values()):
            print("            meanwhile on other threads (runs the engine started by itself, "
                  "competing for the CPU): %.2f statement(s) per call %s"
                  % (sum(others[0].values()) / float(countedCalls),
                     self.kinds(others[0], countedCalls)))
        print("   baseline %s single-row INSERT x %d: mean %s  p50 %s  p99 %s  = %s"
              % (rawdb.driverName(), n, fmtMs(baseMean), fmtMs(ms(percentile(base, 0.5))),
                 fmtMs(ms(percentile(base, 0.99))), fmtRate(1000.0 / baseMean)))
        print("            (SELECT 1 + the same INSERT, i.e. the round trips of a validating "
              "pool: mean %s = %s of the baseline)" % (fmtMs(validatedMean),
                                                      fmtRatio(validatedMean / baseMean)))
        print("   ratio    time per call %s vs the bare INSERT   (aim: within 1.5x)"
              % fmtRatio(mean / baseMean))
        print("            time per call %s vs SELECT 1 + INSERT through a validating pool "
              "(secondary)" % fmtRatio(mean / validatedMean))
        self.summary.append((3, "durable enqueue per call", fmtMs(mean), fmtMs(baseMean),
                             fmtRatio(mean / baseMean), "within 1.5x"))
        self.summary.append((3, "  vs validating pool", fmtMs(mean),
                             fmtMs(validatedMean) + " (SELECT 1+INSERT)",
                             fmtRatio(mean / validatedMean), ""))
        self.printShare(share, "call")
        print("            the counted calls (%s each, the bench's counter included): the "
              "engine's own time per call (minus system.db) %s; the call without the "
              "simulator's own share %s = %s of SELECT 1 + INSERT"
              % (fmtMs(countedMean), fmtMs(countedMean - share["dbMs"]),
                 fmtMs(countedMean - share["ownMs"]),
                 fmtRatio((countedMean - share["ownMs"]) / validatedMean)))
        self.figure("3", "durable enqueue, %d calls, one thread" % n, mean, "ms", baseMean,
                    baselineLabel="single-row INSERT (%s)" % rawdb.driverName(),
                    aim="within 1.5x", met=mean / baseMean <= 1.5, simulator=share,
                    notes="p50 %.3f ms, p99 %.3f ms; %.2f statements, %.2f validations a call"
                    % (ms(percentile(latencies, 0.5)), ms(percentile(latencies, 0.99)),
                       sum(counts.values()) / float(countedCalls),
                       validations / float(countedCalls)))
        self.figure("3b", "durable enqueue vs a validating pool", mean, "ms", validatedMean,
                    baselineLabel="SELECT 1 + INSERT (%s)" % rawdb.driverName(),
                    aim="within 1.2x", met=mean / validatedMean <= 1.2, simulator=share)

    @staticmethod
    def kinds(counts, per):
        if not counts:
            return ""
        return "[" + ", ".join("%s %.2f" % (kind, number / float(per))
                               for kind, number in sorted(counts.items())) + "]"

    # --- driving runs the way a gateway does ------------------------------------------
    def preload(self, count, name, inputs, schema=None):
        """Queue ``count`` runs with one raw multi-row INSERT of ENQUEUED rows (what an
        enqueue writes): service.enqueue may start a run on the caller's thread at once,
        and here nothing may start before the first dispatch."""
        conn = self.raw()
        try:
            rawdb.executeValues(
                conn.cursor(), "INSERT INTO %s.workflow_runs (workflow_id, workflow_name, "
                               "status, queue_name, priority, inputs) VALUES %%s"
                               % (schema or self.schema),
                [(str(uuid.uuid4()), name, "ENQUEUED", "default", 0, json.dumps(inputs))
                 for _ in range(count)], template="(%s, %s, %s, %s, %s, CAST(%s AS jsonb))",
                pageSize=RAW_PAGE_SIZE)
        finally:
            conn.close()

    def drive(self, count, limit, since=None, dbName=None, schema=None, enough=None,
              counted=True):
        """Dispatch every DISPATCH_PERIOD s (fixed delay) from a timer thread until ``count``
        runs ended (polled with a raw connection every 20 ms; only the runs created since
        ``since``, when given) or ``limit`` s passed; on another datasource (``dbName``,
        whose system schema is ``schema``) when given. ``enough()`` is called then, before
        the timer stops (to take away what is still queued, say).
        Returns a dict of what happened; the statements cover the whole run, in-flight runs
        included (they are waited for after the timer stops). ``counted=False``: no
        StatementCounter (its wrappers and lock cost the workers CPU the baselines do not
        pay), so no counts either."""
        counter = StatementCounter(schema or self.schema)
        if counted:
            counter.install()
        executor = TimedExecutor(DISPATCH_PERIOD, dbName)
        thread = threading.Thread(target=executor.runSafely, name="bench-dispatch-timer")
        thread.daemon = True
        poll = self.raw()
        capped = False
        try:
            thread.start()
            waitFor(lambda: executor.firstTickAt is not None or executor.crashed, 30, 0.001,
                    "the first dispatch")
            while True:
                statuses = self.statusCounts(poll, since, schema)
                now = clock()
                done = statuses.get("SUCCESS", 0)
                ended = done + statuses.get("ERROR", 0) + statuses.get("CANCELLED", 0)
                if ended >= count:
                    break
                if executor.crashed is not None:
                    raise RuntimeError("the dispatch timer died: %r" % (executor.crashed,))
                if not ended and len(executor.failures) >= 3:
                    raise RuntimeError("dispatch fails and nothing ran: %s"
                                       % (executor.failures[0] or {}).get("message"))
                if now - executor.firstTickAt >= limit:
                    capped = True
                    break
                time.sleep(POLL_SECONDS)
            elapsed = now - executor.firstTickAt
        finally:
            if enough is not None:
                enough()
            executor.stop()
            thread.join(30)
            try:
                waitFor(lambda: not self.activeRuns(poll, schema), 60, 0.02,
                        "claimed runs to finish after the timer stopped")
            finally:
                counter.uninstall()
        final = self.statusCounts(poll, since, schema)
        poll.close()
        if not done:
            raise RuntimeError("no run succeeded within %.0f s (statuses %r; dispatch: %s)"
                               % (limit, final, (executor.failures[:1] or ["ok"])[0]))
        counts, transactions, validations = counter.snapshot()
        return {"elapsed": elapsed, "done": done, "statuses": statuses, "final": final,
                "capped": capped, "counts": counts, "transactions": transactions,
                "validations": validations, "ticks": executor.ticks,
                "claimed": list(executor.claimed), "tickSeconds": list(executor.tickSeconds),
                "failures": list(executor.failures), "counter": counter}

    def cadenceBound(self, run, workers=WORKER_THREADS):
        """Whether the run was paced by the timer: every non-empty tick filled the workers
        and the ticks claimed (nearly) every run."""
        claimed = [c for c in run["claimed"] if c]
        return run["capped"] or (len(claimed) > 1 and min(claimed[:-1] or [0]) >= workers
                                 and sum(claimed) >= 0.9 * run["done"])

    def describeDrive(self, run, count, label, workers=WORKER_THREADS):
        rate = run["done"] / run["elapsed"] if run["elapsed"] > 0 else float("nan")
        claimed = [c for c in run["claimed"] if c] or [0]
        ticks = run["tickSeconds"] or [0.0]
        note = ""
        if run["capped"]:
            note = "  CAPPED at %.0f s: %d of %d done" % (self.runLimit, run["done"], count)
        print("   engine   %s x %d: %d done in %.2f s = %s%s"
              % (label, count, run["done"], run["elapsed"], fmtRate(rate), note))
        print("            %d dispatch tick(s) claimed %d run(s) (at most %d a tick; %d claimed "
              "off the timer); tick duration p50 %s, max %s%s" % (
                  run["ticks"], sum(run["claimed"]), max(claimed),
                  max(0, run["final"].get("SUCCESS", 0) + run["final"].get("ERROR", 0)
                      - sum(run["claimed"])),
                  fmtMs(ms(percentile(sorted(ticks), 0.5))), fmtMs(ms(max(ticks))),
                  "; paced by the timer" if self.cadenceBound(run, workers) else ""))
        others = dict((k, v) for k, v in run["final"].items() if k != "SUCCESS")
        if others or run["failures"]:
            print("            not SUCCESS at the end: %r; failed dispatches: %d %s"
                  % (others, len(run["failures"]), (run["failures"][:1] or [""])[0]))
        return rate

    def perWorkflow(self, run):
        """(statements a workflow, workflows ended) of the drain the counts come from."""
        final = run.get("countedFinal", run["final"])
        finished = max(1, final.get("SUCCESS", 0) + final.get("ERROR", 0))
        return sum(run["counts"].values()) / float(finished), finished

    # --- 4. end to end ----------------------------------------------------------------
    def endToEnd(self):
        n = self.nEndToEnd
        # a gateway runs for months: both sides first drain untimed runs, so the JVM has
        # compiled their hot paths and the connections hold their plans. Jython compiles
        # for long: on 2 cores its JIT compiler took 6-7 s of every 2,000-run drain until
        # about 24,000 runs had been drained, and the drain then ran 1.5x faster with half
        # the CPU a run (2026-12-05); so on a JVM both sides drain until the JIT is quiet
        warm = n * 3 if sys.platform.startswith("java") else n // 4
        print("   (the runs are inserted up front with one raw multi-row INSERT, so none "
              "starts before the first dispatch; each side first drained %d untimed runs%s)"
              % (warm, "" if jitMs() is None else ", then drains of %d until the JVM's JIT "
                 "compiler was quiet" % n))
        run = self.drainAfterWarming(n, warm)
        rate = self.describeDrive(run, n, "three_steps")
        perRun, finished = self.perWorkflow(run)
        print("            per workflow (counted in the untimed drain before; the timed one "
              "runs without the bench's statement counter): %.2f statement(s) %s, %.2f pool "
              "validation(s) (SELECT 1), %.2f transaction(s)"
              % (perRun, self.kinds(run["counts"], finished),
                 run["validations"] / float(finished), run["transactions"] / float(finished)))
        share = self.printShare(run["counter"].share(finished), "workflow")
        print("            (wall clock per workflow: %s; thread times add up over the %d "
              "workers and the timer)" % (fmtMs(1000.0 / rate), WORKER_THREADS))
        self.truncate()
        self.handWrittenQueue(warm)

        baseElapsed, baseJitMs = self.timedHandWritten(n)
        baseRate = n / baseElapsed
        print("   baseline hand-written %s queue, %d threads with a connection each "
              "(claim UPDATE .. RETURNING, 3 INSERT step_outputs, UPDATE to SUCCESS; no "
              "timer): %d in %.2f s = %s" % (rawdb.driverName(), WORKER_THREADS, n, baseElapsed,
                                             fmtRate(baseRate)))
        if run["jitMs"] is not None:
            print("            the JVM's JIT compiler during the timed drains (each side first "
                  "drained rounds of %d until a round cost it under %d%% of its wall clock, "
                  "%d s at most): engine %.0f ms in %.2f s, hand-written %.0f ms in %.2f s"
                  % (n, JIT_QUIET_SHARE * 100, JIT_WARM_LIMIT_S, run["jitMs"], run["elapsed"],
                     baseJitMs, baseElapsed))
        print("   ratio    time per workflow %s%s" % (
            fmtRatio(baseRate / rate),
            "   (the engine is paced by its %.1f s dispatch timer: each tick claims at most "
            "%d runs, one per free worker; the baseline claims in a tight loop)"
            % (DISPATCH_PERIOD, WORKER_THREADS) if self.cadenceBound(run) else ""))
        self.summary.append((4, "end to end three_steps" + (" (capped)" if run["capped"] else ""),
                             fmtRate(rate), fmtRate(baseRate), fmtRatio(baseRate / rate), ""))
        self.summary.append((4, "statements per workflow", "%.2f" % perRun, "5",
                             fmtRatio(perRun / 5.0), ""))
        self.figure("4", "end to end three_steps, %d queued, dispatch every %.0f s%s"
                    % (n, DISPATCH_PERIOD, " (CAPPED)" if run["capped"] else ""), rate, "wf/s",
                    baseRate, higherIsBetter=True, aim="within 1.5x",
                    met=baseRate / rate <= 1.5, simulator=share,
                    baselineLabel="hand-written queue (%d threads, %s)"
                    % (WORKER_THREADS, rawdb.driverName()),
                    notes="%.2f statements, %.2f validations, %.2f transactions a workflow%s%s"
                    % (perRun, run["validations"] / float(finished),
                       run["transactions"] / float(finished),
                       "; paced by the timer" if self.cadenceBound(run) else "",
                       "" if run["jitMs"] is None else "; JIT compiler during the timed "
                       "drains: engine %.0f ms, hand-written %.0f ms (warmed until quiet)"
                       % (run["jitMs"], baseJitMs)))
        self.figure("4b", "statements per workflow", perRun, "statements", 5.0,
                    baselineLabel="the hand-written queue's 5")
        self.withoutValidation(n, baseRate)
        self.atPeerConcurrency(n)

    def drainAfterWarming(self, n, warm, limitS=JIT_WARM_LIMIT_S):
        """``warm`` three_steps runs drained untimed (on a JVM, then drains of ``n`` until
        the JIT compiler is quiet), then ``n`` drained by drive(): its result, with the
        JIT compiler's milliseconds during it (``jitMs``, None off a JVM). The timed drain
        runs without the StatementCounter, as the hand-written queue does; its statements
        and the simulator's share are those counted in the untimed drain of ``n`` just
        before it (``countedFinal``: the runs it ended)."""
        counted = []

        def drain(count, timed=False):
            self.truncate()
            self.preload(count, "three_steps", {"value": 1})
            run = self.drive(count, self.runLimit, counted=not timed)
            if not timed:
                counted[:] = [run]
            return run
        drain(warm)
        run, compiledMs = warmThenTimed(lambda: drain(n), lambda: drain(n, timed=True), limitS)
        run = withCountsOf(run, counted[0])
        run["jitMs"] = compiledMs
        return run

    def drainAgain(self, n, workers=WORKER_THREADS, **datasource):
        """Figure 4's drain on other settings (``workers``, the datasource's ``datasource``
        options, gateway.addDatabase's), each put back after it, also when it fails: the
        drainAfterWarming result. (The interpreter is warm from figure 4: a short untimed
        drain fills the new pool, and no new warm-up drain begins after
        WARM_AGAIN_LIMIT_S.)"""
        from simulator import gateway
        gateway.addDatabase(DB, self.dsn, **datasource)
        try:
            check(self.admin.configure(workerThreads=workers), "admin.configure")
            try:
                return self.drainAfterWarming(n, 200, WARM_AGAIN_LIMIT_S)
            finally:
                check(self.admin.configure(workerThreads=WORKER_THREADS), "admin.configure")
        finally:
            gateway.addDatabase(DB, self.dsn)

    def timedHandWritten(self, n, threads=WORKER_THREADS, limitS=JIT_WARM_LIMIT_S):
        """The hand-written queue's drain of ``n`` with ``threads``, timed after warmThenTimed's
        untimed ones: (seconds, the JIT compiler's milliseconds during it; None off a JVM)."""
        def handWrittenRound():
            self.truncate()
            return self.handWrittenQueue(n, threads)
        return warmThenTimed(handWrittenRound, limitS=limitS)

    def withoutValidation(self, n, baseRate):
        """Figure 4's drain again with the datasource's Test On Borrow off (a gateway's
        setting, on by default): how much of figure 4's ratio the SELECT 1 before every
        statement is."""
        run = self.drainAgain(n, testOnBorrow=False)
        rate = self.describeDrive(run, n, "three_steps, Test On Borrow off")
        perRun, finished = self.perWorkflow(run)
        print("            per workflow (counted in the untimed drain before): %.2f "
              "statement(s), %.2f pool validation(s)"
              % (perRun, run["validations"] / float(finished)))
        print("   ratio    time per workflow %s (the hand-written queue above)"
              % fmtRatio(baseRate / rate))
        self.summary.append((4, "  the same, Test On Borrow off", fmtRate(rate),
                             fmtRate(baseRate), fmtRatio(baseRate / rate), ""))
        self.figure("4c", "end to end three_steps, %d queued, the datasource's Test On Borrow "
                    "off" % n, rate, "wf/s", baseRate, higherIsBetter=True,
                    baselineLabel="figure 4's hand-written queue",
                    notes="no SELECT 1 before each statement (%.2f validations a workflow); "
                    "the engine, the runs and the baseline as figure 4's"
                    % (run["validations"] / float(finished)))

    def atPeerConcurrency(self, n):
        """Figure 4's drain at the peer's concurrency (PEER_WORKERS workers on a pool of
        PEER_POOL, a gateway's settings), and the hand-written queue with as many threads:
        what the engine does at the settings the peer's figure is measured with."""
        run = self.drainAgain(n, PEER_WORKERS, maxConnections=PEER_POOL)
        rate = self.describeDrive(run, n, "three_steps, %d workers, a pool of %d"
                                  % (PEER_WORKERS, PEER_POOL), PEER_WORKERS)
        self.truncate()
        perRun, finished = self.perWorkflow(run)
        baseElapsed, baseJitMs = self.timedHandWritten(n, PEER_WORKERS, WARM_AGAIN_LIMIT_S)
        baseRate = n / baseElapsed
        print("   baseline the hand-written queue with %d threads: %d in %.2f s = %s"
              % (PEER_WORKERS, n, baseElapsed, fmtRate(baseRate)))
        print("   ratio    time per workflow %s" % fmtRatio(baseRate / rate))
        self.summary.append((4, "  the same, %d workers" % PEER_WORKERS, fmtRate(rate),
                             fmtRate(baseRate), fmtRatio(baseRate / rate), ""))
        self.figure("4d", "end to end three_steps, %d queued, at the peer's concurrency "
                    "(%d workers, a pool of %d)" % (n, PEER_WORKERS, PEER_POOL), rate, "wf/s",
                    baseRate, higherIsBetter=True,
                    baselineLabel="hand-written queue (%d threads, %s)"
                    % (PEER_WORKERS, rawdb.driverName()),
                    settings={"workers": PEER_WORKERS, "pool": PEER_POOL},
                    notes="%.2f statements, %.2f validations a workflow (counted in the "
                    "untimed drain before)%s" % (
                        perRun, run["validations"] / float(finished),
                        "" if run["jitMs"] is None else "; JIT compiler during the timed "
                        "drains: engine %.0f ms, hand-written %.0f ms" % (run["jitMs"],
                                                                          baseJitMs)))

    def handWrittenQueue(self, n, threads=WORKER_THREADS):
        """The same database work with the raw driver alone: seconds for n workflows."""
        self.preload(n, "three_steps", {"value": 1})
        connections = [self.raw() for _ in range(threads)]
        elapsed, errors = handwritten.drain(connections, self.schema, clock, CATCHABLE)
        for conn in connections:
            conn.close()
        if errors:
            raise RuntimeError("the hand-written queue failed: %r" % errors[0])
        done = self.statusCounts().get("SUCCESS", 0)
        if done != n:
            raise RuntimeError("the hand-written queue finished %d of %d" % (done, n))
        return elapsed

    # --- 5. per step ------------------------------------------------------------------
    def perStep(self):
        m = self.nPerStep
        results = {}
        for steps in (0, 10):
            # counted first (statements, the simulator's share), then timed without the
            # bench's StatementCounter, whose wrappers cost the workers CPU
            drains = []
            for counted in (True, False):
                self.truncate()
                self.preload(m, "noop_steps", {"n": steps})
                drains.append(self.drive(m, self.runLimit, counted=counted))
            run = withCountsOf(drains[1], drains[0])
            self.describeDrive(run, m, "noop_steps(n=%d)" % steps)
            perRun, finished = self.perWorkflow(run)
            inRun = self.sql("SELECT avg(completed_at_ms - started_at_ms), count(*) "
                             "FROM {s}.workflow_runs WHERE status = 'SUCCESS'")[0]
            run["perRun"] = perRun
            run["share"] = run["counter"].share(finished)
            run["inRunMs"] = float(inRun[0]) if inRun[0] is not None else float("nan")
            print("            per workflow (counted in an untimed drain before): %.2f "
                  "statement(s) %s; start to end inside the run: mean %s"
                  % (perRun, self.kinds(run["counts"], finished), fmtMs(run["inRunMs"])))
            results[steps] = run
        self.truncate()
        baseMs = self.smallInsertMs()
        concurrentMs = self.smallInsertMs(WORKER_THREADS)
        zero, ten = results[0], results[10]
        wall = ms(ten["elapsed"] / max(1, ten["done"]) - zero["elapsed"] / max(1, zero["done"]))
        wallPerStep = wall / 10.0
        inRunPerStep = (ten["inRunMs"] - zero["inRunMs"]) / 10.0
        statementsPerStep = (ten["perRun"] - zero["perRun"]) / 10.0
        cadenceBound = [r for r in (zero, ten) if self.cadenceBound(r)]
        print("   engine   per step, wall clock (time10 - time0) / (10 x M): %s%s"
              % (fmtMs(wallPerStep), "   (%d and %d dispatch ticks: both runs are paced by "
                 "the dispatch cadence, so this is mostly noise)"
                 % (zero["ticks"], ten["ticks"]) if len(cadenceBound) == 2 else ""))
        print("            per step, inside a run (started_at..completed_at, up to %d runs "
              "at once): %s" % (WORKER_THREADS, fmtMs(inRunPerStep)))
        print("            statements per step: %.2f   (aim: 1)" % statementsPerStep)
        print("   baseline %s single-row INSERT of a small row: mean %s (one thread), %s "
              "(%d threads at once)" % (rawdb.driverName(), fmtMs(baseMs), fmtMs(concurrentMs), WORKER_THREADS))
        print("   ratio    wall clock per step %s (vs one thread)   inside a run %s (vs %d "
              "threads)" % (fmtRatio(wallPerStep / baseMs), fmtRatio(inRunPerStep / concurrentMs),
                            WORKER_THREADS))
        self.summary.append((5, "per step (wall clock)", fmtMs(wallPerStep), fmtMs(baseMs),
                             fmtRatio(wallPerStep / baseMs), ""))
        self.summary.append((5, "per step (inside a run)", fmtMs(inRunPerStep),
                             fmtMs(concurrentMs) + " (x%d)" % WORKER_THREADS,
                             fmtRatio(inRunPerStep / concurrentMs), ""))
        self.summary.append((5, "statements per step", "%.2f" % statementsPerStep, "1",
                             fmtRatio(statementsPerStep), "1 statement"))
        share = dict((key, (ten["share"][key] - zero["share"][key]) / 10.0)
                     for key in ("dbMs", "driverMs", "validationMs", "formattingMs", "ownMs"))
        share["ownShare"] = share["ownMs"] / share["dbMs"] if share["dbMs"] > 0 else None
        self.printShare(share, "step")
        self.figure("5", "per step (wall clock), noop_steps(10) - noop_steps(0)", wallPerStep,
                    "ms", baseMs, baselineLabel="small single-row INSERT, one thread (%s)"
                    % rawdb.driverName(), simulator=share)
        self.figure("5b", "per step inside a run", inRunPerStep, "ms", concurrentMs,
                    baselineLabel="small single-row INSERT, %d threads at once"
                    % WORKER_THREADS, aim="within 2x", met=inRunPerStep / concurrentMs <= 2.0)
        self.figure("5c", "statements per step", statementsPerStep, "statements", 1.0,
                    baselineLabel="one INSERT", aim="1 statement",
                    met=statementsPerStep <= 1.05)

    def smallInsertMs(self, threads=1, count=400):
        """Mean latency of a raw single-row INSERT of a small row, each of ``threads``
        threads inserting ``count`` rows on its own connection at the same time."""
        setup = self.raw()
        setup.cursor().execute("CREATE TABLE IF NOT EXISTS public.bench_small (id bigserial "
                               "PRIMARY KEY, workflow_id text, position integer, output json)")
        connections = [self.raw() for _ in range(threads)]
        gate = threading.Event()
        times = []
        errors = []

        def work(conn, name):
            gate.wait()
            try:
                cur = conn.cursor()
                mine = []
                for i in range(count + 20):
                    t0 = clock()
                    cur.execute("INSERT INTO public.bench_small (workflow_id, position, output) "
                                "VALUES (%s, %s, CAST(%s AS json))", (name, i, '{"i": %d}' % i))
                    mine.append(clock() - t0)
                times.extend(mine[20:])
            except CATCHABLE as error:  # noqa: B902
                errors.append(error)

        workers = [threading.Thread(target=work, args=(c, "t%d" % i))
                   for i, c in enumerate(connections)]
        for thread in workers:
            thread.start()
        gate.set()
        for thread in workers:
            thread.join()
        for conn in connections:
            conn.close()
        setup.cursor().execute("DROP TABLE public.bench_small")
        setup.close()
        if errors:
            raise errors[0]
        return ms(sum(times) / len(times))

    # --- 6. start latency -------------------------------------------------------------
    def startLatency(self):
        """enqueue -> claim on an idle executor with no dispatch timer at all: only the
        enqueue's own claim (or a finishing worker's) can start a run."""
        n = self.nStart
        enqueue = self.service.enqueue
        timers = [t.name for t in threading.enumerate()
                  if t.name == "bench-dispatch-timer" and t.is_alive()]
        if timers:
            raise RuntimeError("a dispatch timer is still running")
        self.truncate()
        check(self.admin.configure(workerThreads=WORKER_THREADS), "admin.configure")
        if not self.setStartOnEnqueue(True):
            raise RuntimeError("admin.configure(startOnEnqueue=True) is not supported")
        if self.inFlight() or self.activeRuns():
            raise RuntimeError("the executor is not idle (%d in flight, %d active runs)"
                               % (self.inFlight(), self.activeRuns()))
        claimers = ClaimTracker().install()
        counter = StatementCounter(self.schema).install()
        poll = self.raw()
        pollCur = poll.cursor()
        select = self.q("SELECT status FROM {s}.workflow_runs WHERE workflow_id = %s")
        ids, calls, seen = [], [], []
        failure = None
        try:
            for i in range(STARTS_WARMUP + n):
                t0 = clock()
                result = enqueue("three_steps", inputs={"value": i})
                called = clock()
                check(result, "enqueue")
                workflowId = result["data"]["workflowId"]
                status = "ENQUEUED"
                while True:
                    pollCur.execute(select, (workflowId,))
                    row = pollCur.fetchone()
                    status = row[0] if row else None
                    now = clock()
                    if status in ("SUCCESS", "ERROR", "CANCELLED"):
                        break
                    if status in ("ENQUEUED", "DELAYED", None) and now - called > START_TIMEOUT:
                        failure = "run %d was not claimed within %.0f s (status %s)" % (
                            i - STARTS_WARMUP + 1, START_TIMEOUT, status)
                        break
                    if now - called > RUN_TIMEOUT:
                        failure = "run %d claimed but not ended within %.0f s (status %s)" % (
                            i - STARTS_WARMUP + 1, RUN_TIMEOUT, status)
                        break
                    time.sleep(START_POLL_SECONDS)
                if failure is None and status != "SUCCESS":
                    failure = "run %d ended %s" % (i - STARTS_WARMUP + 1, status)
                if i >= STARTS_WARMUP:
                    ids.append(workflowId)
                    calls.append(called - t0)
                    seen.append(now - t0)
                if failure is not None:
                    break
        finally:
            waitFor(lambda: self.inFlight() == 0, 30, 0.001, "the last worker to go idle")
            counter.uninstall()
            claimers.uninstall()
            pollCur.close()
        rows = self.sql("SELECT workflow_id, status, created_at_ms, claimed_at_ms, "
                        "started_at_ms, completed_at_ms FROM {s}.workflow_runs "
                        "WHERE workflow_id = ANY(%s)", (ids,), conn=poll)
        poll.close()
        stamps = dict((row[0], row[1:]) for row in rows)
        waits = sorted(float(stamps[w][2] - stamps[w][1]) for w in ids
                       if w in stamps and stamps[w][2] is not None)
        succeeded = sum(1 for w in ids if w in stamps and stamps[w][0] == "SUCCESS")
        byEnqueue = sum(1 for w in ids if claimers.thread(w) == claimers.caller)
        byOther = sum(1 for w in ids if claimers.thread(w) not in (None, claimers.caller))
        unclaimed = sum(1 for w in ids if w in stamps and stamps[w][2] is None)
        failed = len(ids) - succeeded
        below = sum(1 for wait in waits if wait < 0)
        counts, _, _ = counter.snapshot()
        enqueued = STARTS_WARMUP + len(ids)
        share = counter.share(enqueued)
        print("   (idle executor: workerThreads=%d, startOnEnqueue=True, no dispatch timer; %d "
              "warm-up run(s) first; each run waited for until SUCCESS, polled every %.0f ms "
              "with a raw connection; stamps by the database clock, whole ms)"
              % (WORKER_THREADS, STARTS_WARMUP, ms(START_POLL_SECONDS)))
        if not waits:
            raise RuntimeError("no run was claimed%s" % (": " + failure if failure else ""))
        p50, p99, top = percentile(waits, 0.5), percentile(waits, 0.99), waits[-1]
        calls.sort()
        seen.sort()
        print("   engine   three_steps x %d: claimed_at - created_at  p50 %s  p99 %s  max %s  "
              "(mean %s)" % (len(ids), fmtWholeMs(p50), fmtWholeMs(p99), fmtWholeMs(top),
                             fmtMs(sum(waits) / len(waits))))
        print("            claimed by the enqueue itself (on the caller's thread): %d of %d; "
              "by a finishing worker: %d; never claimed: %d; failed: %d"
              % (byEnqueue, len(ids), byOther, unclaimed, failed))
        print("            enqueue call (INSERT + claim + hand-off): p50 %s  p99 %s; enqueue "
              "to SUCCESS seen by the poller: p50 %s  p99 %s"
              % (fmtMs(ms(percentile(calls, 0.5))), fmtMs(ms(percentile(calls, 0.99))),
                 fmtMs(ms(percentile(seen, 0.5))), fmtMs(ms(percentile(seen, 0.99)))))
        print("            per run (warm-up included): %.2f statement(s) %s"
              % (sum(counts.values()) / float(enqueued), self.kinds(counts, enqueued)))
        if byOther:
            print("            (a finishing worker claims when its own claim is still under way as "
                  "the next enqueue arrives - the poller saw SUCCESS before the worker's "
                  "after-run claim ended - and the enqueue then leaves its claim to it)")
        if below:
            print("            (%d of %d negative: statement_timestamp() is when a statement "
                  "arrived, its snapshot is taken after planning, so a claim that arrived just "
                  "before the INSERT committed still sees the row; below the stamps' "
                  "resolution, the wait is ~0)" % (below, len(waits)))
        if failure:
            print("            FAILED, figure stopped: %s" % failure)
        print("   baseline the gateway timer (fixed delay %.0f ms): a run enqueued at a random "
              "moment waits %.0f ms on average for the next tick"
              % (ms(DISPATCH_PERIOD), TIMER_MEAN_WAIT_MS))
        ratio = fmtSmallRatio(p50 / TIMER_MEAN_WAIT_MS)
        print("   ratio    p50 / %.0f ms = %s   (aim: milliseconds, not the timer's 1 s)"
              % (TIMER_MEAN_WAIT_MS, ratio))
        self.summary.append((6, "start latency p50" + (" (FAILED)" if failure else ""),
                             fmtWholeMs(p50), "%.0f ms (timer)" % TIMER_MEAN_WAIT_MS, ratio,
                             "milliseconds, not the timer's 1 s"))
        self.summary.append((6, "  claimed by the enqueue", "%d of %d" % (byEnqueue, len(ids)),
                             "", "", ""))
        self.printShare(share, "run")
        self.figure("6", "start latency p50, enqueue to claim, no timer%s"
                    % (" (FAILED)" if failure else ""), p50, "ms", TIMER_MEAN_WAIT_MS,
                    baselineLabel="the 1 s timer's mean wait", aim="milliseconds",
                    met=p50 < 100 and not failure, simulator=share,
                    notes="p99 %s, max %s; %d of %d claimed by the enqueue itself"
                    % (fmtWholeMs(p99), fmtWholeMs(top), byEnqueue, len(ids)))

    # --- 7. the claim over a long history ------------------------------------------------
    def claimOverHistory(self):
        """The claim statement's own time, measured around db.runs.claim (CLAIM_SIZE rows
        each, CLAIM_BACKLOG queued, no timer), over an empty history and over HISTORY_RUNS
        terminal runs, JIT as the server has it; then drains of nDrain runs driven by
        dispatch over each. The history is a second datasource on the same database whose
        schema holds it (the engine serves both), so both sides are measured in turns, on
        the same server and machine state. Baselines: the same over the empty history, and
        a hand-written claim of CLAIM_SIZE rows on each side."""
        jit = self.sql("SELECT current_setting('jit'), current_setting('jit_above_cost'), "
                       "pg_jit_available()")[0]
        print("   (server JIT settings untouched: jit=%s, jit_above_cost=%s, JIT provider %s)"
              % (jit[0], jit[1], "available" if jit[2] else
                 "NOT installed: nothing is ever JIT-compiled"))
        self.truncate()
        begun = clock()
        self.openHistory()
        try:
            print("   (history: %d terminal runs of the bench's queue in schema %s, the last %d "
                  "with 3 step rows each, made and vacuumed in %.0f s)"
                  % (HISTORY_RUNS, HISTORY_SCHEMA, HISTORY_STEP_RUNS, clock() - begun))
            self.claimsOverHistory()
            self.drainsOverHistory()
        finally:
            self.closeHistory()

    def sides(self):
        """(label, datasource, schema) of the empty history and of the long one."""
        return [("an empty history", DB, self.schema),
                ("%d terminal runs" % HISTORY_RUNS, HISTORY_DB, HISTORY_SCHEMA)]

    def openHistory(self):
        """The second datasource, its schema installed and filled, this executor on it."""
        import history
        from simulator import gateway
        from exchange.workflows.db import schema as migrations
        from exchange.workflows import settings
        from exchange.workflows.engine import leases
        gateway.addDatabase(HISTORY_DB, self.dsn)
        settings.configure({"schemaName": HISTORY_SCHEMA}, HISTORY_DB)
        migrations.install(HISTORY_DB)
        conn = self.raw()
        try:
            history.fillHistory(conn.cursor(), HISTORY_SCHEMA, HISTORY_RUNS, HISTORY_STEP_RUNS,
                                oneQueue=True)
        finally:
            conn.close()
        leases.register(HISTORY_DB)

    def closeHistory(self):
        waitFor(lambda: self.inFlight() == 0, 60, 0.01, "the engine's workers to go idle")
        self.sql("DROP SCHEMA IF EXISTS %s CASCADE" % HISTORY_SCHEMA)

    def claimsOverHistory(self):
        """nClaims rounds, each an engine claim and a hand-written one on both sides, in a
        rotating order; the claimed rows are ended at once (so they join the history)."""
        from exchange.workflows.db import runs
        from exchange.workflows import codec
        from exchange.workflows.engine import kernel, leases, registry
        executorId = kernel.getKernel().executorId
        names = codec.encode(registry.registeredNames())
        sides = self.sides()
        for _, _, schema in sides:
            self.preload(CLAIM_BACKLOG, "three_steps", {"value": 1}, schema)
            self.sql("ANALYZE %s.workflow_runs" % schema)  # as autovacuum would, after a burst
        # the baseline tests the status as the schema's claim index does, so it can use it
        predicate = self.sql("SELECT pg_get_indexdef(to_regclass('{s}.workflow_runs_queue_"
                             "plain_idx'))")[0][0] or ""
        handWritten = HAND_WRITTEN_CLAIM.replace("{queued}", "(status = 'ENQUEUED') IS TRUE"
                                                 if "IS TRUE" in predicate
                                                 else "status = 'ENQUEUED'")
        conn = self.raw()
        cur = conn.cursor()
        times = dict(((label, kind), []) for label, _, _ in sides for kind in ("engine", "base"))

        def ended(schema, ids):
            cur.execute("UPDATE %s.workflow_runs SET status = 'SUCCESS', output = '1', "
                        "completed_at_ms = %s.now_ms(), updated_at_ms = %s.now_ms() "
                        "WHERE workflow_id = ANY(%%s)" % (schema, schema, schema), (ids,))

        def engineClaim(label, dbName, schema):
            t0 = clock()
            claimed = runs.claim(dbName, executorId, CLAIM_SIZE, names)[0]
            elapsed = clock() - t0
            if len(claimed) != CLAIM_SIZE:
                raise RuntimeError("a claim over %s took %d of %d rows"
                                   % (label, len(claimed), CLAIM_SIZE))
            ended(schema, [claim.fence.workflowId for claim in claimed])
            return elapsed

        def handWrittenClaim(label, dbName, schema):
            t0 = clock()
            cur.execute(handWritten.replace("{s}", schema), (CLAIM_SIZE,))
            taken = [row[0] for row in cur.fetchall()]
            elapsed = clock() - t0
            ended(schema, taken)
            return elapsed

        calls = [(kind, function, side) for side in sides
                 for kind, function in (("engine", engineClaim), ("base", handWrittenClaim))]
        counter = StatementCounter(self.schema).install()
        try:
            for i in range(CLAIM_WARMUP + self.nClaims):
                if i % 20 == 0:  # no timer runs: renew the leases now and then
                    for _, dbName, _ in sides:
                        leases.heartbeat(dbName, force=True)
                for k in range(len(calls)):
                    kind, function, side = calls[(i + k) % len(calls)]
                    elapsed = function(*side)
                    if i >= CLAIM_WARMUP:
                        times[(side[0], kind)].append(elapsed)
        finally:
            counter.uninstall()
            conn.close()
        share = counter.share((CLAIM_WARMUP + self.nClaims) * len(sides), "caller")
        for label, _, schema in sides:
            self.sql("DELETE FROM %s.workflow_runs WHERE status = 'ENQUEUED'" % schema)
            for kind, what in (("engine", "engine   db.runs.claim"),
                               ("base", "baseline hand-written claim")):
                seconds = sorted(times[(label, kind)])
                print("   %s over %s: p50 %s  p90 %s  max %s  mean %s" % (
                    what, label, fmtMs(ms(percentile(seconds, 0.5))),
                    fmtMs(ms(percentile(seconds, 0.9))), fmtMs(ms(seconds[-1])),
                    fmtMs(ms(sum(seconds) / len(seconds)))))
        empty, full = [label for label, _, _ in sides]
        e50 = percentile(sorted(times[(empty, "engine")]), 0.5)
        f50 = percentile(sorted(times[(full, "engine")]), 0.5)
        b50 = percentile(sorted(times[(full, "base")]), 0.5)
        print("   ratio    claim p50 over the history / over an empty history %s   (aim: 1x: "
              "the history costs the claim nothing); / the hand-written claim over the "
              "history %s" % (fmtRatio(f50 / e50), fmtRatio(f50 / b50)))
        print("            (%d rounds after %d warm-up ones; each round one call of each "
              "kind, in a rotating order; %d rows queued on each side at the start)"
              % (self.nClaims, CLAIM_WARMUP, CLAIM_BACKLOG))
        self.summary.append((7, "claim p50, %dk terminal runs" % (HISTORY_RUNS // 1000),
                             fmtMs(ms(f50)), fmtMs(ms(e50)) + " (no history)",
                             fmtRatio(f50 / e50), "1x: history costs nothing"))
        self.summary.append((7, "  vs a hand-written claim", fmtMs(ms(f50)), fmtMs(ms(b50)),
                             fmtRatio(f50 / b50), ""))
        self.printShare(share, "claim")
        self.figure("7", "claim of %d p50 over %dk terminal runs, %d queued"
                    % (CLAIM_SIZE, HISTORY_RUNS // 1000, CLAIM_BACKLOG), ms(f50), "ms", ms(e50),
                    baselineLabel="the same claim over an empty history", aim="1x",
                    met=f50 / e50 <= 1.2, simulator=share)
        self.figure("7b", "claim p50 over the history vs a hand-written claim", ms(f50), "ms",
                    ms(b50), baselineLabel="hand-written %d-row claim (%s)"
                    % (CLAIM_SIZE, rawdb.driverName()), simulator=share)

    def drainsOverHistory(self):
        """The first nDrain of CLAIM_BACKLOG runs released at once, driven by dispatch
        over each side (the rest is taken away then), twice, alternating; each claim of
        them timed too. The table was vacuumed and analyzed just before the burst: the
        statistics know of no queued run (autovacuum analyzes a big table only after 10%
        of it changed)."""
        rates = dict((label, []) for label, _, _ in self.sides())
        shares = []
        for _ in range(2):
            for label, dbName, schema in self.sides():
                if schema == self.schema:
                    self.truncate()  # the empty history stays empty
                self.sql("VACUUM ANALYZE %s.workflow_runs" % schema)
                since = self.databaseNowMs()
                self.preload(CLAIM_BACKLOG, "three_steps", {"value": 1}, schema)
                claims = ClaimTracker().install()
                try:
                    run = self.drive(self.nDrain, self.runLimit, since, dbName, schema,
                                     lambda: self.sql("DELETE FROM {s}.workflow_runs "
                                                      "WHERE status = 'ENQUEUED'",
                                                      schema=schema))
                finally:
                    claims.uninstall()
                rates[label].append(self.describeDrive(run, self.nDrain,
                                                       "drain over %s: three_steps" % label))
                if schema != self.schema:
                    shares.append(run["counter"].share(max(1, run["done"])))
                seconds = sorted(claims.seconds)
                print("            %d claim(s) during it (by the timer and finishing workers), "
                      "%d took rows: per claim p50 %s  p90 %s  max %s" % (
                          len(seconds), sum(1 for t in claims.taken if t),
                          fmtMs(ms(percentile(seconds, 0.5))),
                          fmtMs(ms(percentile(seconds, 0.9))),
                          fmtMs(ms(seconds[-1])) if seconds else "n/a"))
        empty, full = [label for label, _, _ in self.sides()]
        emptyRate = sum(rates[empty]) / len(rates[empty])
        fullRate = sum(rates[full]) / len(rates[full])
        print("   ratio    time per workflow, over the history / over an empty history %s  "
              "(the mean rate of two drains each, alternating; %d runs released at once "
              "after a VACUUM ANALYZE for each)" % (fmtRatio(emptyRate / fullRate),
                                                    CLAIM_BACKLOG))
        self.summary.append((7, "drain, %dk terminal runs" % (HISTORY_RUNS // 1000),
                             fmtRate(fullRate), fmtRate(emptyRate) + " (no history)",
                             fmtRatio(emptyRate / fullRate), "1x"))
        share = dict((key, sum(one[key] for one in shares) / len(shares))
                     for key in ("dbMs", "driverMs", "validationMs", "formattingMs", "ownMs"))
        share["ownShare"] = share["ownMs"] / share["dbMs"] if share["dbMs"] > 0 else None
        self.printShare(share, "workflow")
        self.figure("7c", "drain of %d three_steps over %dk terminal runs"
                    % (self.nDrain, HISTORY_RUNS // 1000), fullRate, "wf/s", emptyRate,
                    higherIsBetter=True, baselineLabel="the same drain over an empty history",
                    aim="1x", met=emptyRate / fullRate <= 1.2, simulator=share)

    # --- 8. the retention tick --------------------------------------------------------
    def retentionTick(self):
        """dispatch() timed with a retention pass due (maxAgeDays=0: every ended run may go;
        RETENTION_BATCH deleted per pass) and with retention off, in turns, over
        RETENTION_RUNS ended runs; RETENTION_QUEUED runs are queued before each tick, so
        each timed tick also claims and submits work."""
        import history
        from exchange.workflows.engine import retention
        conn = self.raw()
        try:
            history.fillHistory(conn.cursor(), self.schema, RETENTION_RUNS, RETENTION_RUNS,
                                oneQueue=True)  # 3 step rows each: they go with their run
        finally:
            conn.close()
        self.sql("VACUUM ANALYZE {s}.workflow_runs")
        check(self.admin.configure(startOnEnqueue=False), "admin.configure")
        times = {True: [], False: []}
        rounds = max(10, self.nClaims // 5)
        counter = StatementCounter(self.schema).install()
        try:
            for i in range(2 + 2 * rounds):
                on = i % 2 == 0
                check(self.admin.setRetentionPolicy(maxAgeDays=0 if on else None,
                                                    batchSize=RETENTION_BATCH),
                      "admin.setRetentionPolicy")
                self.sql("UPDATE {s}.retention_policy SET last_pass_at_ms = 0")
                retention.checkSoon(DB)
                self.preload(RETENTION_QUEUED, "three_steps", {"value": 1})
                t0 = clock()
                result = check(self.service.dispatch(), "service.dispatch")["data"]
                elapsed = clock() - t0
                if on and (result.get("retention") or {}).get("deleted") != RETENTION_BATCH:
                    raise RuntimeError("a tick made no full retention pass: %r"
                                       % result.get("retention"))
                if i >= 2:  # after one warm-up tick of each kind
                    times[on].append(elapsed)
                waitFor(lambda: self.inFlight() == 0 and not self.activeRuns(), 60, 0.01,
                        "the tick's runs to finish")
        finally:
            counter.uninstall()
            self.admin.setRetentionPolicy()
            check(self.admin.configure(startOnEnqueue=True), "admin.configure")
        share = counter.share(2 + 2 * rounds, "caller")
        left = self.sql("SELECT count(*) FROM {s}.workflow_runs WHERE workflow_id LIKE 'h%'")[0][0]
        p50 = dict((on, percentile(sorted(times[on]), 0.5)) for on in times)
        for on in (True, False):
            seconds = sorted(times[on])
            print("   dispatch() with retention %s: p50 %s  p90 %s  max %s" % (
                "on (a pass of %d)" % RETENTION_BATCH if on else "off",
                fmtMs(ms(p50[on])), fmtMs(ms(percentile(seconds, 0.9))), fmtMs(ms(seconds[-1]))))
        print("   ratio    tick p50 with a pass / without %s  (a pass is due once per interval, "
              "60 s by default, on one gateway; %d rounds in turns, %d runs claimed by each "
              "tick, about %d ended runs left)" % (fmtRatio(p50[True] / p50[False]), rounds,
                                                    RETENTION_QUEUED, left))
        perMinute = (p50[True] + 59 * p50[False]) / (60 * p50[False])
        print("            over a minute of 1 s ticks with one pass: %s the cost of the same "
              "ticks without retention" % fmtRatio(perMinute))
        self.summary.append((8, "tick with a retention pass, %dk runs" % (RETENTION_RUNS // 1000),
                             fmtMs(ms(p50[True])), fmtMs(ms(p50[False])) + " (retention off)",
                             fmtRatio(p50[True] / p50[False]), "a pass once a minute"))
        self.printShare(share, "tick")
        self.figure("8", "dispatch tick p50 with a retention pass of %d over %dk ended runs"
                    % (RETENTION_BATCH, RETENTION_RUNS // 1000), ms(p50[True]), "ms",
                    ms(p50[False]), baselineLabel="the same tick, retention off",
                    simulator=share, notes="a minute of 1 s ticks with one pass costs %.2fx "
                    "the same ticks without" % perMinute)
        self.figure("8b", "a minute of 1 s ticks with one retention pass", perMinute, "x",
                    1.0, baselineLabel="the same ticks without retention",
                    aim="a few %", met=perMinute <= 1.05)

    # --- 9. where PostgreSQL's time goes -----------------------------------------------
    def serverCost(self):
        """Figure 4's drain, engine and hand-written queue, with the time of each statement
        kind per workflow: PostgreSQL's own execution time (pg_stat_statements) when the
        server loads it, and always the round trip each statement takes seen from the client
        (the figure's value is the first when there is one, else the second)."""
        n = self.nEndToEnd
        server = self.statementStats()
        method = ("server time (pg_stat_statements total_exec_time; client round trips "
                  "beside it)" if server else "client-observed round trips "
                  "(pg_stat_statements not loaded by this server)")
        print("   method: %s" % method)
        sides, walls = [], []
        for label, drain in (("engine", self.serverCostEngine),
                             ("hand-written", self.serverCostHandWritten)):
            self.truncate()
            self.preload(n, "three_steps", {"value": 1})
            timer = KindTimer()
            if server:
                self.sql("SELECT pg_stat_statements_reset()")
            finished, elapsed = drain(n, timer)
            sides.append((label, finished, self.statementStatsRead() if server else None,
                          timer.snapshot()))
            walls.append("%s %s" % (label, fmtRate(finished / elapsed if elapsed else 0.0)))
        rows, totals = [], {}
        for label, finished, serverKinds, clientKinds in sides:
            per = float(max(1, finished))
            main = serverKinds if server else clientKinds
            totals[label] = sum(spent for kind, (count, spent) in main.items()
                                if not kind.startswith("(bench")) / per
            clientTotal = sum(spent for count, spent in clientKinds.values()) / per
            print("   %-12s %d workflows: %s a workflow%s" % (
                label, finished, fmtMs(totals[label]), " in the server (%s round trips seen "
                "by the client)" % fmtMs(clientTotal) if server else " in round trips"))
            for kind in sorted(set(main) | set(clientKinds),
                               key=lambda k: -(main.get(k) or clientKinds.get(k))[1]):
                line = serverCostLine(kind, per, (serverKinds or {}).get(kind),
                                      clientKinds.get(kind))
                print("       " + line)
                if not kind.startswith("(bench"):
                    rows.append("%s: %s" % (label, line))
        ratio = totals["engine"] / totals["hand-written"] if totals["hand-written"] else None
        print("   drains   %s (timed, so slower than figure 4's)" % ", ".join(walls))
        print("   ratio    statement time per workflow %s" % fmtRatio(ratio or float("nan")))
        self.summary.append((9, "statement time per workflow (%s)" % ("server" if server
                                                                      else "client"),
                             fmtMs(totals["engine"]), fmtMs(totals["hand-written"]),
                             fmtRatio(ratio or float("nan")), ""))
        self.figure("9", "where PostgreSQL's time goes: statement ms per workflow (%s), "
                    "figure 4's drain of %d" % ("server" if server else "client round trips",
                                                n),
                    totals["engine"], "ms/workflow", totals["hand-written"],
                    baselineLabel="hand-written queue (%d threads, %s)"
                    % (WORKER_THREADS, rawdb.driverName()),
                    notes="method: %s; drains (timed, so slower than figure 4's): %s; "
                    "per workflow, kind count x mean = ms: %s"
                    % (method, ", ".join(walls), "; ".join(rows)))

    def serverCostEngine(self, n, timer):
        """Figure 4's engine drain (timed by kind when ``timer``): (workflows ended, s)."""
        if timer is not None:
            timer.installDriver()
        try:
            run = self.drive(n, self.runLimit)
        finally:
            if timer is not None:
                timer.uninstall()
        return run["final"].get("SUCCESS", 0) + run["final"].get("ERROR", 0), run["elapsed"]

    def serverCostHandWritten(self, n, timer):
        """The hand-written queue's drain (timed by kind when ``timer``): (workflows, s)."""
        connections = [self.raw() for _ in range(WORKER_THREADS)]
        try:
            wrapped = [timer.connection(c) for c in connections] if timer else connections
            elapsed, errors = handwritten.drain(wrapped, self.schema, clock, CATCHABLE)
        finally:
            for conn in connections:
                conn.close()
        if errors:
            raise RuntimeError("the hand-written queue failed: %r" % errors[0])
        return self.statusCounts().get("SUCCESS", 0), elapsed

    def statementStats(self):
        """Whether this server loads pg_stat_statements (it is then made in the bench's
        own database, dropped with it); the server is never reconfigured."""
        loaded = self.sql("SELECT current_setting('shared_preload_libraries')")[0][0] or ""
        if "pg_stat_statements" not in loaded:
            return False
        try:
            self.sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")  # (autocommit)
            return True
        except CATCHABLE as error:  # noqa: B902 - then the client-side timing
            print("   (pg_stat_statements is loaded but cannot be created: %s)" % error)
            return False

    def statementStatsRead(self):
        """{kind: (calls, total exec ms)} of this database's statements since the reset."""
        kinds = {}
        for query, calls, total in self.sql(
                "SELECT query, calls, total_exec_time FROM pg_stat_statements "
                "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"):
            kind = statementKind(query)
            count, spent = kinds.get(kind, (0, 0.0))
            kinds[kind] = (count + calls, spent + total)
        return kinds

    # --- summary ----------------------------------------------------------------------
    def printSummary(self):
        print("")
        print("== summary (ratio = engine cost / baseline cost)")
        rows = [("#", "figure", "engine", "baseline", "ratio", "aim")] + [
            tuple(str(c) for c in row) for row in self.summary]
        widths = [max(len(row[i]) for row in rows) for i in range(6)]
        for index, row in enumerate(rows):
            print("   " + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
            if index == 0:
                print("   " + "  ".join("-" * w for w in widths))


def parseArgs(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="every count divided by 10")
    parser.add_argument("--only", default="",
                        help="comma-separated figure numbers to run (2 needs 1)")
    parser.add_argument("--run-limit", type=float, default=None,
                        help="seconds a dispatch-driven run may take before it is cut short "
                             "(default 60, 30 with --quick)")
    parser.add_argument("--json", default=None,
                        help="where the figures go as JSON (default tests/bench/results/latest/"
                             "core-<interpreter>.json)")
    parser.add_argument("--interpreter", default=None, choices=("cpython", "jython"),
                        help="jython: run the bench under Jython 2.7 + pgJDBC (from CPython: "
                             "the database is made here, the figures measured there)")
    parser.add_argument("--dsn", default=None,
                        help="libpq DSN of an existing database to use as it is (not dropped; "
                             "how the Jython run gets the one CPython made)")
    parser.add_argument("--profile", action="store_true",
                        help="under Jython: sample where each figure's time goes (jprofile.py; "
                             "slows the figures down)")
    parser.add_argument("--embedded", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.only = set(int(x) for x in args.only.split(",") if x.strip())
    if 2 in args.only:
        args.only.add(1)
    return args


def wantsFigure(args, number):
    return not args.only or number in args.only


def defaultJson():
    return os.path.join(RESULTS, "core-%s.json" % interpreterName().split()[0])


def writeJson(bench, args, path):
    """The contract's JSON (tests/bench/README.md): every figure of this run."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        os.makedirs(folder)
    head, dirty = gitHead()
    document = {"part": "core", "interpreter": interpreterName(), "quick": bool(args.quick),
                "machine": {"cpus": cpuCount(), "postgres": bench.postgres,
                            "platform": pyplatform.platform(terse=True)},
                "commit": head, "dirty": dirty, "rawDriver": rawdb.driverName(),
                "figures": bench.figures}
    with open(path, "w") as handle:
        json.dump(document, handle, indent=1, sort_keys=True)
    print("figures written to %s" % os.path.relpath(path))


def withDatabase(prefix, body, statementStats=False):
    """body(adminDsn, dsn, embedded) on a database of its own (on $WORKFLOWS_DSN's server,
    else on an embedded PostgreSQL, which loads pg_stat_statements for figure 9 when
    ``statementStats`` and it has it), dropped afterwards with the server stopped."""
    from simulator import pgserver
    options = ("-c shared_preload_libraries=pg_stat_statements"
               if statementStats and pgserver.hasLibrary("pg_stat_statements") else "")
    adminDsn, stop = pgserver.serverFromEnv("WORKFLOWS_DSN", embeddedOptions=options)
    name = None
    try:
        name, dsn = pgserver.createDatabase(adminDsn, prefix)
        return body(adminDsn, dsn, stop.server is not None)
    finally:
        if name is not None:
            try:
                pgserver.dropDatabase(adminDsn, name)
            except Exception as error:  # noqa: B902
                print("could not drop the bench database %s: %s" % (name, error))
        stop()


def runUnderJython(args, argv):
    """From CPython: a database of its own, then this script under Jython with pgJDBC on the
    class path; returns its exit code."""
    jython = os.environ.get("JYTHON") or "jython"

    def body(adminDsn, dsn, embedded):
        env = dict(os.environ)
        env["CLASSPATH"] = os.pathsep.join([PGJDBC_JAR] + [
            part for part in env.get("CLASSPATH", "").split(os.pathsep) if part])
        rest = [a for a in argv if not a.startswith("--interpreter")]
        if "jython" in rest:
            rest.remove("jython")
        command = [jython, os.path.abspath(__file__), "--dsn", dsn,
                   "--json", os.path.abspath(args.json or os.path.join(RESULTS,
                                                                      "core-jython.json"))]
        command += ["--embedded"] if embedded else []
        sys.stdout.flush()
        try:
            return subprocess.call(command + stripJson(rest), env=env)
        except OSError as error:
            print("bench: cannot run %s: %s" % (jython, error), file=sys.stderr)
            return 127
    return withDatabase("wf_bench_jy", body, wantsFigure(args, 9))


def stripJson(argv):
    """argv without its --json PATH (the Jython run gets an absolute one)."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--json":
            skip = True
        elif not arg.startswith("--json="):
            out.append(arg)
    return out


def run(args, adminDsn, dsn, embedded):
    """Every figure asked for, on the database ``dsn``; the JSON written."""
    begun = clock()
    bench = Bench(args)
    try:
        bench.boot(dsn)
        bench.header(adminDsn, embedded)
        bench.block(1, "In-memory enqueue: %d enqueueInMemory calls, one thread, no dispatch"
                    % bench.nMemory, bench.inMemoryEnqueue, cleanup=2 not in args.only
                    and bool(args.only))
        bench.block(2, "Flush: the in-memory queue into the database", bench.flush)
        bench.block(3, "Durable enqueue: %d service.enqueue calls, one thread" % bench.nDurable,
                    bench.durableEnqueue)
        bench.block(4, "End to end: %d three_steps runs, dispatch every %.1f s, %d workers"
                    % (bench.nEndToEnd, DISPATCH_PERIOD, WORKER_THREADS), bench.endToEnd)
        bench.block(5, "Per step: %d runs of noop_steps(0) and of noop_steps(10)"
                    % bench.nPerStep, bench.perStep)
        bench.block(6, "Start latency: %d three_steps runs enqueued one at a time, no "
                    "dispatch timer" % bench.nStart, bench.startLatency)
        bench.block(7, "The claim over a long history: %d queued, claims of 8 and drains of %d, "
                    "over an empty history and over %d terminal runs"
                    % (CLAIM_BACKLOG, bench.nDrain, HISTORY_RUNS), bench.claimOverHistory)
        bench.block(8, "Retention: dispatch() with a pass of %d due over %d ended runs, and "
                    "without" % (RETENTION_BATCH, RETENTION_RUNS), bench.retentionTick)
        bench.block(9, "Where PostgreSQL's time goes: figure 4's drain of %d, engine and "
                    "hand-written queue, by statement kind" % bench.nEndToEnd, bench.serverCost)
        bench.printSummary()
        print("")
        print("total %.0f s" % (clock() - begun))
    finally:
        try:
            from simulator import gateway
            gateway.closeAll()
        except CATCHABLE:  # noqa: B902
            pass
        writeJson(bench, args, args.json or defaultJson())


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parseArgs(argv)
    import logging
    logging.getLogger().addHandler(logging.NullHandler())  # novm (Jython: no "no handlers")
    if args.interpreter == "jython" and not rawdb.IS_JAVA:
        return runUnderJython(args, argv)
    if args.dsn:
        run(args, args.dsn, args.dsn, args.embedded)
        return 0
    withDatabase("wf_bench", lambda adminDsn, dsn, embedded: run(args, adminDsn, dsn,
                                                                  embedded),
                 wantsFigure(args, 9))
    return 0


def _exit(code):
    """Exit now; under Jython through System.exit, so that the engine's pools (non-daemon
    Java threads) cannot keep the JVM alive."""
    sys.stdout.flush()
    sys.stderr.flush()
    if rawdb.IS_JAVA:
        from java.lang import System  # novm
        System.exit(code)
    sys.exit(code)


if __name__ == "__main__":
    try:
        status = main()
    except SystemExit as stopped:
        status = stopped.code if isinstance(stopped.code, int) else 1
    except:  # noqa: E722 - Python and Java errors alike: report, then still exit
        traceback.print_exc()
        status = 1
    _exit(status)
