"""Durable operations inside a workflow: sleep, send/recv, events, streams, operator prompts.

Each is recorded in the step log at its position, so a recovered (or resumed) run gets the
same result without doing it again: a message sent once, a message received once, a sleep
that only sleeps what is left, a prompt that is asked once. A wait longer than
settings.SHORT_WAIT_MS releases its thread: the run becomes WAITING (db.waits) until whoever
brings what it waits for wakes it, or dispatch does at its timeout; the run is then claimed
again (by any executor) and replays up to the wait, which now finds its answer.
"""
from __future__ import absolute_import, division, print_function

import hashlib
from collections import namedtuple

from exchange.workflows.db import events, messages, prompts, runs, streams, \
    tx, waits
from exchange.workflows import codec, codes, compat, platform, settings, statuses, validate
from exchange.workflows.engine import boundary, context, dispatcher, faults, operator, \
    schemas
from exchange.workflows.errors import (InvalidArgument, NonDeterminismError,
                                       OwnershipLost, WorkflowSuspended)

_DONE, _WAIT, _SUSPENDED, _COMMAND, _LOST = range(5)


def messageChannel(workflowId, topic):
    return u"message:%s:%s" % (workflowId, topic)


def eventChannel(workflowId, key):
    return u"event:%s:%s" % (workflowId, key)


def promptChannel(promptId):
    return u"prompt:%s" % promptId


def _inWorkflow(what):
    """The running workflow's context; refused outside a workflow or inside a step."""
    ctx = context.current()
    if ctx is None:
        raise InvalidArgument(u"%s is called inside a workflow" % what, codes.NOT_IN_WORKFLOW)
    if ctx.inStep:
        raise InvalidArgument(u"%s is called in the workflow body, not inside a step (a step's "
                              u"body may run again; %s must happen once)" % (what, what),
                              codes.NOT_ALLOWED_IN_STEP)
    return ctx


inWorkflow = _inWorkflow  # (engine.children)


def _timeoutMs(what, seconds, default=None):
    if seconds is None:
        return default
    return int(validate.number(what, seconds, allowZero=True) * 1000)


def _json(what, value):
    try:
        return codec.encode(value)
    except codec.NotSerializable as error:
        raise InvalidArgument(u"%s cannot be stored as JSON: %s" % (what, error.args[0]),
                              codes.NOT_SERIALIZABLE)


def operation(ctx, name, perform):
    """Do ``perform(t, position)`` once at the next position (recorded with its result). A
    refusal of the engine's (InvalidArgument: a missing destination, a closed stream) is
    recorded too and raised again on replay, so the workflow takes the same branch."""
    def work():
        position, recorded = boundary.nextOperation(ctx)
        if recorded is not None:
            return _replayed(position, name, recorded)
        try:
            return boundary.recordAt(ctx, position, name, lambda t: perform(t, position))
        except InvalidArgument as refused:
            errorJson = codec.errorJson("InvalidArgument", compat.toText(refused.args[0]),
                                        code=refused.code)
            boundary.recordAt(ctx, position, name, lambda t: None, errorJson)
            raise
    return boundary.closing(ctx, work)


def _replayed(position, name, recorded):
    recordedName, status, outputJson, errorJson = recorded
    if recordedName != name:
        raise NonDeterminismError(position, recordedName, name)
    if status == statuses.ERROR:
        error = codec.decode(errorJson) or {}
        raise InvalidArgument(error.get("message"), error.get("code"))
    return codec.decode(outputJson)


def deadline(ctx, name, timeoutMs):
    """The wake time of a wait (database clock; None: none), recorded when the wait first
    began (one statement: boundary.recordWakeAt), with the step before it when its
    checkpoint is still kept (boundary.recordWakeAtAfter: a sleep after a step costs one
    statement less)."""
    def work():
        keeps = ctx.pendingStep is not None and not ctx.command
        position, recorded = boundary.nextOperation(ctx, flush=not keeps)
        if recorded is None and keeps:
            pending = ctx.takePendingStep()  # (None: the flusher wrote it meanwhile)
            wakeAtMs = boundary.AGAIN if pending is None else \
                boundary.recordWakeAtAfter(ctx, position, name, timeoutMs, pending)
            if wakeAtMs is not boundary.AGAIN:
                return wakeAtMs
            ctx.position -= 1  # nothing recorded there: taken again, the usual way
            position, recorded = boundary.nextOperation(ctx)
        if recorded is not None:
            return _replayed(position, name, recorded)["wakeAtMs"]
        return boundary.recordWakeAt(ctx, position, name, timeoutMs)
    return boundary.closing(ctx, work, flush=False)


