"""The calls of buttons, tag scripts, the gateway timer and the console.

Start work durably (``enqueue``, alias ``start``) or from a tag event without I/O
(``enqueueInMemory``), run the dispatch cycle (``dispatch``), read runs and their steps,
send operator commands, cancel, resume, and move the start of a delayed run
(``changeDelay``). Every call returns an envelope ``{ok, code, message, data}``; nothing is
written when a call is refused.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.api import envelope
from exchange.workflows.api.envelope import guarded
from exchange.workflows.db import runs, steps as stepLog
from exchange.workflows import codec, codes, compat, platform, settings, statuses, validate, \
    vocabulary
from exchange.workflows.engine import actors, cascade as family, commands, delays, \
    dispatcher, forks, lookout, memoryqueue, registry, requests
from exchange.workflows.errors import InvalidArgument

_RUN_KEYS = {"workflow_id": "workflowId", "workflow_name": "workflowName", "status": "status",
             "queue_name": "queueName", "priority": "priority", "partition_key": "partitionKey",
             "deduplication_id": "deduplicationId", "inputs": "inputs", "output": "output",
             "error": "error", "executor_id": "executorId", "attempts": "attempts",
             "timeout_ms": "timeoutMs", "deadline_ms": "deadlineMs",
             "created_at_ms": "createdAtMs", "updated_at_ms": "updatedAtMs",
             "claimed_at_ms": "claimedAtMs", "started_at_ms": "startedAtMs",
             "completed_at_ms": "completedAtMs", "run_at_ms": "runAtMs",
             "recovery_attempts": "recoveryAttempts",
             "max_recovery_attempts": "maxRecoveryAttempts",
             "pending_command": "pendingCommand", "waiting_for": "waitingFor",
             "executor_state": "executorState",
             "executor_heartbeat_age_ms": "executorHeartbeatAgeMs",
             "parent_workflow_id": "parentWorkflowId",
             "app_version": "appVersion", "forked_from": "forkedFrom",
             "forked_at_step": "forkedAtStep"}
_STEP_KEYS = {"step_position": "position", "step_name": "name", "status": "status",
              "output": "output", "error": "error", "attempts": "attempts",
              "executor_id": "executorId", "run_attempt": "runAttempt",
              "started_at_ms": "startedAtMs",
              "completed_at_ms": "completedAtMs"}


Request = requests.Request  # the validated request, at its old address


@guarded
def enqueue(workflowName, inputs=None, queueName=None, partitionKey=None, priority=0,
            deduplicationId=None, workflowId=None, timeoutSeconds=None, dbName=None,
            delaySeconds=None, deduplicationPolicy=None):
    """Start a workflow durably: one INSERT, then (when this executor has room) its claim
    on the caller's thread, so it starts within milliseconds.

    ``priority``: lower runs first, FIFO within a priority. ``delaySeconds``: not started
    before then (the run waits DELAYED and can be cancelled meanwhile).
    ``deduplicationId``: one active run per (queue, id); another enqueue gets
    DUPLICATE_DEDUPLICATION_ID, or under ``deduplicationPolicy="returnExisting"`` the
    holder's id (code DEDUPLICATED). With a caller-supplied ``workflowId`` the call is
    idempotent: a second call returns the same id (code WORKFLOW_EXISTS).
    """
    request = Request(workflowName, inputs, queueName=queueName, partitionKey=partitionKey,
                       priority=priority, deduplicationId=deduplicationId,
                       workflowId=workflowId, timeoutSeconds=timeoutSeconds,
                       delaySeconds=delaySeconds, deduplicationPolicy=deduplicationPolicy)
    return submit(request, dbName)


def submit(request, dbName, insert=runs.insert):
    """Insert a validated request (``insert(dbName, request)``: True when the run was
    created; api.templates records its template in the same transaction) and answer as
    ``enqueue`` does."""
    workflowName, newId = request.workflowName, request.workflowId
    deduplicationId = request.deduplicationId
    for _ in range(3):
        if insert(dbName, request):
            if not request.delayMs and settings.startOnEnqueue():
                dispatcher.startSoon(dbName)
            status = statuses.DELAYED if request.delayMs else statuses.ENQUEUED
            return envelope.ok(codes.WORKFLOW_ENQUEUED, u"workflow %s enqueued" % workflowName,
                               {"workflowId": newId, "workflowName": workflowName,
                                "created": True, "status": status})
        existing = runs.get(dbName, newId)
        if existing is not None:
            return _existing(existing, workflowName)
        holder = runs.dedupHolder(dbName, request.queueName, deduplicationId) \
            if deduplicationId else None
        if holder is not None:
            return _deduplicated(request, holder)
        # the holder ended between our insert and our look-up: the id is free, try again
    return envelope.fail(codes.INTERNAL_ERROR, u"could not enqueue after 3 tries")


def _deduplicated(request, holder):
    data = {"workflowId": holder, "workflowName": request.workflowName, "created": False,
            "deduplicationId": request.deduplicationId, "queueName": request.queueName}
    if request.deduplicationPolicy == settings.DEDUP_RETURN_EXISTING:
        return envelope.ok(codes.DEDUPLICATED, u"deduplication id %r is held by active workflow "
                           u"%s; that is the answer" % (request.deduplicationId, holder), data)
    return envelope.fail(codes.DUPLICATE_DEDUPLICATION_ID, u"deduplication id %r is held by "
                         u"active workflow %s" % (request.deduplicationId, holder), data)


@guarded
def enqueueInMemory(workflowName, inputs=None, queueName=None, partitionKey=None, priority=0,
                    deduplicationId=None, workflowId=None, timeoutSeconds=None, dbName=None,
                    delaySeconds=None, deduplicationPolicy=None, overflowPolicy=None):
    """Accept a workflow start without touching the database, for tag event scripts (which
    must return in single-digit milliseconds).

    The request is validated like ``enqueue`` and offered to a bounded queue kept JVM-wide
    (one per database connection); the following dispatch cycles write it to the database in
    batches. Codes: ACCEPTED_IN_MEMORY (data: the workflowId the run gets once stored),
    ACCEPTED_DROPPED_OLDEST (accepted; the queue was full and ``overflowPolicy``
    "dropOldest" dropped its oldest request, ``droppedWorkflowId``, into the dead letters),
    IN_MEMORY_QUEUE_FULL (policy "reject": nothing accepted), or the validation codes of
    ``enqueue``. A conflict is only found when the request is stored: a request whose
    workflowId exists or whose deduplicationId is held then becomes a dead letter (under
    ``deduplicationPolicy="returnExisting"`` a held deduplication id just drops it).
    """
    request = Request(workflowName, inputs, queueName=queueName, partitionKey=partitionKey,
                       priority=priority, deduplicationId=deduplicationId,
                       workflowId=workflowId, timeoutSeconds=timeoutSeconds,
                       delaySeconds=delaySeconds, deduplicationPolicy=deduplicationPolicy)
    policy = settings.checkChoice("overflowPolicy",
                                  overflowPolicy or settings.memoryQueueOverflow(),
                                  settings.OVERFLOW_POLICIES)
    accepted, depth, dropped = memoryqueue.offer(dbName, request.rowJson(), policy)
    data = {"workflowId": request.workflowId, "workflowName": workflowName, "depth": depth,
            "overflowPolicy": policy}
    if not accepted:
        return envelope.fail(codes.IN_MEMORY_QUEUE_FULL, u"the in-memory queue holds %d requests "
                             u"and accepts no more until dispatch flushes it" % depth, data)
    if dropped is not None:
        data["droppedWorkflowId"] = (codec.decode(dropped) or {}).get("workflow_id")
        return envelope.ok(codes.ACCEPTED_DROPPED_OLDEST, u"workflow %s accepted; the queue was "
                           u"full, so its oldest request (%s) was dropped to the dead letters"
                           % (workflowName, data["droppedWorkflowId"]), data)
    return envelope.ok(codes.ACCEPTED_IN_MEMORY, u"workflow %s accepted; dispatch stores it"
                       % workflowName, data)


def _existing(row, workflowName):
    if row["workflow_name"] != workflowName:
        return envelope.fail(codes.WORKFLOW_ID_CONFLICT,
                             u"workflow id %s already belongs to a run of %s"
                             % (row["workflow_id"], row["workflow_name"]),
                             {"workflowId": row["workflow_id"],
                              "workflowName": row["workflow_name"]})
    return envelope.ok(codes.WORKFLOW_EXISTS, u"workflow %s already exists; nothing was created"
                       % row["workflow_id"],
                       {"workflowId": row["workflow_id"], "workflowName": workflowName,
                        "created": False, "status": row["status"]})


start = enqueue


@guarded
def dispatch(dbName=None):
    """One dispatch cycle (the gateway timer calls this every second, fixed delay). Where
    the engine does not run (onStartup did not run in this JVM: a Script Console, a Vision
    client, a script off the gateway) it only stores the in-memory requests taken here:
    code FLUSHED."""
    counts = dispatcher.dispatch(dbName)
    lookout.ensure()  # (cheap when it runs: a project save's new interpreter starts its own)
    if not counts["executor"]:
        return envelope.ok(codes.FLUSHED, u"not an executor: %d in-memory request(s) stored, "
                           u"nothing claimed" % counts["flushed"], counts)
    return envelope.ok(codes.DISPATCHED, u"claimed %d, submitted %d"
                       % (counts["claimed"], counts["submitted"]), counts)


def _present(row, keys):
    result = {}
    for column, value in row.items():
        if column in ("inputs", "output", "error"):
            value = codec.decode(value)
        result[keys[column]] = value
    return result


@guarded
def getStatus(workflowId, dbName=None):
    """A run's status and record (inputs, output, error decoded from JSON)."""
    validate.name("workflowId", workflowId)
    row = runs.get(dbName, workflowId)
    if row is None:
        return envelope.fail(codes.WORKFLOW_NOT_FOUND, u"no workflow %s" % workflowId,
                             {"workflowId": workflowId})
    return envelope.ok(codes.WORKFLOW_FOUND, u"workflow %s is %s" % (workflowId, row["status"]),
                       _present(row, _RUN_KEYS))


