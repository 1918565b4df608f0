"""Every statement on ``step_outputs``: the checkpoint write and the log read.

The checkpoint is one INSERT that also checks, in the same statement, that the run is still
RUNNING under this owner, and answers the operator command waiting for the run's next step
boundary (HOLD, STOP): on the happy path a step costs exactly one statement. The check
locks the run row (FOR SHARE), so a re-claim cannot slip between the check and the insert:
a zombie's checkpoint either lands before the new owner reads the log, or not at all. A
retried write whose first commit did land is harmless (the primary key keeps one row).

The SUCCESS checkpoints of several runs asked for while one is in flight go in one statement
(db.groupcommit): the same check and answer for each row. Those statements skip a run row
another transaction holds (SKIP LOCKED), so they never wait for one: that checkpoint is then
written alone, as above, and only its run waits.
"""
from __future__ import absolute_import, division, print_function

from collections import namedtuple

from exchange.workflows import codec, statuses
from exchange.workflows.db import groupcommit, sql, tx

STEP_COLUMNS = ("step_position", "step_name", "status", "output", "error", "attempts",
                "executor_id", "run_attempt", "started_at_ms", "completed_at_ms")

# The run, if it is still this owner's (workflow_id, executor_id, attempts): its pending
# command, read from the row version the lock returns (a command committed while the
# checkpoint waited for the lock is in the answer)
_OWN = """own AS (
    SELECT pending_command FROM {schema}.workflow_runs
     WHERE workflow_id = ? AND status = 'RUNNING' AND executor_id = ? AND attempts = ?
       FOR SHARE)"""

_INSERT_STEP = """INSERT INTO {schema}.step_outputs
    (workflow_id, step_position, step_name, status, output, error, attempts, executor_id,
     run_attempt, started_at_ms, completed_at_ms)"""

_RECORD = "WITH " + _OWN + "\n" + _INSERT_STEP + """
SELECT ?, ?, ?, ?, CAST(? AS json), CAST(? AS json), ?, ?, ?, CAST(? AS bigint),
       CAST(? AS bigint)
  FROM own
ON CONFLICT (workflow_id, step_position) DO NOTHING
RETURNING (SELECT pending_command FROM own)"""

# A wait's wake time as a step's output: the database clock's now plus the wait's timeout
# (NULL: it never times out), written as the JSON codec.encode writes {"wakeAtMs": ...}
_WAKE_AT_OUTPUT = ("CAST('{\"wakeAtMs\":' || COALESCE(CAST({schema}.now_ms() + CAST(? AS bigint) "
                   "AS text), 'null') || '}' AS json)")

# A wait's wake time, recorded at its position in one fenced statement (as a checkpoint),
# and returned with the pending command.
_RECORD_WAKE_AT = _RECORD.replace(
    "CAST(? AS json), CAST(? AS json)", _WAKE_AT_OUTPUT + ", NULL", 1).replace(
    "RETURNING (SELECT pending_command FROM own)",
    "RETURNING (SELECT pending_command FROM own), output::text", 1)

# A sleep's wake time with the step before it, kept until then (engine.checkpoints), in one
# fenced statement: the kept SUCCESS checkpoint at its position, then the wake time at the
# next, unless a command is pending (the run applies it first, as it would have on the kept
# checkpoint's own answer, and records the wake time after it). One row: the pending
# command, the wake time written (NULL: none), whether the run is still this owner's,
# whether this statement wrote the step.
_RECORD_WAKE_AT_AFTER = "WITH " + _OWN + """,
kept AS (
    """ + _INSERT_STEP + """
    SELECT ?, ?, ?, 'SUCCESS', CAST(? AS json), NULL, ?, ?, ?, CAST(? AS bigint),
           CAST(? AS bigint)
      FROM own
    ON CONFLICT (workflow_id, step_position) DO NOTHING
    RETURNING step_position),
wake AS (
    """ + _INSERT_STEP + """
    SELECT ?, ?, ?, 'SUCCESS', """ + _WAKE_AT_OUTPUT + """, NULL, ?, ?, ?,
           CAST(? AS bigint), CAST(? AS bigint)
      FROM own
     WHERE own.pending_command IS NULL
    ON CONFLICT (workflow_id, step_position) DO NOTHING
    RETURNING output::text)
SELECT (SELECT pending_command FROM own), (SELECT output FROM wake),
       EXISTS (SELECT 1 FROM own), EXISTS (SELECT 1 FROM kept)"""

# _RECORD in a group commit: a run row another transaction holds is skipped, not waited for
# (no row written: the checkpoint is then written alone with _RECORD)
_RECORD_NOWAIT = _RECORD.replace("FOR SHARE)", "FOR SHARE SKIP LOCKED)", 1)