def waitFor(ctx, name, channel, wakeAtMs, look, onTimeout, pollMs=None, alone=False):
    """Wait at the next position until ``look(t, position)`` finds what the run waits for,
    or ``wakeAtMs`` (database clock; None: no timeout) passes: then ``onTimeout(t)``. Either
    result is recorded in the transaction that found it. Short waits poll (every ``pollMs``;
    None: sleep until the wake time); longer ones suspend the run (the thread is released).
    A command that arrives meanwhile is applied here, at the wait's boundary. ``alone``: a
    sleep's wait (its look finds nothing and nobody brings anything to its channel), which
    first tries to suspend in one statement."""
    wait = _Wait(name, channel, wakeAtMs, look, onTimeout)

    def work():
        position, recorded = boundary.nextOperation(ctx)
        if recorded is not None:
            return _replayed(position, name, recorded)
        if alone and _suspendedAlone(ctx, channel, wakeAtMs):
            raise WorkflowSuspended(u"workflow %s waits on %s" % (ctx.workflowId, channel))
        while True:
            try:
                outcome, value = tx.persistently(lambda: tx.inTransaction(
                    ctx.dbName, lambda t: _look(ctx, t, position, wait)), u"durable wait")
            except boundary.AlreadyRecorded as landed:
                return landed.value
            except boundary.NotOurs:
                boundary.lost(ctx, position)
            if outcome == _DONE:
                return value
            if outcome == _SUSPENDED:
                raise WorkflowSuspended(u"workflow %s waits on %s" % (ctx.workflowId,
                                                                     channel))
            if outcome == _COMMAND:
                ctx.position -= 1  # nothing recorded there yet: the command's marker takes it
                boundary.applyPending(ctx)
                position, recorded = boundary.nextOperation(ctx)
                if recorded is not None:  # pragma: no cover - a live run records nothing ahead
                    return _replayed(position, name, recorded)
            elif outcome == _LOST:
                boundary.refresh(ctx)
                raise OwnershipLost(u"workflow %s is no longer ours" % ctx.workflowId)
            else:
                compat.sleepMs(max(1, value if pollMs is None else min(value, pollMs)))
    return boundary.closing(ctx, work)


def _suspendedAlone(ctx, channel, wakeAtMs):
    """A sleep's suspend in one statement (db.waits.suspendAlone), not the look's
    transaction (a validation, two locks, the suspend, the commit): True when the run now
    waits. False leaves the wait to the general look: a command is pending, the wake time
    is near, the run moved on, or the statement failed and the run is still running. A
    failed statement's run found WAITING was suspended by it (only its owner suspends it).
    A wake time near or past by the claim's clock estimate (a woken run's replay) goes to
    the general look at once, which records it or polls."""
    if wakeAtMs is None or wakeAtMs - ctx.databaseNowMs() <= settings.SHORT_WAIT_MS:
        return False
    try:
        took = dispatcher.suspendHandOver(ctx.fence, channel, wakeAtMs,
                                          settings.SHORT_WAIT_MS)
        if took is None:
            took = waits.suspendAlone(ctx.fence, channel, wakeAtMs, settings.SHORT_WAIT_MS)
        faults.point("wait.after_suspend")
        return took
    except compat.CATCHABLE as error:
        _suspendFailed(ctx, error)
        state = tx.persistently(lambda: runs.owner(ctx.dbName, ctx.workflowId),
                                u"status read")
        return state is not None and state.status == statuses.WAITING and \
            state.attempt == ctx.fence.attempt  # (a later attempt's wait is not ours)