@guarded
def getResult(workflowId, timeoutSeconds=10.0, dbName=None):
    """Wait up to ``timeoutSeconds`` for a run to end; its output or error.

    ok is True only for SUCCESS. Codes: WORKFLOW_SUCCEEDED, WORKFLOW_FAILED,
    WORKFLOW_CANCELLED, WORKFLOW_STOPPED, MAX_RECOVERY_ATTEMPTS_EXCEEDED, RESULT_TIMEOUT
    (still active: also HELD or WAITING),
    WORKFLOW_NOT_FOUND.
    """
    validate.name("workflowId", workflowId)
    deadline = compat.monotonicMs() + int(
        validate.number("timeoutSeconds", timeoutSeconds or 0, allowZero=True) * 1000)
    pause = 10
    while True:
        row = runs.get(dbName, workflowId)
        if row is None:
            return envelope.fail(codes.WORKFLOW_NOT_FOUND, u"no workflow %s" % workflowId,
                                 {"workflowId": workflowId})
        status = row["status"]
        if status in statuses.TERMINAL or compat.monotonicMs() >= deadline:
            break
        compat.sleepMs(min(pause, max(1, deadline - compat.monotonicMs())))
        pause = min(200, pause * 2)
    data = _present(row, _RUN_KEYS)
    if status == statuses.SUCCESS:
        return envelope.ok(codes.WORKFLOW_SUCCEEDED, u"workflow %s succeeded" % workflowId, data)
    if status == statuses.ERROR:
        return envelope.fail(codes.WORKFLOW_FAILED, u"workflow %s failed: %s"
                             % (workflowId, (data["error"] or {}).get("message")), data)
    if status == statuses.CANCELLED:
        return envelope.fail(codes.WORKFLOW_CANCELLED, u"workflow %s was cancelled" % workflowId,
                             data)
    if status == statuses.RECOVERY_EXCEEDED:
        problem = (data["error"] or {}).get("message")
        return envelope.fail(codes.MAX_RECOVERY_ATTEMPTS_EXCEEDED, u"workflow %s stopped at its "
                             u"recovery limit: %s" % (workflowId, problem), data)
    if status == statuses.STOPPED:
        return envelope.fail(codes.WORKFLOW_STOPPED, u"workflow %s was stopped by an operator"
                             % workflowId, data)
    return envelope.fail(codes.RESULT_TIMEOUT, u"workflow %s is still %s" % (workflowId, status),
                         data)


