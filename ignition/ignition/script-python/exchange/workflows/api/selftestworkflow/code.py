"""The self-test's ``workflow`` checks (api/selftest): the built-in workflow
(engine.selftestflow) through the live engine on the connection: retries, a hold and a
resume, a prompt answered here, a durable sleep that dispatch wakes. Its run is deleted
afterwards; the journal keeps its entries.
"""
from __future__ import absolute_import, division, print_function

import uuid

from exchange.workflows.api import prompts, service
from exchange.workflows.api.selftestchecks import Finding, Skipped, expect
from exchange.workflows.db import executors, maintenance, selfcheck
from exchange.workflows import codes, compat, settings, statuses, vocabulary
from exchange.workflows.engine import selftestflow as flow

GROUP = "workflow"
CLEANUP_MS = 10000        # what the cleanup of the self-test's run may add to the deadline


def workflowChecks(report, flowRun):
    """The workflow group: its phases in order (after a failed one, the rest are skipped),
    then the cleanup of its run."""
    failed = None
    try:
        for name, phase in (("live executor", flowRun.executorAlive),
                            ("enqueue", flowRun.enqueue), ("retries", flowRun.retries),
                            ("hold", flowRun.hold), ("resume", flowRun.resume),
                            ("prompt", flowRun.answer), ("durable sleep", flowRun.sleep)):
            if failed is not None:
                report.run(GROUP, name, _notReached, failed)
            elif report.run(GROUP, name, phase) is False:
                failed = name
    finally:
        report.run(GROUP, "cleanup", flowRun.cleanup)


def _notReached(failed):
    raise Skipped(u"not reached: %s failed" % failed)


