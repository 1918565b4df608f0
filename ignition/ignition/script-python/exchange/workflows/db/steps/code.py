"""Every statement on ``step_outputs``: the checkpoint write and the log read.

The checkpoint is one INSERT that also checks, in the same statement, that the run is still
RUNNING under this owner, and answers the operator command waiting for the run's next step
boundary (HOLD, STOP): on the happy path a step costs exactly one statement. The check
locks the run row (FOR SHARE), so a re-claim cannot slip between the check and the insert:
a zombie's checkpoint either lands before the new owner reads the log, or not at all. A
retried write whose first commit did land is harmless (the primary key keeps one row).
"""
from __future__ import absolute_import, division, print_function

from collections import namedtuple

from exchange.workflows import statuses
from exchange.workflows.db import sql, tx

STEP_COLUMNS = ("step_position", "step_name", "status", "output", "error", "attempts",
                "executor_id", "run_attempt", "started_at_ms", "completed_at_ms")

# (the run's pending command is read from the row version the lock returns: a command
# committed while the checkpoint waited for the lock is in the answer)
_RECORD = """WITH own AS (
    SELECT pending_command FROM {schema}.workflow_runs
     WHERE workflow_id = ? AND status = 'RUNNING' AND executor_id = ? AND attempts = ?
       FOR SHARE)
INSERT INTO {schema}.step_outputs
    (workflow_id, step_position, step_name, status, output, error, attempts, executor_id,
     run_attempt, started_at_ms, completed_at_ms)
SELECT ?, ?, ?, ?, CAST(? AS json), CAST(? AS json), ?, ?, ?, CAST(? AS bigint),
       CAST(? AS bigint)
  FROM own
ON CONFLICT (workflow_id, step_position) DO NOTHING
RETURNING (SELECT pending_command FROM own)"""

# A wait's wake time, recorded at its position in one fenced statement (as a checkpoint):
# the database clock's now plus the wait's timeout (NULL: it never times out), written as
# the JSON codec.encode writes {"wakeAtMs": ...}, and returned with the pending command.
_RECORD_WAKE_AT = _RECORD.replace(
    "CAST(? AS json), CAST(? AS json)",
    "CAST('{\"wakeAtMs\":' || COALESCE(CAST({schema}.now_ms() + CAST(? AS bigint) AS text),"
    " 'null') || '}' AS json), NULL", 1).replace(
    "RETURNING (SELECT pending_command FROM own)",
    "RETURNING (SELECT pending_command FROM own), output::text", 1)

_AT = """SELECT step_name, executor_id, run_attempt FROM {schema}.step_outputs
 WHERE workflow_id = ? AND step_position = ?"""

_OUTPUT_AT = """SELECT step_name, executor_id, run_attempt, output::text FROM {schema}.step_outputs
 WHERE workflow_id = ? AND step_position = ?"""

_LIST = """SELECT step_position, step_name, status, output::text, error::text, attempts,
       executor_id, run_attempt, started_at_ms, completed_at_ms
  FROM {schema}.step_outputs WHERE workflow_id = ? ORDER BY step_position"""


class Step(namedtuple("Step", "position name attempts startedMs completedMs")):
    """One step's place and execution, as its checkpoint records them: the position and
    name, how many times its body ran, and when it started and completed (epoch ms)."""

    __slots__ = ()


class Recorded(object):
    """The answer of a checkpoint: whether it landed, the run's pending command then, and
    the output it wrote when the database computed it (a wake time)."""

    def __init__(self, written, pendingCommand, outputJson=None):
        self.written = written
        self.pendingCommand = pendingCommand
        self.outputJson = outputJson

    def __bool__(self):
        return self.written

    __nonzero__ = __bool__


def record(fence, step, status, outputJson, errorJson, t=None):
    """Write one step's outcome (a Step and its status, output and error) if the run is
    still ours, in transaction ``t`` or alone (a Recorded: true when a row was inserted,
    with the run's pending command)."""
    rows = tx.query(fence.dbName, sql.bind(_RECORD, fence.dbName),
                    _recordArgs(fence, step, status, [outputJson, errorJson]), t)
    return Recorded(bool(rows), rows[0][0] if rows else None)


def recordWakeAt(fence, step, timeoutMs):
    """Record at ``step``'s position, if the run is still ours, when a wait beginning now
    wakes: ``timeoutMs`` after the database clock's now (None: never). A Recorded, its
    outputJson the {"wakeAtMs": ...} written."""
    rows = tx.query(fence.dbName, sql.bind(_RECORD_WAKE_AT, fence.dbName),
                    _recordArgs(fence, step, statuses.SUCCESS, [timeoutMs]))
    return Recorded(bool(rows), rows[0][0] if rows else None, rows[0][1] if rows else None)


def _recordArgs(fence, step, status, outcome):
    """_RECORD's parameters (and _RECORD_WAKE_AT's, whose outcome is the timeout alone)."""
    return fence.params() + [fence.workflowId, step.position, step.name, status] + outcome \
        + [step.attempts, fence.executorId, fence.attempt, step.startedMs, step.completedMs]


def at(dbName, workflowId, position):
    """(stepName, executorId, runAttempt) recorded at a position, or None."""
    rows = tx.query(dbName, sql.bind(_AT, dbName), [workflowId, position])
    return tuple(rows[0]) if rows else None


def outputAt(dbName, workflowId, position):
    """(stepName, executorId, runAttempt, outputJson) recorded at a position, or None."""
    rows = tx.query(dbName, sql.bind(_OUTPUT_AT, dbName), [workflowId, position])
    return tuple(rows[0]) if rows else None


def listSteps(dbName, workflowId):
    """The step log of a run, in position order, as dicts keyed by STEP_COLUMNS."""
    rows = tx.query(dbName, sql.bind(_LIST, dbName), [workflowId])
    return [dict(zip(STEP_COLUMNS, row)) for row in rows]
