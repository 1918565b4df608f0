"""How soon an idle executor starts work nothing on it announced (issue 18's latency aims):

  1. start: a client (this process, which never ran onStartup) enqueues runs one at a time,
     at random moments; an executor process (tests/gateway/simulator/worker.py, 1 s timer)
     picks them up. Reported: started_at_ms - created_at_ms (both the database's clock).
  2. orphans: runs claimed by an executor whose lease then runs out (its rows as a kill -9
     leaves them); the executor process recovers them. Reported: from the lease's expiry to
     the last RECOVER journal entry, and to all of them SUCCESS.

    WORKFLOWS_TEST_DSN="host=127.0.0.1 port=5432 user=postgres dbname=postgres" \\
      .venv/bin/python tests/tools/with_database.py -- \\
      .venv/bin/python tests/tools/latency_probe.py --idle-poll-ms 50 [--interpreter jython]

Run it under tests/tools/with_database.py (it reads WORKFLOWS_TEST_DSN_DB, a throwaway
database). Not a test: it prints figures.
"""
from __future__ import absolute_import, division, print_function

import argparse
import os
import random
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path[:0] = [os.path.join(TESTS, "gateway"), TESTS]

from simulator import gateway, loader  # noqa: E402

WORKER = os.path.join(TESTS, "gateway", "simulator", "worker.py")
PROJECT = os.path.join(TESTS, "fixture_project")
DB = "WorkflowsDB"
LEASE_SECONDS = 3


def sql(statement, *args):
    import system
    if statement.lstrip().upper().startswith(("SELECT", "WITH")):
        return system.db.runPrepQuery(statement, list(args), DB)
    return system.db.runPrepUpdate(statement, list(args), DB)


def startExecutor(dsn, args, name):
    command = [args.interpreter or sys.executable, WORKER, "--dsn", dsn, "--project", PROJECT,
               "--module", "testing.flows", "--period", "1.0", "--threads", "8",
               "--lease", str(LEASE_SECONDS), "--name", name, "--grace", "1"]
    if args.idle_poll_ms is not None:
        command += ["--idle-poll-ms", str(args.idle_poll_ms)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE)
    line = process.stdout.readline().decode().strip()
    assert line.startswith("EXECUTOR "), line
    return process, line.split(" ", 1)[1]


def cpuSeconds(pid):
    """User + system CPU of a process (Linux /proc), seconds."""
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))


def idleCost(process, seconds):
    """CPU and transactions of the idle executor over ``seconds``."""
    def sample():
        return cpuSeconds(process.pid), sql(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database "
            "WHERE datname = current_database()")[0][0]
    cpu0, tx0 = sample()
    time.sleep(seconds)
    cpu1, tx1 = sample()
    print("idle executor over %d s: %.1f %% of one core, %.1f transactions/s on the database "
          "(this probe's own 2 included; statistics lag up to 0.5 s)"
          % (seconds, 100.0 * (cpu1 - cpu0) / seconds, (tx1 - tx0) / float(seconds)))


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def waitUntil(predicate, seconds):
    end = time.time() + seconds
    while time.time() < end:
        if predicate():
            return True
        time.sleep(0.02)
    raise SystemExit("timed out")


def startLatency(service, count):
    ids = []
    for _ in range(count):
        time.sleep(random.uniform(0.05, 0.4))  # a random moment against the 1 s timer
        result = service.enqueue("three_steps")
        assert result["ok"], result
        ids.append(result["data"]["workflowId"])
    waitUntil(lambda: sql("SELECT count(*) FROM workflows.workflow_runs WHERE status = "
                          "'SUCCESS'")[0][0] >= count, 60)
    rows = sql("SELECT started_at_ms - created_at_ms FROM workflows.workflow_runs "
               "WHERE workflow_id = ANY(string_to_array(?, ','))", ",".join(ids))
    waits = [float(r[0]) for r in rows]
    print("start latency, %d runs enqueued by a client: p50 %.0f ms, p90 %.0f ms, p99 %.0f ms,"
          " max %.0f ms" % (count, percentile(waits, 0.5), percentile(waits, 0.9),
                             percentile(waits, 0.99), max(waits)))


def orphans(service, count):
    sql("INSERT INTO workflows.executors (executor_id, executor_name, host, runtime, "
        "generation, lease_ms, worker_threads, started_at_ms, heartbeat_at_ms, "
        "contact_since_ms) VALUES ('victim', 'victim', 'elsewhere', 'cpython 3', 1, ?, 8, "
        "workflows.now_ms(), workflows.now_ms(), workflows.now_ms())", LEASE_SECONDS * 1000)
    sql("INSERT INTO workflows.workflow_runs (workflow_id, workflow_name, status, "
        "queue_name, inputs, executor_id, attempts, claimed_at_ms, started_at_ms, "
        "created_at_ms, updated_at_ms) SELECT 'orphan-' || g, 'three_steps', 'RUNNING', "
        "'default', '{}', 'victim', 1, workflows.now_ms(), workflows.now_ms(), "
        "workflows.now_ms(), workflows.now_ms() FROM generate_series(1, ?) g", count)
    expiry = sql("SELECT heartbeat_at_ms + lease_ms FROM workflows.executors "
                 "WHERE executor_id = 'victim'")[0][0]
    waitUntil(lambda: sql("SELECT count(*) FROM workflows.workflow_runs WHERE workflow_id "
                          "LIKE 'orphan-%' AND status = 'SUCCESS'")[0][0] >= count, 120)
    recovered, firstClaim = sql(
        "SELECT max(j.at_ms) - ?, min(r.claimed_at_ms) FROM workflows.journal j "
        "LEFT JOIN workflows.workflow_runs r ON false WHERE j.action = 'RECOVER'", expiry)[0]
    done = sql("SELECT max(completed_at_ms) - ? FROM workflows.workflow_runs "
               "WHERE workflow_id LIKE 'orphan-%'", expiry)[0][0]
    print("orphans: %d runs of an executor whose %d s lease ran out: all recovered %.0f ms "
          "after the expiry, all SUCCESS after %.0f ms" % (count, LEASE_SECONDS,
                                                         float(recovered), float(done)))
    del firstClaim


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--idle-poll-ms", type=int, default=None)
    parser.add_argument("--interpreter", default=None, help="e.g. jython (the executor)")
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--orphans", type=int, default=1000)
    parser.add_argument("--idle-seconds", type=int, default=10)
    args = parser.parse_args()
    dsn = os.environ["WORKFLOWS_TEST_DSN_DB"]
    loader.install([loader.engineRoot(), loader.projectRoot(PROJECT)])
    gateway.addDatabase(DB, dsn)
    gateway.setDefaultDatabase(DB)
    import exchange.workflows.api.admin as admin
    import exchange.workflows.api.service as service
    assert admin.installSchema()["ok"]
    assert admin.registerWorkflowModules(["testing.flows"])["ok"]  # (no onStartup: a client)
    sql("CREATE TABLE IF NOT EXISTS public.side_effects (id bigserial PRIMARY KEY, "
        "workflow_id text, kind text, value text, at_ms bigint)")
    process, executorId = startExecutor(dsn, args, "probe-executor")
    try:
        time.sleep(LEASE_SECONDS + 1.5)  # in contact for a lease: it may recover
        print("executor %s (%s), idlePollMs %s" % (executorId, args.interpreter or "cpython",
                                                  args.idle_poll_ms))
        idleCost(process, args.idle_seconds)
        startLatency(service, args.runs)
        if args.orphans:
            orphans(service, args.orphans)
    finally:
        process.terminate()
        process.wait(30)


if __name__ == "__main__":
    main()
