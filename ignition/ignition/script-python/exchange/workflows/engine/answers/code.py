"""Answering an operator prompt: the outside end of engine.durable's ``prompt``.

An answer is checked against the prompt's options, schema and roles (and the configured
``prompt`` roles), recorded once with who gave it and when, and wakes the waiting run,
through the operator protocol (engine.operator). Every answer, accepted or refused, is
journaled.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import prompts, waits
from exchange.workflows.db.journal import JournalEntry
from exchange.workflows import codec, codes, statuses, vocabulary
from exchange.workflows.engine import actors, durable, enums, operator, schemas
from exchange.workflows.errors import NotAuthorized


def _refusal(row):
    """Why a prompt cannot be answered now (code, message), or None."""
    if row["status"] == statuses.PROMPT_ANSWERED:
        return codes.PROMPT_ALREADY_ANSWERED, u"prompt %s was already answered by %s" % (
            row["prompt_id"], row["answered_by"])
    if row["status"] == statuses.PROMPT_TIMED_OUT:
        return codes.PROMPT_TIMED_OUT, u"prompt %s timed out" % row["prompt_id"]
    if row["run_status"] in statuses.TERMINAL:
        return codes.PROMPT_CLOSED, u"the run of prompt %s has ended (%s)" % (row["prompt_id"],
                                                                         row["run_status"])
    return None


def _invalid(dbName, row, response):
    """Why ``response`` does not answer the prompt, or None. Options that name an enum
    ({"enum": name}) are its active version's enabled values now."""
    options = codec.decode(row["options"])
    if isinstance(options, dict):
        problem = enums.valueProblem(dbName, options["enum"], response)
        if problem:
            return problem
    elif options is not None and response not in options:
        return u"the response must be one of %s" % (options,)
    schema = codec.decode(row["response_schema"])
    if schema is not None:
        found = schemas.problems(response, schema)
        if found:
            return u"; ".join(found)
    return None


class Answer(operator.Action):
    """An answer by ``actor`` through the operator protocol: lock the prompt's wake
    channel, record the answer (only while the prompt is pending and unexpired), wake the
    run, journal. Whether the prompt is open is decided before the lock, from the prompt as
    read (``missing``, ``closed``); the answer's statement decides again under it."""

    def __init__(self, dbName, promptId, response, comment, actor):
        operator.Action.__init__(self, dbName, "prompt", JournalEntry(
            vocabulary.PROMPT_ANSWER, promptId=promptId), actor)
        self.promptId, self.response, self.comment = promptId, response, comment
        self.channel = durable.promptChannel(promptId)
        self.responseJson = self.row = self.message = None

    def unstorable(self):
        """INVALID_RESPONSE when the response cannot be stored as JSON, else None."""
        try:
            self.responseJson = codec.encode(self.response)
        except codec.NotSerializable as error:
            return codes.INVALID_RESPONSE, u"the response cannot be stored as JSON: %s" % (
                error.args[0])
        return None

    def missing(self):
        """Read the prompt (its run is what the answer acts on); PROMPT_NOT_FOUND, or None."""
        self.row = prompts.get(self.dbName, self.promptId)
        if self.row is None:
            return codes.PROMPT_NOT_FOUND, u"no prompt %s" % self.promptId
        self.fields = self.fields._replace(workflowId=self.row["workflow_id"])
        return None

    def closed(self):
        """Why the prompt as read takes no answer, or this one (code, message), or None."""
        problem = _refusal(self.row)
        if problem is None:
            invalid = _invalid(self.dbName, self.row, self.response)
            problem = (codes.INVALID_RESPONSE, invalid) if invalid else None
        return problem

    def lock(self, t):
        waits.lockChannel(self.dbName, self.channel, t)
        return self.row

    def decide(self, row):
        return "answer", codes.PROMPT_ANSWERED

    def transition(self, t, row, transition):
        return prompts.answer(self.dbName, self.promptId, self.responseJson, self.actor.name,
                              self.comment, t)

    def missed(self, t, row):  # answered, or expired, a moment ago
        code, self.message = _refusal(prompts.get(self.dbName, self.promptId, t)) or (
            codes.PROMPT_TIMED_OUT, u"prompt %s timed out" % self.promptId)
        return code

    def wake(self, t, row):
        return waits.wake(self.dbName, self.channel, t)

    def claims(self, outcome):
        return True

    def entry(self, outcome):
        return self.fields._replace(reason=self.comment) if outcome.accepted else self.fields

    def details(self, outcome):
        if outcome.accepted:
            return {"response": self.response}
        return {"message": self.message}

    def refusal(self, message, data):
        return self.fields, {"message": message}

    def answer(self, accepted, code, message, **extra):
        """(accepted, code, message, data): what respond returns."""
        return accepted, code, message, dict(extra, promptId=self.promptId,
                                             workflowId=self.fields.workflowId,
                                             user=self.actor.name)


def respond(dbName, promptId, response, comment, caller):
    """Answer a pending prompt as the caller (an actors.Caller); (accepted, code, message,
    data). The waiting run resumes with the answer, the actor's name and ``comment``."""
    actor = actors.resolve(caller)
    action = Answer(dbName, promptId, response, comment, actor)
    problem = action.unstorable() or action.missing()
    if problem is None:
        try:
            operator.authorize(actor, action, codec.decode(action.row["roles"]))
        except NotAuthorized as refused:  # (journaled)
            return action.answer(False, refused.code, refused.args[0])
        problem = action.closed()
    if problem is not None:
        operator.refuse(action, *problem)
        return action.answer(False, *problem)
    outcome = operator.perform(action)
    if not outcome.accepted:
        return action.answer(False, outcome.code, action.message)
    return action.answer(True, outcome.code, u"prompt %s answered by %s" % (
        promptId, actor.name), response=response, comment=comment)