@guarded
def listWorkflows(status=None, workflowName=None, queueName=None, createdFromMs=None,
                  createdToMs=None, limit=100, offset=0, dbName=None, parentWorkflowId=None):
    """Runs, newest first. ``status`` is one status or a list; times are epoch ms [from, to);
    ``parentWorkflowId``: only the children that run started."""
    wanted = status if isinstance(status, (list, tuple)) else (
        status.split(",") if isinstance(status, compat.string_types) else [status])
    for one in wanted if status is not None else []:
        if one not in statuses.ALL:
            raise InvalidArgument(u"unknown status %s; use one of %s"
                                  % (compat.shown(one), u", ".join(statuses.ALL)))
    status = u",".join(wanted) if status is not None and wanted else None
    validate.name("workflowName", workflowName, False)
    validate.name("queueName", queueName, False)
    validate.name("parentWorkflowId", parentWorkflowId, False)
    validate.wholeNumber("limit", limit, 0)
    validate.wholeNumber("offset", offset, 0)
    validate.wholeNumber("createdFromMs", createdFromMs, required=False)
    validate.wholeNumber("createdToMs", createdToMs, required=False)
    rows = runs.listRuns(dbName, statuses=status, workflowName=workflowName,
                         queueName=queueName, createdFromMs=createdFromMs,
                         createdToMs=createdToMs, limit=min(limit, 10000), offset=offset,
                         parentWorkflowId=parentWorkflowId)
    workflows = [_present(row, _RUN_KEYS) for row in rows]
    return envelope.ok(codes.WORKFLOWS_LISTED, u"%d workflow(s)" % len(workflows),
                       {"workflows": workflows, "count": len(workflows)})


