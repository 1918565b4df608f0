"""DBOS Transact running the bench's workloads, for the peer figures of ``make bench``.

Runs INSIDE the DBOS venv (``.venv-peers/dbos``, made by ``run.py``), never in the project's
venv: it imports ``dbos`` and nothing of this repository. ``run.py`` creates the system
database, passes its libpq DSN and reads the JSON this script writes.

    python dbos_workload.py --dsn "host=... dbname=..." --out result.json [--quick]
        --poll 0.01 --worker-concurrency 32 --pool 40 [--only A,B,C]

The workflows mirror tests/bench/project's ``benchflows``: ``three_steps(value)`` (steps
first, second, third returning value + 1, value * 2, {"value": value}) and
``noop_steps(n)`` (n steps each returning a small dict). Workloads:

- C: ``Queue.enqueue(three_steps, i)`` from one thread, the queue paused (worker
  concurrency 0), so nothing executes: time per call (bench.py figure 3);
- A: the same number of ``three_steps`` enqueued onto the paused queue, then released (its
  worker concurrency set): workflows/s from the release until every one is SUCCESS, polled
  every 20 ms like bench.py (figure 4);
- B: M runs of ``noop_steps(0)`` and M of ``noop_steps(10)``, each batch released the same
  way: (time10 - time0) / (10 M) on the wall clock, the same inside a run
  (completed_at - started_at_epoch_ms) and statements per step (figure 5).

Statements are counted with a SQLAlchemy ``before_cursor_execute`` hook on DBOS's system
database engine, split by thread: "workflow threads" are DBOS's executor pool (the runs'
own statements), the rest are pollers (queue worker, queue manager, listeners).
"""
import argparse
import collections
import json
import platform
import re
import sys
import threading
import time

import sqlalchemy as sa
from dbos import DBOS

QUEUE = "bench"
POLL_SECONDS = 0.02          # how often the drain is watched (bench.py's POLL_SECONDS)
WARMUP = 20                  # enqueue calls before the timed ones (bench.py: 20)
EXECUTOR_PREFIX = "dbos-executor-"

clock = time.perf_counter


# ---------------------------------------------------------------------------------------
# the workflows (same shapes as tests/bench/project benchflows)
# ---------------------------------------------------------------------------------------
@DBOS.step()
def tick(index):
    return {"i": index}


@DBOS.step()
def first(value):
    return value + 1


@DBOS.step()
def second(value):
    return value * 2


@DBOS.step()
def third(value):
    return {"value": value}


@DBOS.workflow()
def three_steps(value=0):
    return third(second(first(value)))


@DBOS.workflow()
def noop_steps(n=0):
    last = None
    for index in range(n):
        last = tick(index)
    return {"steps": n, "last": last}


# ---------------------------------------------------------------------------------------
# statement counting
# ---------------------------------------------------------------------------------------
class Counter(object):
    """Statements DBOS sends to its system database, by kind of thread."""

    def __init__(self, engine):
        self.engine = engine
        self.lock = threading.Lock()
        self.counts = collections.Counter()
        self.shapes = collections.defaultdict(collections.Counter)
        self.callerThread = threading.get_ident()

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self.hook)
        return self

    def __exit__(self, *exc):
        sa.event.remove(self.engine, "before_cursor_execute", self.hook)

    def hook(self, conn, cursor, statement, parameters, context, executemany):
        thread = threading.current_thread()
        if thread.name.startswith(EXECUTOR_PREFIX):
            kind = "workflow"
        elif threading.get_ident() == self.callerThread:
            kind = "caller"
        else:
            kind = "poller"
        with self.lock:
            self.counts[kind] += 1
            self.shapes[kind][shape(statement)] += 1


# ---------------------------------------------------------------------------------------
# the bench
# ---------------------------------------------------------------------------------------
TABLE = re.compile(r'"?dbos"?\."?(\w+)')


def shape(statement):
    """A statement's first keyword and first DBOS table: "SELECT workflow_status"."""
    words = statement.split(None, 1)
    table = TABLE.search(statement)
    return "%s %s" % (words[0].upper() if words else "?", table.group(1) if table else "-")


def sqlalchemyUrl(dsn):
    from psycopg.conninfo import conninfo_to_dict
    parts = conninfo_to_dict(dsn)
    return sa.engine.URL.create(
        "postgresql+psycopg", username=parts.get("user"), password=parts.get("password"),
        host=parts.get("host"), port=int(parts["port"]) if parts.get("port") else None,
        database=parts.get("dbname")).render_as_string(hide_password=False)


def percentile(values, fraction):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(fraction * (len(values) - 1))))]


