"""The audit journal: every operator command, prompt answer and maintenance action, with
its actor, time, reason and outcome (accepted or refused, and the code)."""
from __future__ import absolute_import, division, print_function

from exchange.workflows.api import envelope
from exchange.workflows.api.envelope import guarded
from exchange.workflows.db import journal
from exchange.workflows import codec, codes, validate

_KEYS = {"entry_id": "entryId", "at_ms": "atMs", "actor": "actor", "action": "action",
         "workflow_id": "workflowId", "prompt_id": "promptId", "queue_name": "queueName",
         "reason": "reason", "accepted": "accepted", "outcome": "outcome",
         "details": "details", "executor_id": "executorId"}


@guarded
def listJournal(workflowId=None, action=None, actor=None, sinceMs=None, limit=100,
                untilMs=None, dbName=None):
    """Journal entries, newest first; per run with ``workflowId``; from ``sinceMs`` and
    before ``untilMs``. ``action``: HOLD, RESUME, STOP, CANCEL, PROMPT_ANSWER,
    MAINTENANCE_ENTER, MAINTENANCE_EXIT, SWAP, SELF_TEST, and the console's DEAD_LETTER_REPLAY,
    DEAD_LETTER_PURGE, RETENTION, SCHEMA_UPGRADE."""
    validate.name("workflowId", workflowId, False)
    validate.name("action", action, False)
    validate.name("actor", actor, False)
    validate.wholeNumber("sinceMs", sinceMs, required=False)
    validate.wholeNumber("untilMs", untilMs, required=False)
    validate.wholeNumber("limit", limit, 1)
    rows = journal.listEntries(dbName, workflowId, action, actor, sinceMs, min(limit, 10000),
                               untilMs=untilMs)
    entries = [dict((_KEYS[k], codec.decode(v) if k == "details" else v) for k, v in row.items())
               for row in rows]
    return envelope.ok(codes.JOURNAL_LISTED, u"%d entr%s" % (len(entries),
                                                        u"y" if len(entries) == 1 else u"ies"),
                       {"entries": entries, "count": len(entries)})