@guarded
def listSteps(workflowId, dbName=None):
    """The recorded steps of a run, in execution order."""
    validate.name("workflowId", workflowId)
    steps = [_present(row, _STEP_KEYS) for row in stepLog.listSteps(dbName, workflowId)]
    if not steps and runs.get(dbName, workflowId) is None:
        return envelope.fail(codes.WORKFLOW_NOT_FOUND, u"no workflow %s" % workflowId,
                             {"workflowId": workflowId})
    return envelope.ok(codes.STEPS_LISTED, u"%d step(s)" % len(steps),
                       {"workflowId": workflowId, "steps": steps, "count": len(steps)})


def _command(workflowId, command, reason, dbName, caller, cascade=False):
    """Send one operator command through the matrix (engine.commands) as ``caller`` (an
    actors.Caller); the envelope. ``cascade``: the run's descendants get it too (data
    ``descendants``: each one's workflowId, accepted and code)."""
    validate.name("workflowId", workflowId)
    validate.text("reason", reason, 2000, required=False)
    if cascade not in (True, False):
        raise InvalidArgument(u"cascade must be True or False, not %s" % compat.shown(cascade))
    return _answered(command, reason, *family.commandFamily(
        settings.databaseName(dbName), workflowId, command, reason, caller, cascade))


def _answered(action, reason, accepted, code, message, data):
    """The envelope of an operator action's outcome; an accepted one is logged."""
    if accepted:
        _logger().info(u"%s by %s: %s%s" % (action, data["actor"], message,
                                            (u" (%s)" % reason) if reason else u""))
    return (envelope.ok if accepted else envelope.fail)(code, message, data)


@guarded
def sendCommand(workflowId, cmd, reason=None, dbName=None, user=None, session=None,
                roles=None, cascade=None):
    """An operator command: ``cmd`` is "HOLD", "RESUME" or "STOP" (or "CANCEL").

    HOLD: the run pauses at its next step boundary (its hold handler runs) and releases its
    thread (HELD); a queued run is held at once. RESUME: a held run continues from its step
    log (a HOLD not applied yet is withdrawn). STOP: an orderly end: the stop handler runs as
    steps at the next boundary, then the run is STOPPED. The state/command matrix and its
    codes are in the manual (api.md, "Operator commands"); every command is journaled with
    its actor: the Perspective ``session``'s user, else ``user``. ``cascade``: the run's
    child workflows (and theirs) get the command too; None: only for CANCEL."""
    caller = actors.Caller(user, session, roles)
    command = commands.known(dbName, cmd, workflowId, reason, caller)
    if cascade is None:
        cascade = command == vocabulary.CANCEL
    return _command(workflowId, command, reason, dbName, caller, cascade)


