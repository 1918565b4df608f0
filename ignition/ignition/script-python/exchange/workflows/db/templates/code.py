"""Every statement on ``templates``, ``template_versions`` and ``template_runs``: parameter
templates of one workflow, versioned (db.catalog's shared statements), and the template
version and overrides a run started with."""
from __future__ import absolute_import, division, print_function

from collections import namedtuple

from exchange.workflows.db import catalog, sql, tx

CATALOG = catalog.Catalog("templates", "template_name", "template_versions",
                          ("input_values", "form_layout"))

_CREATE = """INSERT INTO {schema}.templates (template_name, workflow_name, created_by)
VALUES (?, ?, ?) ON CONFLICT (template_name) DO NOTHING"""
_WORKFLOW = "SELECT workflow_name FROM {schema}.templates WHERE template_name = ?"
_RECORD_RUN = """INSERT INTO {schema}.template_runs
    (workflow_id, template_name, template_version, overrides, started_by)
VALUES (?, ?, ?, CAST(? AS jsonb), ?)"""
_RUN = """SELECT template_name, template_version, overrides::text, started_by
  FROM {schema}.template_runs WHERE workflow_id = ?"""
_ACTIVE_RUNS = """SELECT count(*) FROM {schema}.template_runs t
  JOIN {schema}.workflow_runs r ON r.workflow_id = t.workflow_id
 WHERE t.template_name = ?
   AND r.status IN ('DELAYED', 'ENQUEUED', 'PENDING', 'RUNNING', 'WAITING', 'HELD')"""


def create(dbName, templateName, workflowName, createdBy, t):
    """Create the name's row (for ``workflowName``) unless it exists."""
    tx.update(dbName, sql.bind(_CREATE, dbName), [templateName, workflowName, createdBy], t)


def workflowOf(dbName, templateName, t=None):
    """The workflow a template is for, or None when there is no such template."""
    rows = tx.query(dbName, sql.bind(_WORKFLOW, dbName), [templateName], t)
    return rows[0][0] if rows else None


class RunTemplate(namedtuple("RunTemplate", "templateName version overridesJson startedBy")):
    """What a run started with: the template and version, the overrides (JSON), and who
    started it."""

    __slots__ = ()


def recordRun(dbName, workflowId, started, t):
    """Record which template version and overrides (a RunTemplate) a new run started with."""
    tx.update(dbName, sql.bind(_RECORD_RUN, dbName), [workflowId] + list(started), t)


def runTemplate(dbName, workflowId):
    """The RunTemplate of a run, or None (not started from a template)."""
    rows = tx.query(dbName, sql.bind(_RUN, dbName), [workflowId])
    return RunTemplate(*rows[0]) if rows else None


def activeRuns(dbName, templateName, t=None):
    """How many active runs were started from the template."""
    return tx.query(dbName, sql.bind(_ACTIVE_RUNS, dbName), [templateName], t)[0][0]