_suspendFailures = set()  # kinds of failed one-statement suspend warned of (per interpreter)


def _suspendFailed(ctx, error):
    """A failed one-statement suspend costs its sleep a read and the look; one that fails
    every time costs every sleep that: each kind is a warning once, then a debug line."""
    kind, message = compat.describeError(error)
    platform.warnOncePerKind(platform.logger("exchange.workflows.durable"), _suspendFailures,
                             kind, u"workflow %s: the sleep's suspend failed (%s: %s); the "
                             u"run was read and the wait looked again"
                             % (ctx.workflowId, kind, message))


class _Wait(namedtuple("_Wait", "name channel wakeAtMs look onTimeout")):
    """What a wait waits for (waitFor's arguments): its name at its position, its wake
    channel, its wake time, how to look for its answer and what a timeout records."""

    __slots__ = ()


def _look(ctx, t, position, wait):
    """One look, in transaction ``t``: (outcome, value) of _DONE, _SUSPENDED, _COMMAND,
    _LOST or _WAIT (value: the ms left)."""
    channel, wakeAtMs = wait.channel, wait.wakeAtMs
    waits.lockChannel(ctx.dbName, channel, t)
    own = waits.lockOwn(ctx.fence, t)
    if own is None:
        return _LOST, None
    command, nowMs = own
    boundary.noteState(ctx, command)
    if ctx.command and not ctx.inHandler:
        return _COMMAND, None
    found, value = wait.look(t, position)
    if not found and boundary.deadlinePassed(wakeAtMs, nowMs):
        found, value = True, wait.onTimeout(t)
    if found:
        boundary.recordIn(ctx, t, position, wait.name, codec.encode(value))
        return _DONE, codec.roundTrip(value)[1]
    remaining = None if wakeAtMs is None else wakeAtMs - nowMs
    if remaining is None or remaining > settings.SHORT_WAIT_MS:
        waits.suspend(ctx.fence, channel, wakeAtMs, t)
        return _SUSPENDED, None
    return _WAIT, remaining


def sleep(seconds):
    """Sleep durably: the wake time is recorded first, so a recovered run sleeps only what
    is left. Longer than a second, the run releases its thread until then (dispatch wakes
    it); a command (HOLD, STOP) that arrives meanwhile is applied at once. Outside a
    workflow, or inside a step, a plain sleep."""
    ms = _timeoutMs("seconds", seconds, 0)
    ctx = context.current()
    if ctx is None or ctx.inStep:
        compat.sleepMs(ms)
        return
    wakeAtMs = deadline(ctx, "<sleep>", ms)
    waitFor(ctx, "<sleep.done>", u"sleep:%s" % ctx.workflowId, wakeAtMs,
            lambda t, position: (False, None), lambda t: True, alone=True)


def _topic(topic):
    if topic is None:
        return u""
    validate.name("topic", topic)
    return topic


class _Delivery(operator.Action):
    """A message through the operator protocol (no actor, not journaled): lock the run's
    wake channel, find the run, store the message once (its idempotency key fences it),
    wake the run if it waits for that topic."""

    def __init__(self, dbName, workflowId, message):
        operator.Action.__init__(self, dbName)
        self.workflowId, self.message = workflowId, message
        self.channel = messageChannel(workflowId, message.topic)
        self.messageId = None

    def lock(self, t):
        waits.lockChannel(self.dbName, self.channel, t)
        return runs.owner(self.dbName, self.workflowId, t)

    def decide(self, state):
        if state is None:
            raise InvalidArgument(u"no workflow %s to send to" % self.workflowId,
                                  codes.WORKFLOW_NOT_FOUND, {"workflowId": self.workflowId})
        return "send", codes.MESSAGE_SENT

    def transition(self, t, state, transition):
        self.messageId = messages.send(self.dbName, self.workflowId, self.message, t)
        return self.messageId is not None

    def missed(self, t, state):
        return codes.MESSAGE_DUPLICATE

    def wake(self, t, state):
        return waits.wake(self.dbName, self.channel, t)


