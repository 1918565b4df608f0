"""The console's Run details page: the run and which command buttons its state enables (by
the engine's own matrix, engine.commands.decide), its timeline (steps, operations, waits,
prompts, holds and recoveries, as a table and as Gantt bars), its events, streams, journal
and prompts, and the command buttons' call.

Views call these and read ``result["data"]``; each row carries its status ``colour``.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.api import (consoleprompts, envelope, journal, messages, service,
                                    templates)
from exchange.workflows.api.consolecommon import colourOf, durationMs, statusCell
from exchange.workflows.api.envelope import dataOf, guarded
from exchange.workflows.db import consoleruns as statements
from exchange.workflows import codes, compat, statuses, validate, vocabulary
from exchange.workflows.engine import commands
from exchange.workflows.errors import InvalidArgument

ACTIVITY_LIMIT = 200  # journal entries, prompts and streams shown per run
# The timeline's kinds of recorded positions by their recorded name (else an operation, or a
# step when the name is not <...>).
_KINDS = {"<hold>": "hold", "<stop>": "hold", "<sleep.done>": "wait", "<recv>": "wait",
          "<getEvent>": "wait", "<prompt>": "prompt", "<prompt.answer>": "prompt",
          "<child.result>": "wait"}
BUTTONS = vocabulary.COMMANDS + (vocabulary.RESUME_TERMINAL, vocabulary.CHANGE_DELAY,
                                 vocabulary.FORK)


def enabledCommands(status, pendingCommand, started):
    """{button: enabled} for a run's state: a command is enabled when the matrix would take
    it; RESUME continues a held run, RESUME_TERMINAL a CANCELLED or recovery-exceeded one;
    CHANGE_DELAY gives a DELAYED run another start (api.service.changeDelay)."""
    taken = dict((command, commands.decide(command, status, pendingCommand, started)[0]
                  is not None) for command in vocabulary.COMMANDS)
    ended = status in statuses.TERMINAL
    resumable = taken.pop(vocabulary.RESUME)
    taken[vocabulary.RESUME] = resumable and not ended
    taken[vocabulary.RESUME_TERMINAL] = resumable and ended
    taken[vocabulary.CHANGE_DELAY] = status == statuses.DELAYED
    return taken


@guarded
def runDetails(workflowId, dbName=None):
    """One run as the details page shows it (inputs, output and error decoded) and
    ``commands``: which of HOLD, RESUME, STOP, CANCEL, RESUME_TERMINAL, CHANGE_DELAY its
    state allows; ``template``: the template it started from (None: none);
    ``parentWorkflowId`` (in ``run``) and ``children``: the runs it started (workflowId,
    workflowName, status...); the run's ``forkedFrom`` and ``forkedAtStep`` (None: not a
    fork) and ``appVersion``.
    Codes: RUN_DETAILS, WORKFLOW_NOT_FOUND."""
    found = dataOf(service.getStatus(workflowId, dbName=dbName))
    run = {"workflowId": found["workflowId"], "workflowName": found["workflowName"],
           "status": found["status"], "colour": colourOf(found["status"]),
           "queueName": found["queueName"], "partitionKey": found["partitionKey"],
           "inputs": found["inputs"], "output": found["output"], "error": found["error"],
           "createdMs": found["createdAtMs"], "startedMs": found["startedAtMs"],
           "endedMs": found["completedAtMs"], "attempts": found["attempts"],
           "recoveryAttempts": found["recoveryAttempts"],
           "pendingCommand": found["pendingCommand"], "executorId": found["executorId"],
           "parentWorkflowId": found["parentWorkflowId"],
           "appVersion": found["appVersion"], "forkedFrom": found["forkedFrom"],
           "forkedAtStep": found["forkedAtStep"]}
    enabled = enabledCommands(found["status"], found["pendingCommand"],
                              found["startedAtMs"] is not None)
    return envelope.ok(codes.RUN_DETAILS, u"workflow %s is %s" % (workflowId, run["status"]),
                       {"run": run, "commands": enabled,
                        "template": runTemplate(workflowId, dbName),
                        "children": runChildren(workflowId, dbName)})


def runChildren(workflowId, dbName):
    """The runs a run started (its child workflows), oldest first, ACTIVITY_LIMIT at most."""
    found = dataOf(service.listWorkflows(parentWorkflowId=workflowId, limit=ACTIVITY_LIMIT,
                                         dbName=dbName))["workflows"]
    return [{"workflowId": child["workflowId"], "workflowName": child["workflowName"],
             "status": child["status"], "colour": colourOf(child["status"]),
             "statusCell": statusCell(child["status"]), "createdMs": child["createdAtMs"],
             "endedMs": child["completedAtMs"]} for child in reversed(found)]


def runTemplate(workflowId, dbName):
    """The template a run started from ({name, version, overrides}), or None."""
    found = dataOf(templates.getRunTemplate(workflowId, dbName=dbName))["template"]
    if found is None:
        return None
    return {"name": found["templateName"], "version": found["version"],
            "overrides": found["overrides"]}


def _kind(name):
    if name in _KINDS:
        return _KINDS[name]
    return "operation" if name.startswith("<") else "step"


def _timelineRow(position, name, kind, status, times, attempts=None, output=None, error=None):
    startedMs, endedMs = times
    return {"position": position, "name": name, "kind": kind, "status": status,
            "colour": colourOf(status), "statusCell": statusCell(status),
            "attempts": attempts, "startedMs": startedMs,
            "endedMs": endedMs, "durationMs": durationMs(startedMs, endedMs),
            "output": output, "error": error}


def _barLabel(row):
    """A Gantt bar's label: ``#<position> <name>``, so a step name repeated in a loop draws
    one bar per position (a recovery or the live row has no position: its name)."""
    if row["position"] is None:
        return row["name"]
    return u"#%d %s" % (row["position"], row["name"])


@guarded
def runTimeline(workflowId, dbName=None):
    """A run's timeline: each recorded position (kind step, operation, wait, prompt or hold:
    a HOLD's or STOP's marker), each recovery (from the journal), and the wait or hold it
    is in now (no end yet); in time order. ``gantt``: a bar per row (a live one ends now).
    ``forkFrom``: the Fork action's default step (forkDefault). Codes: RUN_TIMELINE,
    WORKFLOW_NOT_FOUND."""
    run = dataOf(service.getStatus(workflowId, dbName=dbName))
    rows = [_timelineRow(step["position"], step["name"], _kind(step["name"]), step["status"],
                         (step["startedAtMs"], step["completedAtMs"]),
                         attempts=step["attempts"], output=step["output"], error=step["error"])
            for step in dataOf(service.listSteps(workflowId, dbName=dbName))["steps"]]
    for entry in dataOf(journal.listJournal(workflowId=workflowId, action=vocabulary.RECOVER,
                                            limit=ACTIVITY_LIMIT, dbName=dbName))["entries"]:
        rows.append(_timelineRow(None, entry["reason"] or vocabulary.RECOVER, "recovery",
                                 entry["outcome"], (entry["atMs"], entry["atMs"])))
    live = {statuses.WAITING: "wait", statuses.HELD: "hold"}.get(run["status"])
    if live:
        rows.append(_timelineRow(None, run["waitingFor"] or run["status"], live,
                                 run["status"], (run["updatedAtMs"], None)))
    rows.sort(key=lambda row: (row["startedMs"], row["position"] or 0))
    now = compat.nowMs()
    gantt = [{"label": _barLabel(row), "startMs": row["startedMs"],
              "endMs": now if row["endedMs"] is None else row["endedMs"],
              "colour": row["colour"]} for row in rows]
    return envelope.ok(codes.RUN_TIMELINE, u"%d row(s)" % len(rows),
                       {"rows": rows, "gantt": gantt, "forkFrom": forkDefault(rows)})


def forkDefault(rows):
    """The Fork action's default ``fromStep``: the position of the first failed (ERROR)
    record, so the fork redoes what failed, else the last position + 1 (replay it all and
    run what follows the log: 1 for a run that recorded nothing)."""
    positions = [row["position"] for row in rows if row["position"] is not None]
    failed = [row["position"] for row in rows
              if row["position"] is not None and row["status"] == statuses.ERROR]
    if failed:
        return min(failed)
    return max(positions) + 1 if positions else 1


@guarded
def runActivity(workflowId, dbName=None):
    """What a run published and what was done to it: its ``events`` (key, value, version),
    ``streams`` (key, values written, closed), ``journal`` entries (newest first) and
    ``prompts`` (any status, in order). Codes: RUN_ACTIVITY, WORKFLOW_NOT_FOUND."""
    dataOf(service.getStatus(workflowId, dbName=dbName))
    published = dataOf(messages.listEvents(workflowId, dbName=dbName))["events"]
    events = [{"key": key, "value": event["value"], "version": event["version"],
               "updatedMs": event["updatedAtMs"]} for key, event in sorted(published.items())]
    streams = [{"key": row["stream_key"], "values": row["values"], "closed": row["closed"],
                "lastMs": row["last_at_ms"]}
               for row in statements.streams(dbName, workflowId, ACTIVITY_LIMIT)]
    entries = dataOf(journal.listJournal(workflowId=workflowId, limit=ACTIVITY_LIMIT,
                                         dbName=dbName))["entries"]
    prompts = [consoleprompts.promptRow(row)
               for row in statements.runPrompts(dbName, workflowId, ACTIVITY_LIMIT)]
    return envelope.ok(codes.RUN_ACTIVITY, u"%d event(s), %d stream(s), %d journal entr(ies), "
                       u"%d prompt(s)" % (len(events), len(streams), len(entries),
                                          len(prompts)),
                       {"events": events, "streams": streams, "journal": entries,
                        "prompts": prompts})


@guarded
def command(workflowId, command, reason, session=None, user=None, roles=None, dbName=None,
            delaySeconds=None, fromStep=None):
    """A command button: HOLD, RESUME, STOP or CANCEL through api.service.sendCommand (RESUME
    of an ended run resumes it, like RESUME_TERMINAL: api.service.resume; CHANGE_DELAY
    starts a DELAYED run ``delaySeconds`` from now: api.service.changeDelay; FORK starts a
    new run from position ``fromStep``: fork, its ``data.workflowId`` the new run's), as
    the session's user, with the operator's ``reason`` (required). Its envelope and codes."""
    validate.text("reason", reason, 2000)
    if command == vocabulary.FORK:
        return fork(workflowId, fromStep, reason, session=session, user=user, roles=roles,
                    dbName=dbName)
    if command == vocabulary.CHANGE_DELAY:
        return service.changeDelay(workflowId, delaySeconds=delaySeconds, reason=reason,
                                   dbName=dbName, user=user, session=session, roles=roles)
    if command == vocabulary.RESUME_TERMINAL:
        return service.resume(workflowId, reason, dbName=dbName, user=user, session=session,
                              roles=roles)
    if command not in vocabulary.COMMANDS:
        raise InvalidArgument(u"command must be one of %s, not %s"
                              % (u", ".join(BUTTONS), compat.shown(command)),
                              codes.UNKNOWN_COMMAND)
    return service.sendCommand(workflowId, command, reason, dbName=dbName, user=user,
                               session=session, roles=roles)


@guarded
def fork(workflowId, fromStep, reason, session=None, user=None, roles=None, dbName=None):
    """The Fork action: a new run that replays this run's timeline before position
    ``fromStep`` and runs the rest (api.service.fork), as the session's user, with the
    operator's ``reason`` (required). Its envelope and codes."""
    validate.text("reason", reason, 2000)
    if isinstance(fromStep, float) and fromStep == int(fromStep):
        fromStep = int(fromStep)  # a numeric entry field gives 4.0
    return service.fork(workflowId, fromStep, reason, dbName=dbName, user=user,
                        session=session, roles=roles)
