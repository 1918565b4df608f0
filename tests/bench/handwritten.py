"""The hand-written queue the benches measure the engine against (bench.py figure 4,
scaling.py S1): the database work of a three-step workflow with the raw driver alone, as
few statements as the job allows and no pool validation: claim one run (UPDATE ..
RETURNING, SKIP LOCKED), three step INSERTs, the terminal UPDATE. Python 2.7 and 3 (the
core bench runs it under Jython over bare JDBC too)."""
from __future__ import division, print_function

import json
import threading
import time

NOW = "CAST(extract(epoch FROM statement_timestamp()) * 1000 AS bigint)"
STEPS = ("first", "second", "third")


def statements(schema):
    """(claim, record, finish) of the queue in ``schema``, with %s parameters."""
    claim = ("UPDATE {s}.workflow_runs SET status = 'PENDING', executor_id = %s, "
             "attempts = attempts + 1, claimed_at_ms = " + NOW + ", updated_at_ms = " + NOW +
             " WHERE workflow_id = (SELECT workflow_id FROM {s}.workflow_runs "
             "WHERE status = 'ENQUEUED' ORDER BY priority, enqueue_seq LIMIT 1 "
             "FOR UPDATE SKIP LOCKED) RETURNING workflow_id, attempts, inputs")
    record = ("INSERT INTO {s}.step_outputs (workflow_id, step_position, step_name, status, "
              "output, attempts, executor_id, run_attempt, started_at_ms, completed_at_ms) "
              "VALUES (%s, %s, %s, 'SUCCESS', CAST(%s AS json), 1, %s, %s, %s, %s)")
    finish = ("UPDATE {s}.workflow_runs SET status = 'SUCCESS', output = CAST(%s AS jsonb), "
              "completed_at_ms = " + NOW + ", updated_at_ms = " + NOW +
              " WHERE workflow_id = %s AND status = 'PENDING' AND executor_id = %s "
              "AND attempts = %s")
    return tuple(s.replace("{s}", schema) for s in (claim, record, finish))


def drain(connections, schema, clock, catchable=(Exception,)):
    """One thread per connection, each claiming and running runs until none is queued;
    (seconds from the release of the threads to the last one's end, errors)."""
    claim, record, finish = statements(schema)
    gate = threading.Event()
    errors = []

    def work(conn, executorId):
        gate.wait()
        try:
            cur = conn.cursor()
            while True:
                cur.execute(claim, (executorId,))
                row = cur.fetchone()
                if row is None:
                    return
                workflowId, attempt, inputs = row
                if not isinstance(inputs, dict):  # (a driver that returns jsonb as text)
                    inputs = json.loads(inputs) if inputs else {}
                value = inputs.get("value", 0)
                outputs = [value + 1, (value + 1) * 2, {"value": (value + 1) * 2}]
                for position, (name, output) in enumerate(zip(STEPS, outputs), 1):
                    stamp = int(time.time() * 1000)
                    cur.execute(record, (workflowId, position, name, json.dumps(output),
                                         executorId, attempt, stamp, stamp))
                cur.execute(finish, (json.dumps(outputs[-1]), workflowId, executorId, attempt))
        except catchable as error:  # noqa: B902 - reported by the caller
            errors.append(error)

    threads = [threading.Thread(target=work, args=(c, "raw:%d" % i))
               for i, c in enumerate(connections)]
    for thread in threads:
        thread.start()
    begun = clock()
    gate.set()
    for thread in threads:
        thread.join()
    return clock() - begun, errors