def deliver(dbName, workflowId, message, t):
    """Store a message (a db.messages.Message) for a run and wake it if it waits for that
    topic, in transaction t."""
    action = _Delivery(dbName, workflowId, message)
    outcome = operator.within(action, t)
    return {"messageId": action.messageId, "sent": outcome.accepted,
            "destinationStatus": outcome.state.status, "woken": outcome.woken}


def _senderKey(workflowId, position):
    """The idempotency key of a send from a workflow: its run and position (hashed when a
    long workflow id would make it longer than a key may be)."""
    key = u"%s:%d" % (workflowId, position)
    if len(key) <= validate.MAX_NAME_LENGTH:
        return key
    return u"sha1:%s:%d" % (hashlib.sha1(workflowId.encode("utf-8")).hexdigest(), position)


def send(workflowId, message, topic=None, idempotencyKey=None, dbName=None):
    """Send ``message`` (JSON) to run ``workflowId`` on ``topic``. From a workflow the send is
    recorded, so a recovered sender never sends twice; elsewhere ``idempotencyKey`` makes a
    repeated call send once. Returns {messageId, sent, destinationStatus}."""
    validate.name("workflowId", workflowId)
    topic = _topic(topic)
    validate.name("idempotencyKey", idempotencyKey, False)
    bodyJson = _json("message", message)
    ctx = context.current()
    if ctx is not None and not ctx.inStep:
        result = operation(ctx, "<send>", lambda t, position: deliver(
            ctx.dbName, workflowId, messages.Message(
                topic, bodyJson, idempotencyKey or _senderKey(ctx.workflowId, position),
                ctx.workflowId), t))
        dbName = ctx.dbName
    else:
        sender = None
        if ctx is not None:  # inside a step: the run's connection, not recorded
            sender, dbName = ctx.workflowId, dbName or ctx.dbName
        record = messages.Message(topic, bodyJson, idempotencyKey, sender)
        result = tx.inTransaction(dbName, lambda t: deliver(dbName, workflowId, record, t))
    operator.claimReleased(dbName, result.get("woken"))
    return result


def recv(topic=None, timeoutSeconds=settings.DEFAULT_WAIT_SECONDS):
    """Receive the oldest unread message on ``topic`` (FIFO), waiting up to
    ``timeoutSeconds``; None on timeout. Recorded: a recovered run gets the same message, and
    its timeout counts from the first call."""
    ctx = _inWorkflow("recv")
    topic = _topic(topic)
    wakeAtMs = deadline(ctx, "<recv.deadline>",
                        _timeoutMs("timeoutSeconds", timeoutSeconds,
                                   settings.DEFAULT_WAIT_SECONDS * 1000))

    def look(t, position):
        row = messages.consume(ctx.dbName, ctx.workflowId, topic, position, t)
        return (True, codec.decode(row[0])) if row is not None else (False, None)
    return waitFor(ctx, "<recv>", messageChannel(ctx.workflowId, topic), wakeAtMs, look,
                   lambda t: None)


class _Publication(operator.Action):
    """An event through the operator protocol (no actor, not journaled): lock its wake
    channel, store the value (its version + 1), wake the runs waiting for it."""

    def __init__(self, dbName, workflowId, key, valueJson):
        operator.Action.__init__(self, dbName)
        self.workflowId, self.key, self.valueJson = workflowId, key, valueJson
        self.channel = eventChannel(workflowId, key)
        self.version = None
        self.position = None  # the run's position that writes it (a fork copies by it)

    def lock(self, t):
        waits.lockChannel(self.dbName, self.channel, t)

    def decide(self, state):
        return "publish", None  # (no code: setEvent answers with the version)

    def transition(self, t, state, transition):
        self.version = events.setEvent(self.dbName, self.workflowId, self.key,
                                       self.valueJson, t, self.position)
        return True

    def wake(self, t, state):
        return waits.wake(self.dbName, self.channel, t)


def _publish(ctx, key, valueJson, t, position):
    """Publish an event of the run of ``ctx`` at ``position`` in transaction t; {version,
    woken}."""
    action = _Publication(ctx.dbName, ctx.workflowId, key, valueJson)
    action.position = position
    outcome = operator.within(action, t)
    return {"version": action.version, "woken": outcome.woken}