@guarded
def cancel(workflowId, reason=None, dbName=None, user=None, session=None, roles=None,
           cascade=True):
    """Cancel an active run: queued runs never start; a running one stops at its next step
    boundary (the step it is in finishes). Resumable later with ``resume``. ``cascade``:
    its child workflows (and theirs) are cancelled too; False: they go on. Codes:
    CANCEL_REQUESTED, NOT_CANCELLABLE, WORKFLOW_NOT_FOUND."""
    return _command(workflowId, vocabulary.CANCEL, reason, dbName,
                    actors.Caller(user, session, roles), cascade)


@guarded
def resume(workflowId, reason=None, dbName=None, user=None, session=None, roles=None):
    """Continue a run that is HELD, or that stopped without finishing: CANCELLED (by an
    operator or its timeout) or MAX_RECOVERY_ATTEMPTS_EXCEEDED. It goes back to its queue
    (with its recovery count reset and a fresh deadline) and continues after its last
    recorded step (finished steps are not run again). Codes: RESUMED (was held),
    WORKFLOW_RESUMED, HOLD_WITHDRAWN, NOT_RESUMABLE, NOT_HELD, STILL_RUNNING (the cancelled
    run's thread is still inside a step: try again), RESUME_CONFLICT (another active run
    holds its deduplication id), WORKFLOW_NOT_FOUND."""
    return _command(workflowId, vocabulary.RESUME, reason, dbName,
                    actors.Caller(user, session, roles))


@guarded
def changeDelay(workflowId, delaySeconds=None, runAtMs=None, reason=None, dbName=None,
                user=None, session=None, roles=None):
    """Give a run still waiting for its delay (DELAYED) another start: ``delaySeconds``
    from now, or ``runAtMs`` (epoch ms, the database's clock); exactly one of them. An
    operator action: ``commandRoles`` authorize it, it is journaled (CHANGE_DELAY). Codes:
    DELAY_CHANGED, NOT_DELAYED (the run is in any other status), WORKFLOW_NOT_FOUND."""
    validate.name("workflowId", workflowId)
    validate.text("reason", reason, 2000, required=False)
    if (delaySeconds is None) == (runAtMs is None):
        raise InvalidArgument(u"give exactly one of delaySeconds and runAtMs")
    start = (validate.wholeNumber("runAtMs", runAtMs, 0, required=False),
             None if delaySeconds is None else int(1000 * validate.number(
                 "delaySeconds", delaySeconds, allowZero=True,
                 maximum=settings.MAX_DELAY_SECONDS)))
    return _answered(vocabulary.CHANGE_DELAY, reason, *delays.change(
        settings.databaseName(dbName), workflowId, start, reason,
        actors.Caller(user, session, roles)))


@guarded
def fork(workflowId, fromStep, reason=None, newWorkflowId=None, dbName=None, user=None,
         session=None, roles=None):
    """Start a new run of the same workflow and inputs that replays the original's step log
    before position ``fromStep`` (1 .. its last position + 1) without running it, and runs
    the rest again; the original is not changed (it may have ended). The new run records
    ``forkedFrom`` and ``forkedAtStep``; the journal records who forked (FORK, commandRoles).
    ``newWorkflowId``: the new run's id (default: a fresh one). Codes: WORKFLOW_FORKED;
    FORK_STEP_OUT_OF_RANGE, WORKFLOW_NOT_FOUND, WORKFLOW_EXISTS, UNKNOWN_WORKFLOW,
    NOT_AUTHORIZED (not ok). docs/forks.md."""
    validate.name("workflowId", workflowId)
    validate.wholeNumber("fromStep", fromStep, 1)
    validate.name("newWorkflowId", newWorkflowId, False)
    validate.text("reason", reason, 2000, required=False)
    accepted, code, message, data = forks.fork(settings.databaseName(dbName), workflowId,
                                               fromStep, reason, newWorkflowId,
                                               actors.Caller(user, session, roles))
    return (envelope.ok if accepted else envelope.fail)(code, message, data)


def _logger():
    return platform.logger("exchange.workflows.service")


@guarded
def listRegisteredWorkflows():
    """Names of the workflows this gateway can run (for dropdowns)."""
    names = registry.registeredNames()
    return envelope.ok(codes.WORKFLOWS_REGISTERED, u"%d workflow(s)" % len(names),
                       {"names": names, "options": [{"label": n, "value": n} for n in names]})
