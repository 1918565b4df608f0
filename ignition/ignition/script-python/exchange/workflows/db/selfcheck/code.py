"""The self-test's statements (api/selftest): a scratch schema of its own, typed values and
JSON through ``system.db``, a deliberate unique violation; and the removal of the self-test's
own run from the system tables.

The scratch schema's name is made here (``workflows_selftest_`` and 8 hex digits), checked
as an identifier and spliced like ``{schema}``; values always travel as ``?`` parameters.
Its statements skip the audit log: they touch no data of the system. Only ``deleteRun``
reaches the system tables.
"""
from __future__ import absolute_import, division, print_function

import uuid

from exchange.workflows.db import sql, tx

SCHEMA_PREFIX = "workflows_selftest_"
UNIQUE_CONSTRAINT = "selftest_items_pkey"
VALUE_COLUMNS = ("small", "big", "ratio", "flag", "label", "at_ms", "ref")

_CREATE = ("CREATE SCHEMA {schema}",
           """CREATE TABLE {schema}.items (
    id     integer CONSTRAINT """ + UNIQUE_CONSTRAINT + """ PRIMARY KEY,
    small  integer,
    big    bigint,
    ratio  double precision,
    flag   boolean,
    label  text,
    at_ms  bigint,
    ref    text,
    doc    jsonb,
    raw    json)""")
_DROP = "DROP SCHEMA IF EXISTS {schema} CASCADE"
_EXISTS = "SELECT count(*) FROM pg_namespace WHERE nspname = ?"
_INSERT = """INSERT INTO {schema}.items (id, small, big, ratio, flag, label, at_ms, ref)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)"""
# the bigint also as numeric: what sum() and other aggregates of bigints return
_SELECT = """SELECT small, big, ratio, flag, label, at_ms, ref, CAST(big AS numeric)
  FROM {schema}.items WHERE id = ?"""
_BIG = "SELECT big FROM {schema}.items WHERE id = ?"
_COUNT = "SELECT count(*) FROM {schema}.items WHERE id = ?"
_INSERT_JSON = """INSERT INTO {schema}.items (id, doc, raw)
VALUES (?, CAST(? AS jsonb), CAST(? AS json))"""
_SELECT_JSON = "SELECT CAST(doc AS text), CAST(raw AS text) FROM {schema}.items WHERE id = ?"

# Only a finished run of the self-test's own workflow, never one a thread may still be in
# (a cancelled run's thread lets go of it at its next step boundary).
_DELETE_RUN = """DELETE FROM {schema}.workflow_runs
 WHERE workflow_id = ? AND workflow_name = ?
   AND status IN ('SUCCESS', 'ERROR', 'CANCELLED', 'STOPPED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED')
   AND (status <> 'CANCELLED' OR executor_id IS NULL)"""


def newSchemaName():
    """A scratch schema name no other self-test uses."""
    return SCHEMA_PREFIX + uuid.uuid4().hex[:8]


def create(dbName, schema):
    """Create the scratch schema and its table, in one transaction."""
    def work(t):
        for statement in _CREATE:
            tx.update(dbName, sql.splice(statement, schema), [], t, skipAudit=True)
    tx.inTransaction(dbName, work)


def drop(dbName, schema):
    """Drop the scratch schema and everything in it (nothing when it is not there)."""
    tx.update(dbName, sql.splice(_DROP, schema), [], skipAudit=True)


def exists(dbName, schema):
    """Whether a schema of that name exists."""
    return tx.scalar(dbName, _EXISTS, [schema]) > 0


def insertRow(dbName, schema, rowId, values, t=None):
    """Insert one row of typed values (VALUE_COLUMNS, in order)."""
    tx.update(dbName, sql.splice(_INSERT, schema), [rowId] + list(values), t, skipAudit=True)


def readRow(dbName, schema, rowId):
    """The row's VALUE_COLUMNS and its bigint read as numeric, or None."""
    rows = tx.query(dbName, sql.splice(_SELECT, schema), [rowId])
    return rows[0] if rows else None


def readBig(dbName, schema, rowId):
    """The row's bigint through runScalarPrepQuery."""
    return tx.scalar(dbName, sql.splice(_BIG, schema), [rowId])


def count(dbName, schema, rowId, t=None):
    """How many rows of that id this connection (or transaction ``t``) sees."""
    return tx.scalar(dbName, sql.splice(_COUNT, schema), [rowId], t)


def insertJson(dbName, schema, rowId, jsonText):
    """Store one JSON text as jsonb and as json."""
    tx.update(dbName, sql.splice(_INSERT_JSON, schema), [rowId, jsonText, jsonText],
              skipAudit=True)


def readJson(dbName, schema, rowId):
    """[jsonb as text, json as text] of the row."""
    return tx.query(dbName, sql.splice(_SELECT_JSON, schema), [rowId])[0]


def deleteRun(dbName, workflowId, workflowName):
    """Delete a finished run of ``workflowName`` (its steps, prompts, messages, events and
    streams go by cascade; the journal stays); how many rows went."""
    return tx.update(dbName, sql.bind(_DELETE_RUN, dbName), [workflowId, workflowName])
