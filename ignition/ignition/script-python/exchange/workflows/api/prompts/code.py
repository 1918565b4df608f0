"""Operator prompts from the console: list the pending ones, read one, answer it.

An answer (engine.answers) is checked against the prompt's options, schema and roles (and
the configured ``prompt`` roles), recorded once with who gave it and when, and wakes the
waiting run. Every answer, accepted or refused, is journaled.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.api import envelope
from exchange.workflows.api.envelope import guarded
from exchange.workflows.db import prompts
from exchange.workflows import codec, codes, settings, validate
from exchange.workflows.engine import actors, answers

_PROMPT_KEYS = {"prompt_id": "promptId", "workflow_id": "workflowId",
                "step_position": "position", "message": "message", "options": "options",
                "response_schema": "schema", "roles": "roles", "status": "status",
                "expires_at_ms": "expiresAtMs", "response": "response",
                "answered_by": "answeredBy", "answer_comment": "comment",
                "answered_at_ms": "answeredAtMs", "created_at_ms": "createdAtMs",
                "workflow_name": "workflowName", "run_status": "runStatus"}
_JSON_COLUMNS = ("options", "response_schema", "roles", "response")


def _present(row):
    return dict((_PROMPT_KEYS[k], codec.decode(v) if k in _JSON_COLUMNS else v)
                for k, v in row.items())


@guarded
def listPrompts(workflowId=None, limit=100, dbName=None):
    """Pending prompts of active runs, oldest first (for the console's prompt list)."""
    validate.name("workflowId", workflowId, False)
    validate.wholeNumber("limit", limit, 1)
    rows = [_present(row) for row in prompts.listPending(dbName, workflowId, min(limit, 1000))]
    return envelope.ok(codes.PROMPTS_LISTED, u"%d pending prompt(s)" % len(rows),
                       {"prompts": rows, "count": len(rows)})


@guarded
def getPrompt(promptId, dbName=None):
    """One prompt, pending or not."""
    validate.name("promptId", promptId, maxLength=validate.MAX_PROMPT_ID_LENGTH)
    row = prompts.get(dbName, promptId)
    if row is None:
        return envelope.fail(codes.PROMPT_NOT_FOUND, u"no prompt %s" % promptId,
                             {"promptId": promptId})
    return envelope.ok(codes.PROMPT_FOUND, u"prompt %s is %s" % (promptId, row["status"]),
                       _present(row))


@guarded
def respondToPrompt(promptId, response, user=None, comment=None, session=None, roles=None,
                    dbName=None):
    """Answer a pending prompt; the waiting run resumes with the answer, ``user`` (the
    Perspective ``session``'s user when given) and ``comment``. Codes: PROMPT_ANSWERED,
    PROMPT_NOT_FOUND, PROMPT_ALREADY_ANSWERED, PROMPT_TIMED_OUT, PROMPT_CLOSED (its run
    ended), INVALID_RESPONSE (not one of the options / against the schema), NOT_AUTHORIZED
    (the prompt's roles, or the configured prompt roles)."""
    validate.name("promptId", promptId, maxLength=validate.MAX_PROMPT_ID_LENGTH)
    validate.text("comment", comment, 2000, required=False)
    accepted, code, message, data = answers.respond(settings.databaseName(dbName), promptId,
                                                    response, comment,
                                                    actors.Caller(user, session, roles))
    return (envelope.ok if accepted else envelope.fail)(code, message, data)
