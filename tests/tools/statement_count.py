"""Counts the engine's database statements per workflow and the end-to-end rate.

Not a benchmark suite (that is ``make bench``, later): a quick, reproducible figure for
"statements per step" on the happy path. It starts an embedded PostgreSQL (or uses
$WORKFLOWS_DSN), enqueues N runs of a test workflow, drives dispatch until all succeed, and
prints what each workflow cost.

    .venv/bin/python tests/tools/statement_count.py 1000 three_steps
"""
from __future__ import print_function

import collections
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "gateway"), os.path.join(HERE, "..")]

from simulator import pgserver, worker  # noqa: E402


def main(count, flow):
    dsn, stop = pgserver.serverFromEnv("WORKFLOWS_DSN")
    try:
        worker.boot(dsn, [os.path.join(HERE, "..", "fixture_project")], ["testing.flows"],
                    workerThreads=8)
        import system
        import exchange.workflows.api.service as service
        system.db.runPrepUpdate("CREATE TABLE IF NOT EXISTS public.side_effects (id bigserial "
                                "PRIMARY KEY, workflow_id text, kind text, value text, "
                                "at_ms bigint)", [], "WorkflowsDB")
        counts = _countStatements(system.db)
        started = time.time()
        for _ in range(count):
            assert service.enqueue(flow)["ok"]
        enqueued = time.time()
        counts.clear()
        done = "SELECT count(*) FROM workflows.workflow_runs WHERE status = 'SUCCESS'"
        while system.db.runScalarPrepQuery(done, [], "WorkflowsDB") < count:
            service.dispatch()  # what the gateway timer does, here without its 1 s delay
            time.sleep(0.005)
        counts["SELECT (progress polls)"] = 0
        finished = time.time()
        print("durable enqueue: %d in %.2f s = %.0f/s" % (count, enqueued - started,
                                                          count / (enqueued - started)))
        print("%s end to end: %.0f workflows/s" % (flow, count / (finished - enqueued)))
        print("engine statements per workflow:")
        for kind, number in sorted(counts.items()):
            if number:
                print("  %-28s %.2f" % (kind, number / float(count)))
    finally:
        stop()


def _countStatements(db):
    """Wrap system.db so every statement is counted by what it does."""
    counts = collections.Counter()

    def wrap(original):
        def counted(query, *args, **kwargs):
            counts[_kind(query)] += 1
            return original(query, *args, **kwargs)
        return counted

    for name in ("runPrepQuery", "runPrepUpdate", "runScalarPrepQuery"):
        setattr(db, name, wrap(getattr(db, name)))
    return counts


def _kind(query):
    text = " ".join(query.split())
    for marker, kind in (("finish_step_and_claim(", "terminal write + last checkpoint + claim"),
                         ("WITH fin AS (UPDATE", "terminal write + last checkpoint"),
                         ("finish_and_claim(", "terminal write + claim"),
                         ("json_array_elements(", "step checkpoints of several runs"),
                         ("INSERT INTO workflows.step_outputs", "step checkpoint (INSERT)"),
                         ("INSERT INTO workflows.executors", "executor registration"),
                         ("UPDATE workflows.executors", "heartbeat (lease + recovery)"),
                         ("SET status = 'RUNNING'", "claim (batched; starts the run)"),
                         ("SET status = ?", "terminal write (UPDATE)"),
                         ("public.side_effects", "the workflow's own SQL"),
                         ("workflow_runs", "SELECT (progress polls)")):
        if marker in text:
            return kind
    return "other"


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000,
         sys.argv[2] if len(sys.argv) > 2 else "three_steps")