def _once(what, name, perform):
    """``perform(ctx, t, position)`` at the next position of the workflow body (recorded:
    once), or, inside a step, directly in its own transaction (a retried step does it
    again; the position is the step's)."""
    ctx = context.current()
    if ctx is None:
        raise InvalidArgument(u"%s is called inside a workflow" % what, codes.NOT_IN_WORKFLOW)
    if ctx.inStep:
        return ctx, tx.inTransaction(ctx.dbName, lambda t: perform(ctx, t, ctx.position))
    return ctx, operation(ctx, name, lambda t, p: perform(ctx, t, p))


def setEvent(key, value):
    """Publish ``value`` under ``key`` for this run (the latest value wins); waiting
    getEvent calls are woken. Recorded in the workflow body (once); inside a step it is
    written directly (a retried step writes it again). Returns the value's version."""
    validate.name("key", key)
    valueJson = _json("value", value)
    ctx, result = _once("setEvent", "<setEvent>",
                        lambda ctx, t, p: _publish(ctx, key, valueJson, t, p))
    operator.claimReleased(ctx.dbName, result.get("woken"))
    return result["version"]


def getEvent(workflowId, key, timeoutSeconds=settings.DEFAULT_WAIT_SECONDS, dbName=None):
    """The value run ``workflowId`` published under ``key``, waiting up to
    ``timeoutSeconds`` for it; None on timeout. Recorded in a workflow body."""
    validate.name("workflowId", workflowId)
    validate.name("key", key)
    timeoutMs = _timeoutMs("timeoutSeconds", timeoutSeconds, settings.DEFAULT_WAIT_SECONDS * 1000)
    ctx = context.current()
    if ctx is None or ctx.inStep:
        found, value, _ = readEvent(dbName if ctx is None else ctx.dbName, workflowId, key,
                                    timeoutMs)
        return value if found else None
    wakeAtMs = deadline(ctx, "<getEvent.deadline>", timeoutMs)

    def look(t, position):
        row = events.get(ctx.dbName, workflowId, key, t)
        return (True, codec.decode(row[0])) if row is not None else (False, None)
    return waitFor(ctx, "<getEvent>", eventChannel(workflowId, key), wakeAtMs, look,
                   lambda t: None)


def readEvent(dbName, workflowId, key, timeoutMs):
    """Outside a workflow: poll for an event up to ``timeoutMs``; (found, value, version)."""
    endMs = compat.monotonicMs() + timeoutMs
    pause = 20
    while True:
        row = events.get(dbName, workflowId, key)
        if row is not None:
            return True, codec.decode(row[0]), int(row[1])
        left = endMs - compat.monotonicMs()
        if left <= 0:
            return False, None, None
        compat.sleepMs(min(pause, left))
        pause = min(500, pause * 2)


def _append(ctx, key, valueJson, closing, t, position):
    offset = streams.append(ctx.dbName, ctx.workflowId, key, valueJson, closing, t,
                            position=position)
    if offset is None and not closing:
        raise InvalidArgument(u"stream %r of workflow %s is closed" % (key, ctx.workflowId),
                              codes.STREAM_CLOSED)
    return {"offset": offset}


def writeStream(key, value):
    """Append ``value`` to this run's stream ``key`` (offsets 0, 1, ...); exactly once from
    the workflow body, at least once from a step. Returns its offset."""
    validate.name("key", key)
    valueJson = _json("value", value)
    return _once("writeStream", "<writeStream>",
                 lambda ctx, t, p: _append(ctx, key, valueJson, False, t, p))[1]["offset"]


def closeStream(key):
    """End this run's stream ``key``: readers stop after its last value (closing twice is
    harmless). Returns the closing offset (None when it was closed already)."""
    validate.name("key", key)
    return _once("closeStream", "<closeStream>",
                 lambda ctx, t, p: _append(ctx, key, None, True, t, p))[1]["offset"]


