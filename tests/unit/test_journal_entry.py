"""The journal's entry (exchange.workflows.db.journal): fields by name, so a misspelt one
fails instead of journaling NULL, and each field written to its own column. No database:
the statement's parameters are read where they are handed to it."""
from __future__ import absolute_import, division, print_function

import re

import pytest

from exchange.workflows.db import journal, sql, tx
from exchange.workflows.db.journal import Decision, JournalEntry


def test_an_entry_names_only_what_it_is_about_and_the_rest_is_none():
    entry = JournalEntry("HOLD", workflowId="wf-1", reason="why")
    assert (entry.action, entry.workflowId, entry.promptId, entry.queueName, entry.reason) == \
        ("HOLD", "wf-1", None, None, "why")


def test_a_misspelt_field_fails():
    with pytest.raises(TypeError):
        JournalEntry("HOLD", workflow_id="wf-1")
    with pytest.raises(ValueError):
        JournalEntry("PROMPT_ANSWER")._replace(workflow_id="wf-1")
    with pytest.raises(AttributeError):
        JournalEntry("HOLD").workflow_id


def test_each_field_is_written_to_its_column(monkeypatch):
    written = []
    monkeypatch.setattr(sql, "bind", lambda template, dbName=None: template)
    monkeypatch.setattr(tx, "update", lambda dbName, statement, args, t=None: written.append(
        (statement, args)))
    journal.record("db", JournalEntry("MAINTENANCE_ENTER", workflowId="wf", promptId="p",
                                      queueName="q", reason="why"),
                   Decision("alice", 1, "MAINTENANCE_ENTERED", "{}", "executor-1"))
    [(statement, args)] = written
    columns = re.search(r"\(([^)]*)\)\s*VALUES", statement).group(1).split(",")
    assert dict(zip([column.strip() for column in columns], args)) == {
        "actor": "alice", "action": "MAINTENANCE_ENTER", "workflow_id": "wf",
        "prompt_id": "p", "queue_name": "q", "reason": "why", "accepted": True,
        "outcome": "MAINTENANCE_ENTERED", "details": "{}", "executor_id": "executor-1"}
