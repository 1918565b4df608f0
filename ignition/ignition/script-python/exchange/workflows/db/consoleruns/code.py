"""The statements the console's Runs, Run details and Prompts pages read (api/consoleruns,
consoledetails, consoleprompts) beyond what the API's reads already give.

Each is bounded (a LIMIT, or a cap on the rows it counts) and reads through an index
(workflow_runs' created_at_ms, status and name indexes; the prompts' and streams' keys by
run), so a console polling a large table costs little.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import sql, tx

# At most this many runs are counted (the counts and total of a page) or charted.
COUNT_LIMIT = 10000
CHART_LIMIT = 100000

PAGE_COLUMNS = ("workflow_id", "workflow_name", "queue_name", "partition_key", "status",
                "created_at_ms", "started_at_ms", "completed_at_ms", "run_at_ms", "attempts",
                "pending_command", "parent_workflow_id")
_FILTERS = """
   AND (CAST(? AS text) IS NULL OR workflow_name = ?)
   AND (CAST(? AS text) IS NULL OR queue_name = ?)
   AND (CAST(? AS text) IS NULL OR partition_key = ?)
   AND (CAST(? AS bigint) IS NULL OR created_at_ms >= CAST(? AS bigint))
   AND (CAST(? AS bigint) IS NULL OR created_at_ms < CAST(? AS bigint))
   AND (CAST(? AS text) IS NULL OR parent_workflow_id = ?)"""
_PAGE = """SELECT """ + ", ".join(PAGE_COLUMNS) + """
  FROM {schema}.workflow_runs
 WHERE (CAST(? AS text) IS NULL OR status = ANY (string_to_array(?, ',')))""" + _FILTERS + """
 ORDER BY created_at_ms DESC, enqueue_seq DESC
 LIMIT ? OFFSET ?"""
# Counts by status of the newest COUNT_LIMIT runs the filters (but status) match.
_COUNTS = """SELECT status, count(*) FROM (
    SELECT status FROM {schema}.workflow_runs
     WHERE true""" + _FILTERS + """
     ORDER BY created_at_ms DESC
     LIMIT ?) newest
 GROUP BY status"""
# Runs created in [from, to) by bucket and status, and per bucket the median queue wait
# (start - due) and run time (end - start): one pass over the newest CHART_LIMIT runs.
_CHART = """SELECT bucket, status, GROUPING(status) = 1 AS timing, count(*),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY waited),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY ran)
  FROM (SELECT (created_at_ms - CAST(? AS bigint)) / CAST(? AS bigint) AS bucket, status,
               started_at_ms - COALESCE(run_at_ms, created_at_ms) AS waited,
               completed_at_ms - started_at_ms AS ran
          FROM {schema}.workflow_runs
         WHERE created_at_ms >= CAST(? AS bigint) AND created_at_ms < CAST(? AS bigint)
           AND (CAST(? AS text) IS NULL OR workflow_name = ?)
           AND (CAST(? AS text) IS NULL OR queue_name = ?)
         ORDER BY created_at_ms DESC
         LIMIT ?) picked
 GROUP BY GROUPING SETS ((bucket, status), (bucket))
 ORDER BY bucket, status"""
_PARTITIONS = """SELECT DISTINCT partition_key FROM {schema}.workflow_runs
 WHERE partition_key IS NOT NULL
   AND status IN ('DELAYED', 'ENQUEUED', 'PENDING', 'RUNNING', 'WAITING', 'HELD')
 ORDER BY partition_key
 LIMIT ?"""
_QUEUE_NAMES = """SELECT queue_name FROM {schema}.queues ORDER BY queue_name LIMIT ?"""
PROMPT_COLUMNS = ("prompt_id", "workflow_id", "workflow_name", "step_position", "message",
                  "status", "response", "answered_by", "answer_comment", "answered_at_ms",
                  "created_at_ms", "expires_at_ms")
_PROMPT_SELECT = """SELECT p.prompt_id, p.workflow_id, r.workflow_name, p.step_position,
       p.message, p.status, p.response::text, p.answered_by, p.answer_comment,
       p.answered_at_ms, p.created_at_ms, p.expires_at_ms
  FROM {schema}.prompts p JOIN {schema}.workflow_runs r ON r.workflow_id = p.workflow_id"""
_RUN_PROMPTS = _PROMPT_SELECT + """
 WHERE p.workflow_id = ?
 ORDER BY p.step_position
 LIMIT ?"""
_HISTORY = _PROMPT_SELECT + """
 WHERE p.status <> 'PENDING'
 ORDER BY COALESCE(p.answered_at_ms, p.expires_at_ms) DESC, p.prompt_id
 LIMIT ?"""
STREAM_COLUMNS = ("stream_key", "values", "closed", "last_at_ms")
_STREAMS = """SELECT stream_key, count(value), bool_or(closed), max(created_at_ms)
  FROM {schema}.streams
 WHERE workflow_id = ?
 GROUP BY stream_key
 ORDER BY stream_key
 LIMIT ?"""


class RunFilter(object):
    """What a page or chart of runs is filtered by (None: any); times are epoch ms, [from,
    to) on the creation time."""

    def __init__(self, workflowName=None, queueName=None, partitionKey=None, fromMs=None,
                 toMs=None, parentWorkflowId=None):
        self.workflowName, self.queueName, self.partitionKey = workflowName, queueName, \
            partitionKey
        self.fromMs, self.toMs = fromMs, toMs
        self.parentWorkflowId = parentWorkflowId  # the children of one run

    def arguments(self):
        """The bound values of _FILTERS, in order."""
        return [self.workflowName, self.workflowName, self.queueName, self.queueName,
                self.partitionKey, self.partitionKey, self.fromMs, self.fromMs, self.toMs,
                self.toMs, self.parentWorkflowId, self.parentWorkflowId]


def page(dbName, statusesText, runFilter, limit, offset):
    """The runs matching ``runFilter`` and one of the comma-separated ``statusesText`` (None:
    any), newest first: dicts keyed by PAGE_COLUMNS."""
    rows = tx.query(dbName, sql.bind(_PAGE, dbName), [statusesText, statusesText] +
                    runFilter.arguments() + [limit, offset])
    return [dict(zip(PAGE_COLUMNS, row)) for row in rows]


def counts(dbName, runFilter):
    """{status: n} over the newest COUNT_LIMIT runs matching ``runFilter``."""
    rows = tx.query(dbName, sql.bind(_COUNTS, dbName), runFilter.arguments() + [COUNT_LIMIT])
    return dict((status, n) for status, n in rows)


def chart(dbName, runFilter, bucketMs):
    """[(bucket, status, timing, count, waitP50, runP50)] of the runs created in
    [fromMs, toMs) (both required here): a row per bucket and status (timing False), and
    per bucket the medians over all its runs (timing True, status None)."""
    return tx.query(dbName, sql.bind(_CHART, dbName), [
        runFilter.fromMs, bucketMs, runFilter.fromMs, runFilter.toMs, runFilter.workflowName,
        runFilter.workflowName, runFilter.queueName, runFilter.queueName, CHART_LIMIT])


def activePartitions(dbName, limit):
    """The partition keys of active runs, sorted."""
    return [row[0] for row in tx.query(dbName, sql.bind(_PARTITIONS, dbName), [limit])]


def declaredQueues(dbName, limit):
    """The names of the declared queues, sorted."""
    return [row[0] for row in tx.query(dbName, sql.bind(_QUEUE_NAMES, dbName), [limit])]


def runPrompts(dbName, workflowId, limit):
    """A run's prompts, any status, in the order it asked them: dicts keyed by
    PROMPT_COLUMNS."""
    rows = tx.query(dbName, sql.bind(_RUN_PROMPTS, dbName), [workflowId, limit])
    return [dict(zip(PROMPT_COLUMNS, row)) for row in rows]


def promptHistory(dbName, limit):
    """Prompts answered or timed out, the latest first: dicts keyed by PROMPT_COLUMNS."""
    rows = tx.query(dbName, sql.bind(_HISTORY, dbName), [limit])
    return [dict(zip(PROMPT_COLUMNS, row)) for row in rows]


def streams(dbName, workflowId, limit):
    """A run's streams: dicts keyed by STREAM_COLUMNS (values written, closed, last write)."""
    rows = tx.query(dbName, sql.bind(_STREAMS, dbName), [workflowId, limit])
    return [dict(zip(STREAM_COLUMNS, row)) for row in rows]
