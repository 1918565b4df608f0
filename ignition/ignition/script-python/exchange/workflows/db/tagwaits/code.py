"""The statement of the tag-wait re-check: which runs wait on a tag, and for what.

A run waiting on a tag (engine.plant.waitForTag) is WAITING on a channel ``tag:...`` and
recorded what it waits for as its latest ``<waitForTag.spec>`` operation; no table of its own.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import sql, tx

SPEC_NAME = "<waitForTag.spec>"

# (the status test is workflow_runs_waiting_idx's predicate)
_WAITING = """SELECT DISTINCT ON (r.workflow_id) r.workflow_id, r.waiting_for, s.step_position,
       s.output::text
  FROM {schema}.workflow_runs r
  JOIN {schema}.step_outputs s ON s.workflow_id = r.workflow_id AND s.step_name = ?
 WHERE (r.status = 'WAITING') IS TRUE AND left(r.waiting_for, 4) = 'tag:'
 ORDER BY r.workflow_id, s.step_position DESC"""


def waiting(dbName):
    """[(workflowId, channel, specPosition, specJson)] of the runs waiting on a tag."""
    return [tuple(row) for row in tx.query(dbName, sql.bind(_WAITING, dbName), [SPEC_NAME])]