class Peer(object):
    def __init__(self, args):
        self.args = args
        scale = 10 if args.quick else 1
        self.nDurable = 2000 // scale
        self.nEndToEnd = 2000 // scale
        self.nPerStep = 300 // scale
        # (a drain stops then, its rate taken over the runs done: DBOS drained its 2,000 in
        # 20-30 s on the machine of the earlier reports; on a slower one it is cut short)
        self.runLimit = args.run_limit or (15.0 if args.quick else 30.0)
        self.results = {}

    def launch(self):
        config = {
            "name": "bench_peer",
            "system_database_url": sqlalchemyUrl(self.args.dsn),
            "sys_db_pool_size": self.args.pool,
            "application_version": "bench",
            "log_level": "WARNING",
        }
        if self.args.executor_threads:
            config["max_executor_threads"] = self.args.executor_threads
        DBOS(config=config)
        DBOS.launch()
        from dbos._dbos import _get_dbos_instance  # the system database's engine, to count
        self.engine = _get_dbos_instance()._sys_db.engine
        self.queue = DBOS.register_queue(QUEUE, worker_concurrency=0,
                                         polling_interval_sec=self.args.poll,
                                         on_conflict="always_update")
        self.watch = sa.create_engine(sqlalchemyUrl(self.args.dsn), pool_size=1)

    def sql(self, statement, **params):
        with self.watch.begin() as conn:
            return conn.execute(sa.text(statement), params).fetchall()

    def clear(self):
        """Forget every workflow (their steps, inputs and outputs go with them)."""
        with self.watch.begin() as conn:
            conn.execute(sa.text("TRUNCATE dbos.workflow_status CASCADE"))

    def statuses(self):
        return dict(self.sql("SELECT status, count(*) FROM dbos.workflow_status "
                             "WHERE queue_name = :q GROUP BY status", q=QUEUE))

    def enqueueAll(self, function, args):
        """Enqueue one run per argument onto the paused queue, one thread; seconds per call."""
        times = []
        with Counter(self.engine) as counter:
            for arg in args:
                t0 = clock()
                self.queue.enqueue(function, arg)
                times.append(clock() - t0)
        return times, counter.counts

    def drain(self, count):
        """Release the paused queue and wait until ``count`` runs ended; pause it again."""
        with Counter(self.engine) as counter:
            begun = clock()
            self.queue.set_worker_concurrency(self.args.worker_concurrency)
            capped = False
            while True:
                statuses = self.statuses()
                now = clock()
                ended = sum(statuses.get(s, 0) for s in ("SUCCESS", "ERROR", "CANCELLED",
                                                         "MAX_RECOVERY_ATTEMPTS_EXCEEDED"))
                if ended >= count:
                    break
                if now - begun >= self.runLimit:
                    capped = True
                    break
                time.sleep(POLL_SECONDS)
            self.queue.set_worker_concurrency(0)
        return {"elapsed": now - begun, "done": statuses.get("SUCCESS", 0),
                "statuses": statuses, "capped": capped, "counts": dict(counter.counts),
                "shapes": dict((k, dict(v)) for k, v in counter.shapes.items())}

    # --- C: durable enqueue ---------------------------------------------------------
    def durableEnqueue(self):
        n = self.nDurable
        self.clear()
        self.enqueueAll(three_steps, range(-WARMUP, 0))
        self.clear()
        times, counts = self.enqueueAll(three_steps, range(n))
        stored = self.statuses()
        self.clear()
        mean = 1000.0 * sum(times) / n
        self.results["C"] = {
            "calls": n, "meanMs": mean, "p50Ms": 1000.0 * percentile(times, 0.5),
            "p99Ms": 1000.0 * percentile(times, 0.99),
            "statementsPerCall": counts.get("caller", 0) / float(n),
            "pollerStatements": counts.get("poller", 0), "stored": stored}
        print("   C  Queue.enqueue(three_steps) x %d, one thread, queue paused: mean %.3f ms "
              "p50 %.3f ms p99 %.3f ms; %.2f statement(s) per call (stored %r)"
              % (n, mean, self.results["C"]["p50Ms"], self.results["C"]["p99Ms"],
                 self.results["C"]["statementsPerCall"], stored))

    # --- A: end to end ----------------------------------------------------------------
    def endToEnd(self):
        n = self.nEndToEnd
        self.clear()
        enqueueTimes, _ = self.enqueueAll(three_steps, range(n))
        run = self.drain(n)
        rate = run["done"] / run["elapsed"]
        statements = sum(run["counts"].values()) / float(max(1, run["done"]))
        self.results["A"] = {
            "runs": n, "done": run["done"], "elapsed": run["elapsed"], "rate": rate,
            "capped": run["capped"], "statuses": run["statuses"],
            "statementsPerWorkflow": statements,
            "workflowThreadStatementsPerWorkflow":
                run["counts"].get("workflow", 0) / float(max(1, run["done"])),
            "enqueueSeconds": sum(enqueueTimes), "statementShapes": run["shapes"]}
        print("   A  %d three_steps enqueued (%.1f s), released: %d done in %.2f s = %.1f wf/s%s;"
              " %.2f statement(s) per workflow (%.2f on the workflow threads)"
              % (n, sum(enqueueTimes), run["done"], run["elapsed"], rate,
                 " CAPPED at %.0f s" % self.runLimit if run["capped"] else "", statements,
                 self.results["A"]["workflowThreadStatementsPerWorkflow"]))
        self.clear()

    # --- B: per step ----------------------------------------------------------------
    def perStep(self):
        m = self.nPerStep
        runs = {}
        for steps in (0, 10):
            self.clear()
            self.enqueueAll(noop_steps, [steps] * m)
            run = self.drain(m)
            inRun = self.sql("SELECT avg(completed_at - started_at_epoch_ms) FROM "
                             "dbos.workflow_status WHERE status = 'SUCCESS' AND queue_name = :q",
                             q=QUEUE)[0][0]
            run["inRunMs"] = float(inRun) if inRun is not None else float("nan")
            run["workflowStatements"] = (run["counts"].get("workflow", 0)
                                         / float(max(1, run["done"])))
            print("   B  noop_steps(%d) x %d: %d done in %.2f s%s; inside a run mean %.2f ms; "
                  "%.2f statement(s) per workflow on the workflow threads"
                  % (steps, m, run["done"], run["elapsed"],
                     " CAPPED" if run["capped"] else "", run["inRunMs"],
                     run["workflowStatements"]))
            runs[steps] = run
        self.clear()
        zero, ten = runs[0], runs[10]
        wallMs = 1000.0 * (ten["elapsed"] / max(1, ten["done"])
                           - zero["elapsed"] / max(1, zero["done"])) / 10.0
        self.results["B"] = {
            "runs": m, "wallMsPerStep": wallMs,
            "inRunMsPerStep": (ten["inRunMs"] - zero["inRunMs"]) / 10.0,
            "statementsPerStep": (ten["workflowStatements"] - zero["workflowStatements"]) / 10.0,
            "statementShapesPerStep": perStepShapes(zero, ten, m),
            "zero": zero, "ten": ten}
        print("   B  per step: wall clock %.3f ms, inside a run %.3f ms, %.2f statement(s)"
              % (wallMs, self.results["B"]["inRunMsPerStep"],
                 self.results["B"]["statementsPerStep"]))


