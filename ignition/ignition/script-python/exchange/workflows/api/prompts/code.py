"""Operator prompts from the console: list the pending ones, read one, answer it.

An answer is checked against the prompt's options, schema and roles (and the configured
``prompt`` roles), recorded once with who gave it and when, and wakes the waiting run.
Every answer, accepted or refused, is journaled.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.api import envelope
from exchange.workflows.api.envelope import guarded
from exchange.workflows.db import journal, prompts, tx, waits
from exchange.workflows import codec, compat, settings, statuses, validate
from exchange.workflows.engine import actors, dispatcher, durable, kernel, schemas
from exchange.workflows.errors import NotAuthorized

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
    return envelope.ok("PROMPTS_LISTED", u"%d pending prompt(s)" % len(rows),
                       {"prompts": rows, "count": len(rows)})


@guarded
def getPrompt(promptId, dbName=None):
    """One prompt, pending or not."""
    validate.name("promptId", promptId, maxLength=validate.MAX_PROMPT_ID_LENGTH)
    row = prompts.get(dbName, promptId)
    if row is None:
        return envelope.fail("PROMPT_NOT_FOUND", u"no prompt %s" % promptId,
                             {"promptId": promptId})
    return envelope.ok("PROMPT_FOUND", u"prompt %s is %s" % (promptId, row["status"]),
                       _present(row))


def _refusal(row):
    """Why a prompt cannot be answered now (code, message), or None."""
    if row["status"] == "ANSWERED":
        return "PROMPT_ALREADY_ANSWERED", u"prompt %s was already answered by %s" % (
            row["prompt_id"], row["answered_by"])
    if row["status"] == "TIMED_OUT":
        return "PROMPT_TIMED_OUT", u"prompt %s timed out" % row["prompt_id"]
    if row["run_status"] in statuses.TERMINAL:
        return "PROMPT_CLOSED", u"the run of prompt %s has ended (%s)" % (row["prompt_id"],
                                                                         row["run_status"])
    return None


def _invalid(row, response):
    """Why ``response`` does not answer the prompt, or None."""
    options = codec.decode(row["options"])
    if options is not None and response not in options:
        return u"the response must be one of %s" % (options,)
    schema = codec.decode(row["response_schema"])
    if schema is not None:
        found = schemas.problems(response, schema)
        if found:
            return u"; ".join(found)
    return None


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
    dbName = settings.databaseName(dbName)
    actor = actors.resolve(user, session, roles)
    try:
        responseJson = codec.encode(response)
    except codec.NotSerializable as error:
        return _refused(dbName, actor, promptId, None, "INVALID_RESPONSE",
                        u"the response cannot be stored as JSON: %s" % error.args[0])
    row = prompts.get(dbName, promptId)
    if row is None:
        return _refused(dbName, actor, promptId, None, "PROMPT_NOT_FOUND",
                        u"no prompt %s" % promptId)
    try:
        actors.authorize(actor, "prompt", codec.decode(row["roles"]))
    except NotAuthorized as refused:
        return _refused(dbName, actor, promptId, row["workflow_id"], refused.code,
                        refused.args[0])
    problem = _refusal(row)
    if problem is None:
        invalid = _invalid(row, response)
        problem = ("INVALID_RESPONSE", invalid) if invalid else None
    if problem is not None:
        return _refused(dbName, actor, promptId, row["workflow_id"], *problem)

    def work(t):
        channel = durable.promptChannel(promptId)
        waits.lockChannel(dbName, channel, t)
        if not prompts.answer(dbName, promptId, responseJson, actor.name, comment, t):
            return None
        waits.wake(dbName, channel, t)
        journal.record(dbName, _entry(actor, promptId, row["workflow_id"], comment,
                                      "PROMPT_ANSWERED", {"response": response}), t)
        return True
    if not tx.inTransaction(dbName, work):  # answered, or expired, a moment ago
        latest = prompts.get(dbName, promptId)
        code, message = _refusal(latest) or ("PROMPT_TIMED_OUT",
                                             u"prompt %s timed out" % promptId)
        return _refused(dbName, actor, promptId, row["workflow_id"], code, message)
    dispatcher.claimable(dbName)
    return envelope.ok("PROMPT_ANSWERED", u"prompt %s answered by %s" % (promptId, actor.name),
                       {"promptId": promptId, "workflowId": row["workflow_id"],
                        "user": actor.name, "response": response, "comment": comment})


def _entry(actor, promptId, workflowId, reason, outcome, details):
    """The journal entry of an answer (accepted when it answered the prompt)."""
    return {"actor": actor.name, "action": "PROMPT_ANSWER", "workflow_id": workflowId,
            "prompt_id": promptId, "reason": reason,
            "accepted": outcome == "PROMPT_ANSWERED", "outcome": outcome,
            "details": codec.encode(details), "executor_id": kernel.getKernel().executorId}


def _refused(dbName, actor, promptId, workflowId, code, message):
    try:
        journal.record(dbName, _entry(actor, promptId, workflowId, None, code,
                                      {"message": message}))
    except compat.CATCHABLE:  # the refusal stands even when the journal is unreachable
        pass
    return envelope.fail(code, message, {"promptId": promptId, "workflowId": workflowId,
                                         "user": actor.name})
