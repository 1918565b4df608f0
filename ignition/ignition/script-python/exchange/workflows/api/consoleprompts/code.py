"""The console's Prompts page: the inbox of pending prompts the session's user may answer
(by the prompt's roles and the configured ``prompt`` roles, as engine.answers checks them),
each with the form its schema asks for; answering one; the answered history.

Views call these and read ``result["data"]``.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.api import consoleforms, envelope, prompts
from exchange.workflows.api.consolecommon import colourOf, options, statusCell
from exchange.workflows.api.envelope import dataOf, guarded
from exchange.workflows.db import consoleruns as statements
from exchange.workflows import codec, codes, validate
from exchange.workflows.engine import actors, enums
from exchange.workflows.errors import NotAuthorized

INBOX_LIMIT = 500


def _mayAnswer(actor, promptRoles):
    try:
        actors.authorize(actor, "prompt", promptRoles)
        return True
    except NotAuthorized:
        return False


def formOf(schema):
    """The fields a prompt's JSON schema asks for: a field per property of an object schema
    (``required`` as the schema says), one unnamed field for any other schema, none
    without a schema (the prompt's options are the answer then)."""
    if not isinstance(schema, dict):
        return []
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return [{"name": None, "type": schema.get("type"), "required": True,
                 "enum": schema.get("enum")}]
    required = schema.get("required") or []
    return [{"name": name, "type": spec.get("type"), "required": name in required,
             "enum": spec.get("enum")} for name, spec in sorted(properties.items())]


def choicesOf(prompt, dbName):
    """A prompt's answers as its dropdown shows them ({label, value}): its options, or, for
    options that name an enum ({"enum": name}), the enum's enabled options now."""
    named = prompt["options"]
    if isinstance(named, dict) and named.get("enum"):
        return enums.enabledOptions(dbName, named["enum"])
    return options(named or [])


def _inboxRow(prompt, dbName):
    form = formOf(prompt["schema"])
    choices = choicesOf(prompt, dbName)
    return {"promptId": prompt["promptId"], "workflowId": prompt["workflowId"],
            "workflowName": prompt["workflowName"], "message": prompt["message"],
            "options": [choice["value"] for choice in choices], "choices": choices,
            "form": form,
            "instances": consoleforms.instances(form),
            "createdMs": prompt["createdAtMs"], "expiresMs": prompt["expiresAtMs"]}


@guarded
def inbox(session=None, user=None, roles=None, dbName=None):
    """The pending prompts (of active runs, oldest first) the session's user may answer,
    each with its ``options`` (an enum's: its enabled values now), their dropdown
    ``choices`` ({label, value}), its ``form`` and the form's repeater ``instances``
    (api.consoleforms). Codes: PROMPT_INBOX."""
    actor = actors.resolve(actors.Caller(user, session, roles))
    pending = dataOf(prompts.listPrompts(limit=INBOX_LIMIT, dbName=dbName))["prompts"]
    rows = [_inboxRow(p, dbName) for p in pending if _mayAnswer(actor, p["roles"])]
    return envelope.ok(codes.PROMPT_INBOX, u"%d prompt(s) for %s" % (len(rows), actor.name),
                       {"rows": rows, "user": actor.name})


@guarded
def answer(promptId, response, comment=None, session=None, user=None, roles=None,
           dbName=None):
    """Answer a prompt from the inbox as the session's user: api.prompts.respondToPrompt
    (its envelope and codes)."""
    return prompts.respondToPrompt(promptId, response, user=user, comment=comment,
                                   session=session, roles=roles, dbName=dbName)


def promptRow(row):
    """A prompt as the console's tables show it (a db.consoleruns prompt row)."""
    return {"promptId": row["prompt_id"], "workflowId": row["workflow_id"],
            "workflowName": row["workflow_name"], "position": row["step_position"],
            "message": row["message"], "status": row["status"],
            "colour": colourOf(row["status"]), "statusCell": statusCell(row["status"]),
            "answeredBy": row["answered_by"],
            "response": codec.decode(row["response"]), "comment": row["answer_comment"],
            "answeredMs": row["answered_at_ms"], "createdMs": row["created_at_ms"],
            "expiresMs": row["expires_at_ms"]}


@guarded
def history(limit=50, dbName=None):
    """Prompts answered or timed out, the latest first. Codes: PROMPT_HISTORY."""
    validate.wholeNumber("limit", limit, 1)
    rows = [promptRow(row) for row in statements.promptHistory(dbName, min(limit, 1000))]
    return envelope.ok(codes.PROMPT_HISTORY, u"%d prompt(s)" % len(rows), {"rows": rows})