class FlowRun(object):
    """One run of the built-in self-test workflow, driven and watched phase by phase until a
    common deadline."""

    def __init__(self, dbName, deadlineMs, caller):
        self.dbName = settings.databaseName(dbName)
        self.deadlineMs = deadlineMs
        self.caller = caller
        self.workflowId = None
        self.promptChannel = None
        self.ranOn = None

    def executorAlive(self):
        alive = [e for e in executors.listExecutors(self.dbName, False) if e["alive"]]
        expect(alive, u"no live executor on %s: run the self-test where a gateway runs the "
               u"engine (its startup script calls onStartup, its timer dispatch)" % self.dbName)
        scopes = sorted(s["scope"] for s in maintenance.listScopes(self.dbName)
                        if s["scope"] in (u"", flow.QUEUE_NAME))  # ("": every queue)
        expect(not scopes, u"maintenance is on for %s: no executor claims the self-test's run "
               u"until exitMaintenance" % ((scopes and scopes[0]) or u"every queue"))
        return u"%d live executor(s): %s" % (len(alive), u", ".join(
            compat.toText(e["executor_name"]) for e in alive))

    def enqueue(self):
        self.workflowId = flow.ID_PREFIX + uuid.uuid4().hex
        timeoutSeconds = max(1.0, (self.deadlineMs - compat.monotonicMs()) / 1000.0)
        result = service.enqueue(flow.WORKFLOW_NAME, queueName=flow.QUEUE_NAME,
                                 workflowId=self.workflowId, timeoutSeconds=timeoutSeconds,
                                 dbName=self.dbName)
        expect(result["code"] == codes.WORKFLOW_ENQUEUED, u"%s: %s" % (result["code"],
                                                                      result["message"]))
        return u"run %s in queue %s" % (self.workflowId, flow.QUEUE_NAME)

    def retries(self):
        row = self.waitFor(lambda r: _waitingOn(r, u"prompt:"), u"wait for its prompt",
                           u"no executor claimed it: is the dispatch timer running, on this "
                           u"library version?")
        self.promptChannel = row["waitingFor"]
        steps = service.listSteps(self.workflowId, self.dbName)["data"]["steps"]
        first = steps[0] if steps else {}
        expect((first.get("name"), first.get("status"), first.get("attempts")) ==
               ("failsTwice", statuses.SUCCESS, flow.FAILURES + 1),
               u"its first step should have succeeded at attempt %d: %s"
               % (flow.FAILURES + 1, compat.shown(first, 200)))
        return u"failsTwice succeeded at attempt %d; the run waits for its prompt without a " \
               u"thread" % first["attempts"]

    def hold(self):
        sent = self.command(vocabulary.HOLD)
        self.waitFor(lambda r: r["status"] == statuses.HELD, u"be held")
        return u"%s, then HELD" % sent

    def resume(self):
        sent = self.command(vocabulary.RESUME)
        self.waitFor(lambda r: _waitingOn(r, self.promptChannel), u"wait for its prompt again")
        return u"%s; it replayed its steps and waits for its prompt again" % sent

    def command(self, command):
        sent = service.sendCommand(self.workflowId, command, reason=u"self-test",
                                   dbName=self.dbName, **self.caller._asdict())
        expect(sent["ok"], u"%s: %s" % (sent["code"], sent["message"]))
        return sent["code"]

    def answer(self):
        promptId = self.promptChannel[len(u"prompt:"):]
        answered = prompts.respondToPrompt(promptId, flow.ANSWER, comment=u"self-test",
                                           dbName=self.dbName, **self.caller._asdict())
        expect(answered["ok"], u"%s: %s" % (answered["code"], answered["message"]))
        self.waitFor(lambda r: _waitingOn(r, u"sleep:"), u"sleep without a thread")
        return u"answered by %s; the run sleeps without a thread" % answered["data"]["user"]

    def sleep(self):
        row = self.waitFor(lambda r: r["status"] == statuses.SUCCESS,
                           u"wake from its sleep and succeed",
                           u"is the dispatch timer running? it wakes sleeping runs")
        output = row["output"] or {}
        expect((output.get("tries"), output.get("answer")) == (flow.FAILURES + 1, flow.ANSWER),
               u"unexpected output %s" % compat.shown(output, 200))
        self.ranOn = output["ranOn"]["executorId"]
        return u"woken by dispatch, SUCCESS on %s (%s)" % (self.ranOn,
                                                           output["ranOn"]["runtime"])

    def waitFor(self, predicate, what, hint=None, deadlineMs=None):
        """The run's record once ``predicate`` holds for it; Finding when it ended or the
        deadline passed first."""
        deadlineMs = deadlineMs or self.deadlineMs
        pause = 10
        while True:
            found = service.getStatus(self.workflowId, self.dbName)
            expect(found["ok"], u"%s: %s" % (found["code"], found["message"]))
            row = found["data"]
            if predicate(row):
                return row
            status = row["status"]
            expect(status not in statuses.TERMINAL, u"the run ended %s before it "
                   u"could %s: %s" % (status, what, (row["error"] or {}).get("message")))
            left = deadlineMs - compat.monotonicMs()
            expect(left > 0, u"the run is still %s; it did not %s in time%s" % (
                status, what, (u" (%s)" % hint) if hint and status in (
                    statuses.ENQUEUED, statuses.WAITING) else u""))
            compat.sleepMs(min(pause, left))
            pause = min(200, pause * 2)

    def cleanup(self):
        if self.workflowId is None:
            raise Skipped(u"no run was enqueued")
        status = self.status()
        if status is None:
            return u"no run left"
        deadlineMs = max(self.deadlineMs, compat.monotonicMs() + CLEANUP_MS)
        if status not in statuses.TERMINAL:
            self.command(vocabulary.CANCEL)
        while not selfcheck.deleteRun(self.dbName, self.workflowId, flow.WORKFLOW_NAME):
            if compat.monotonicMs() >= deadlineMs:
                raise Finding(u"run %s is still %s: retention deletes it once it ends"
                              % (self.workflowId, self.status()))
            compat.sleepMs(50)
        return u"run %s deleted with its steps and prompt; the journal keeps its entries" \
            % self.workflowId

    def status(self):
        """The run's status, None when it is not there."""
        found = service.getStatus(self.workflowId, self.dbName)
        if found["code"] == codes.WORKFLOW_NOT_FOUND:
            return None
        expect(found["ok"], u"%s: %s" % (found["code"], found["message"]))
        return found["data"]["status"]


def _waitingOn(row, channel):
    """Whether the run waits (WAITING, no thread) on a channel starting with ``channel``."""
    return row["status"] == statuses.WAITING and \
        (row["waitingFor"] or u"").startswith(channel)