# _RECORD_NOWAIT for several SUCCESS checkpoints: one JSON array per row, [workflow_id,
# executor_id, run attempt, position, name, attempts, started_at_ms, completed_at_ms,
# output]. Each row is checked against its run row as the lock returned it; the rows written
# come back with their owner and their run's pending command.
_RECORD_SEVERAL = """WITH input AS (
    SELECT e->>0 AS workflow_id, e->>1 AS executor_id, CAST(e->>2 AS integer) AS run_attempt,
           CAST(e->>3 AS integer) AS step_position, e->>4 AS step_name,
           CAST(e->>5 AS integer) AS attempts, CAST(e->>6 AS bigint) AS started_at_ms,
           CAST(e->>7 AS bigint) AS completed_at_ms, e->8 AS output
      FROM json_array_elements(CAST(? AS json)) AS e),
own AS (
    SELECT workflow_id, executor_id, attempts, pending_command FROM {schema}.workflow_runs
     WHERE workflow_id IN (SELECT workflow_id FROM input) AND status = 'RUNNING'
       FOR SHARE SKIP LOCKED),
written AS (
    INSERT INTO {schema}.step_outputs
        (workflow_id, step_position, step_name, status, output, error, attempts, executor_id,
         run_attempt, started_at_ms, completed_at_ms)
    SELECT i.workflow_id, i.step_position, i.step_name, 'SUCCESS', i.output, NULL,
           i.attempts, i.executor_id, i.run_attempt, i.started_at_ms, i.completed_at_ms
      FROM input i
      JOIN own o ON o.workflow_id = i.workflow_id AND o.executor_id = i.executor_id
                AND o.attempts = i.run_attempt
    ON CONFLICT (workflow_id, step_position) DO NOTHING
    RETURNING workflow_id, step_position, executor_id, run_attempt)
SELECT w.workflow_id, w.step_position, w.executor_id, w.run_attempt, o.pending_command
  FROM written w JOIN own o ON o.workflow_id = w.workflow_id"""

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
    still ours, in transaction ``t`` or in a statement of its own or shared with other runs'
    SUCCESS checkpoints (a Recorded: true when a row was inserted, with the run's pending
    command)."""
    if t is None and status == statuses.SUCCESS and errorJson is None:
        return _group(fence.dbName).write((fence, step, outputJson))
    return _recordWith(_RECORD, fence, step, status, [outputJson, errorJson], t)


def _recordWith(statement, fence, step, status, outcome, t=None):
    rows = tx.query(fence.dbName, sql.bind(statement, fence.dbName),
                    _recordArgs(fence, step, status, outcome), t)
    return Recorded(bool(rows), rows[0][0] if rows else None)


_groups = {}


def _group(dbName):
    """The group commit of SUCCESS checkpoints on one database connection."""
    group = _groups.get(dbName)
    if group is None:
        group = _groups.setdefault(dbName, groupcommit.Group(
            _recordNowait, lambda items: _recordSeveral(dbName, items),
            lambda item: _recordItem(_RECORD, item),
            lambda item: len(item[2]) + _ROW_CHARS))
    return group


_ROW_CHARS = 200  # a row's JSON in _RECORD_SEVERAL beside its output (ids, name, numbers)


def _recordItem(statement, item):
    """A (fence, step, outputJson) item's SUCCESS checkpoint alone, with ``statement``."""
    fence, step, outputJson = item
    return _recordWith(statement, fence, step, statuses.SUCCESS, [outputJson, None])


def checkpointsWaiting():
    """How many SUCCESS checkpoints wait for the one in flight of their database."""
    return sum(group.waiting() for group in list(_groups.values()))


def _recordNowait(item):
    """A (fence, step, outputJson) item's SUCCESS checkpoint, unless its run row is held:
    a Recorded, or groupcommit.ALONE when no row was written."""
    written = _recordItem(_RECORD_NOWAIT, item)
    return written if written else groupcommit.ALONE


def _recordSeveral(dbName, items):
    """SUCCESS checkpoints of (fence, step, outputJson) items in one statement: a Recorded
    each, in their order, or groupcommit.ALONE for one not written (its run row held, or
    no longer this owner's, or a row already there: written alone it says which)."""
    rows = tx.query(dbName, sql.bind(_RECORD_SEVERAL, dbName), [u"[%s]" % u",".join(
        u"[%s,%s,%d,%d,%s,%d,%d,%d,%s]" % (
            codec.quoted(fence.workflowId), codec.quoted(fence.executorId), fence.attempt,
            step.position, codec.quoted(step.name), step.attempts, step.startedMs,
            step.completedMs, outputJson)
        for fence, step, outputJson in items)])
    pending = dict((tuple(row[:4]), row[4]) for row in rows)
    answers = []
    for fence, step, _ in items:
        key = (fence.workflowId, step.position, fence.executorId, fence.attempt)
        answers.append(Recorded(True, pending[key]) if key in pending else groupcommit.ALONE)
    return answers


def recordWakeAt(fence, step, timeoutMs):
    """Record at ``step``'s position, if the run is still ours, when a wait beginning now
    wakes: ``timeoutMs`` after the database clock's now (None: never). A Recorded, its
    outputJson the {"wakeAtMs": ...} written."""
    rows = tx.query(fence.dbName, sql.bind(_RECORD_WAKE_AT, fence.dbName),
                    _recordArgs(fence, step, statuses.SUCCESS, [timeoutMs]))
    return Recorded(bool(rows), rows[0][0] if rows else None, rows[0][1] if rows else None)


class WakeAfterKept(namedtuple("WakeAfterKept", "recorded ours keptWritten")):
    """The answer of recordWakeAtAfter: the wake time's write as recordWakeAt answers it (a
    Recorded, with the run's pending command), whether the run is still this owner's and
    whether this statement wrote the step."""

    __slots__ = ()


def recordWakeAtAfter(fence, kept, keptOutputJson, step, timeoutMs):
    """The kept SUCCESS checkpoint of ``kept`` (a Step), then the wake time at ``step``'s
    position as recordWakeAt writes it unless a command is pending, in one statement (a
    WakeAfterKept). Nothing is written once the run is no longer ours."""
    row = tx.query(fence.dbName, sql.bind(_RECORD_WAKE_AT_AFTER, fence.dbName),
                   fence.params()
                   + [fence.workflowId, kept.position, kept.name, keptOutputJson,
                      kept.attempts, fence.executorId, fence.attempt, kept.startedMs,
                      kept.completedMs]
                   + [fence.workflowId, step.position, step.name, timeoutMs, step.attempts,
                      fence.executorId, fence.attempt, step.startedMs, step.completedMs])[0]
    return WakeAfterKept(Recorded(row[1] is not None, row[0], row[1]), bool(row[2]),
                         bool(row[3]))


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