def perStepShapes(zero, ten, runs):
    """Per step, by shape: the executor threads' statements of the 10-step batch less the
    0-step batch's, over 10 steps of ``runs`` runs."""
    a, b = zero["shapes"].get("workflow", {}), ten["shapes"].get("workflow", {})
    return dict((k, round((b.get(k, 0) - a.get(k, 0)) / (10.0 * runs), 3))
                for k in set(a) | set(b) if b.get(k, 0) != a.get(k, 0))


def parseArgs(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dsn", required=True, help="libpq DSN of the (empty) system database")
    parser.add_argument("--out", required=True, help="where to write the results (JSON)")
    parser.add_argument("--quick", action="store_true", help="every count divided by 10")
    parser.add_argument("--only", default="A,B,C", help="workloads to run (A, B, C)")
    # DBOS's settings: run.py holds the chosen ones (its defaults) and passes them all
    for flag, kind, what in (("--poll", float, "the queue's polling_interval_sec"),
                             ("--worker-concurrency", int, "its worker_concurrency when released"),
                             ("--pool", int, "sys_db_pool_size")):
        parser.add_argument(flag, type=kind, required=True, help=what)
    parser.add_argument("--executor-threads", type=int, default=None,
                        help="max_executor_threads (default: DBOS's, unbounded)")
    parser.add_argument("--run-limit", type=float, default=None,
                        help="seconds a drain may take (default 30, 15 with --quick)")
    args = parser.parse_args(argv)
    args.only = set(x.strip().upper() for x in args.only.split(",") if x.strip())
    return args


def main(argv=None):
    args = parseArgs(sys.argv[1:] if argv is None else argv)
    import dbos
    version = getattr(dbos, "__version__", None)
    if version is None:
        from importlib.metadata import version as distVersion
        version = distVersion("dbos")
    peer = Peer(args)
    begun = clock()
    try:
        peer.launch()
        print("   DBOS Transact %s on %s %s; queue polling_interval_sec=%g, "
              "worker_concurrency=%s, sys_db_pool_size=%d, max_executor_threads=%s"
              % (version, platform.python_implementation(), platform.python_version(),
                 args.poll, args.worker_concurrency, args.pool,
                 args.executor_threads or "unbounded"))
        sys.stdout.flush()
        for name, work in (("C", peer.durableEnqueue), ("A", peer.endToEnd),
                           ("B", peer.perStep)):
            if name in args.only:
                try:
                    work()
                except Exception as error:  # noqa: B902
                    peer.results[name] = {"error": "%s: %s" % (type(error).__name__, error)}
                    print("   %s  failed: %s" % (name, peer.results[name]["error"]))
                sys.stdout.flush()
    finally:
        DBOS.destroy()
        if getattr(peer, "watch", None) is not None:
            peer.watch.dispose()
    out = {"dbos": version, "python": "%s %s" % (platform.python_implementation().lower(),
                                                  platform.python_version()),
           "settings": {"pollingIntervalSec": args.poll,
                        "workerConcurrency": args.worker_concurrency,
                        "sysDbPoolSize": args.pool,
                        "maxExecutorThreads": args.executor_threads},
           "quick": args.quick, "seconds": clock() - begun, "results": peer.results}
    with open(args.out, "w") as handle:
        json.dump(out, handle, indent=2, sort_keys=True)


if __name__ == "__main__":
    main()
