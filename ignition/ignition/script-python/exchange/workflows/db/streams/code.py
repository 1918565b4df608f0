"""Every statement on ``streams``: append (or close) and read a run's ordered streams.

Only the run's owner appends, in the transaction of the checkpoint that records the
append, so offsets are dense (0, 1, ...) and no value is appended twice.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import sql, tx

_APPEND = """INSERT INTO {schema}.streams
    (workflow_id, stream_key, stream_offset, value, closed, step_position)
SELECT ?, ?, COALESCE((SELECT max(stream_offset) + 1 FROM {schema}.streams
                        WHERE workflow_id = ? AND stream_key = ?), 0),
       CAST(? AS json), ?, CAST(? AS integer)
 WHERE NOT EXISTS (SELECT 1 FROM {schema}.streams
                    WHERE workflow_id = ? AND stream_key = ? AND closed)
RETURNING stream_offset"""

_READ = """SELECT stream_offset, value::text, closed FROM {schema}.streams
 WHERE workflow_id = ? AND stream_key = ? AND stream_offset >= ?
 ORDER BY stream_offset LIMIT ?"""


def append(dbName, workflowId, key, valueJson, closing, t, position=None):
    """Append a value (or, ``closing``, the end) at step ``position`` of the run (a fork
    copies entries written before its fork point); its offset, or None when already
    closed."""
    rows = tx.query(dbName, sql.bind(_APPEND, dbName),
                    [workflowId, key, workflowId, key, valueJson, bool(closing), position,
                     workflowId, key], t)
    return int(rows[0][0]) if rows else None


def read(dbName, workflowId, key, fromOffset, limit):
    """Entries from ``fromOffset`` on, in order: (offset, valueJson, closed) rows."""
    return [tuple(row) for row in tx.query(dbName, sql.bind(_READ, dbName),
                                           [workflowId, key, fromOffset, limit])]