def readStream(dbName, workflowId, key, fromOffset, limit, timeoutMs):
    """Values of a stream from ``fromOffset``, waiting up to ``timeoutMs`` for at least one;
    (values, nextOffset, closed). Closed: the stream was closed, or its writer ended and every
    value it wrote has been read."""
    endMs = compat.monotonicMs() + timeoutMs
    pause = 20
    while True:
        state = runs.owner(dbName, workflowId)  # before the read: a writer that had ended
        if state is None:                       # then wrote everything we read next
            raise InvalidArgument(u"no workflow %s" % workflowId, codes.WORKFLOW_NOT_FOUND,
                                  {"workflowId": workflowId})
        rows = streams.read(dbName, workflowId, key, fromOffset, limit)
        values, nextOffset, closed = [], fromOffset, False
        for offset, valueJson, isClose in rows:
            if isClose:
                closed = True
                break
            values.append(codec.decode(valueJson))
            nextOffset = int(offset) + 1
        if not closed and len(rows) < limit and state.status in statuses.TERMINAL:
            closed = True
        left = endMs - compat.monotonicMs()
        if values or closed or left <= 0:
            return values, nextOffset, closed
        compat.sleepMs(min(pause, left))
        pause = min(500, pause * 2)


def _promptResult(row):
    answered = row["status"] == statuses.PROMPT_ANSWERED
    return {"promptId": row["prompt_id"], "status": row["status"], "timedOut": not answered,
            "response": codec.decode(row["response"]) if answered else None,
            "user": row["answered_by"], "comment": row["answer_comment"],
            "answeredAtMs": row["answered_at_ms"]}


def prompt(message, options=None, schema=None, timeoutSeconds=None, roles=None, enum=None):
    """Ask the operators and wait (without a thread) for the answer: a dict with
    ``status`` ("ANSWERED" or "TIMED_OUT"), ``response``, ``user``, ``comment``,
    ``answeredAtMs``, ``timedOut`` and ``promptId``. ``options``: the allowed responses;
    ``schema``: a JSON schema the response must satisfy; ``roles``: who may answer;
    ``timeoutSeconds``: after that the prompt times out (None: it waits for ever).
    ``enum``: the name of an enum (api.enums) instead of ``options``: the answer must be
    one of its active version's enabled values when it arrives."""
    ctx = _inWorkflow("prompt")
    validate.text("message", message, 4000)
    if options is not None and (not isinstance(options, (list, tuple)) or not options):
        raise InvalidArgument(u"options must be a non-empty list of allowed responses")
    if validate.name("enum", enum, False) is not None:
        if options is not None:
            raise InvalidArgument(u"a prompt takes options or an enum, not both")
        options = {"enum": enum}
    if schema is not None:
        schemas.check(schema)
    if roles is not None:
        roles = list(roles) if isinstance(roles, (list, tuple)) else [roles]
        for role in roles:
            validate.name("role", role)
    timeoutMs = _timeoutMs("timeoutSeconds", timeoutSeconds)
    optionsJson = None if options is None else _json(
        "options", options if isinstance(options, dict) else list(options))
    schemaJson = None if schema is None else _json("schema", schema)
    rolesJson = None if roles is None else _json("roles", roles)
    question = prompts.Question(message, optionsJson, schemaJson, rolesJson, timeoutMs)

    def create(t, position):
        promptId = u"%s:%d" % (ctx.workflowId, position)  # (validate.MAX_PROMPT_ID_LENGTH)
        prompts.create(ctx.dbName, promptId, ctx.workflowId, position, question, t)
        return {"promptId": promptId,
                "expiresAtMs": prompts.get(ctx.dbName, promptId, t)["expires_at_ms"]}
    created = operation(ctx, "<prompt>", create)
    promptId = created["promptId"]

    def look(t, position):
        row = prompts.get(ctx.dbName, promptId, t)
        answered = row["status"] == statuses.PROMPT_ANSWERED
        return (True, _promptResult(row)) if answered else (False, None)

    def onTimeout(t):
        prompts.expire(ctx.dbName, promptId, t)
        return _promptResult(prompts.get(ctx.dbName, promptId, t))
    return waitFor(ctx, "<prompt.answer>", promptChannel(promptId), created["expiresAtMs"],
                   look, onTimeout)
