"""The gateway self-test behind ``admin.selfTest``: proves an install where it runs.

Three groups of checks, each check on its own (one that fails stops no other), each with its
time and a short detail:

- ``system.db``, in a scratch schema of its own that is dropped at the end whatever happens:
  transactions, parameter and column types, JSON round trips, SQLSTATE extraction and the
  connection check, through the same db/tx functions the engine uses;
- ``kernel``: the JVM-wide state in the gateway globals and the worker pool, including which
  interpreter's code a pool thread runs a task with;
- ``workflow``: the built-in workflow (engine.selftestflow) through the live engine on the
  connection: retries, a hold and a resume, a prompt answered here, a durable sleep that
  dispatch wakes. Its run is deleted afterwards; the journal keeps its entries.

A check returns its detail or raises: ``Finding`` (it failed), ``Skipped`` (it cannot run
here), any other error (it failed; the error is the detail, cause first).
"""
from __future__ import absolute_import, division, print_function

import sys
import uuid

from exchange.workflows.api import prompts, service
from exchange.workflows.db import executors, maintenance, selfcheck, tx
from exchange.workflows import codec, compat, platform, settings, statuses
from exchange.workflows.engine import kernel, operator, selftestflow as flow

DB, KERNEL, WORKFLOW = "system.db", "kernel", "workflow"
DETAIL_LIMIT = 500
TASK_TIMEOUT_MS = 10000   # a pool task that has not run by then: every worker is busy
CLEANUP_MS = 10000        # what the cleanup of the self-test's run may add to the deadline
TEMPORARY_POOL = "exchange-workflows-selftest"
_NULLS = (None,) * len(selfcheck.VALUE_COLUMNS)


class Finding(Exception):
    """A check failed; the message says what was seen."""


class Skipped(Exception):
    """A check that cannot run here; the message says why."""


class _Deliberate(Exception):
    """The error the rollback check raises inside its transaction."""


def expect(condition, detail):
    """Raise Finding(detail) unless ``condition``."""
    if not condition:
        raise Finding(detail)


class Report(object):
    """The checks run so far: {group, name, ok (True, False, None: skipped), ms, detail}."""

    def __init__(self):
        self.checks = []

    def run(self, group, name, check, *args):
        """Run one check, whatever it raises; its ok."""
        started = compat.monotonicMs()
        try:
            ok, detail = True, check(*args)
        except Skipped as skipped:
            ok, detail = None, skipped.args[0]
        except Finding as finding:
            ok, detail = False, finding.args[0]
        except compat.CATCHABLE as error:
            ok, detail = False, u"%s: %s" % compat.describeError(error)
        detail = compat.toText(detail)
        if len(detail) > DETAIL_LIMIT:
            detail = detail[:DETAIL_LIMIT] + u"..."
        self.checks.append({"group": group, "name": name, "ok": ok, "detail": detail,
                            "ms": compat.monotonicMs() - started})
        return ok

    def count(self, ok):
        return len([c for c in self.checks if c["ok"] is ok])


def run(dbName, timeoutMs, actor, caller):
    """Every check, then the journal entry; the envelope's data. ``caller``: (user, session,
    roles) of the commands and the prompt answer."""
    started = compat.monotonicMs()
    report = Report()
    schema = selfcheck.newSchemaName()
    databaseChecks(report, dbName, schema)
    kernelChecks(report)
    flowRun = FlowRun(dbName, started + timeoutMs, caller)
    workflowChecks(report, flowRun)
    data = {"checks": report.checks, "passed": report.count(True),
            "failed": report.count(False), "skipped": report.count(None),
            "durationMs": compat.monotonicMs() - started, "interpreter": interpreter(),
            "executor": kernel.getKernel().isExecutor(), "schema": schema,
            "database": dbName, "workflowId": flowRun.workflowId, "ranOn": flowRun.ranOn}
    data["journaled"] = _journal(dbName, actor, data)
    return data


def interpreter():
    """What runs the self-test: Python's version, its kind, the JVM's version."""
    return {"version": compat.toText(sys.version), "runtime": platform.runtimeName(),
            "implementation": "jython" if compat.IS_JYTHON else "cpython",
            "java": platform.javaVersion()}


def _journal(dbName, actor, data):
    failed = [u"%s/%s" % (c["group"], c["name"]) for c in data["checks"] if c["ok"] is False]
    details = dict((key, data[key]) for key in ("passed", "failed", "skipped", "durationMs",
                                                "schema", "workflowId", "ranOn"))
    details["failedChecks"] = failed
    try:
        operator.journal(dbName, actor, {"action": "SELF_TEST"}, True,
                         "SELF_TEST_FAILED" if failed else "SELF_TEST_PASSED", details)
        return True
    except compat.CATCHABLE:  # (no system tables here: the workflow checks said so)
        return False


# --- system.db -----------------------------------------------------------------------------

def databaseChecks(report, dbName, schema):
    """The system.db group; the scratch schema is dropped whatever happened."""
    report.run(DB, "connection check", checkConnection, dbName)
    created = report.run(DB, "scratch schema", createScratch, dbName, schema)
    try:
        for name, check in (("commit is visible", checkCommit),
                            ("rollback is invisible", checkRollback),
                            ("transaction is closed", checkClosed),
                            ("parameter and column types", checkTypes),
                            ("JSON round trip", checkJson),
                            ("error and SQLSTATE", checkSqlState)):
            report.run(DB, name, check if created else _needsScratch, dbName, schema)
    finally:
        report.run(DB, "scratch schema dropped", dropScratch if created else _needsScratch,
                   dbName, schema)


def _needsScratch(dbName, schema):
    raise Skipped(u"no scratch schema: it could not be created")


def checkConnection(dbName):
    name = settings.databaseName(dbName)
    expect(tx.databaseExists(name), u"tx.databaseExists(%s) is False: the gateway has no such "
           u"database connection, or getConnectionInfo was misread" % compat.shown(name))
    madeUp = u"%s-missing-%s" % (name, uuid.uuid4().hex[:6])
    expect(not tx.databaseExists(madeUp), u"tx.databaseExists(%s) is True for a made-up name"
           % compat.shown(madeUp))
    return u"connection %s found; a made-up name is not" % name


def createScratch(dbName, schema):
    selfcheck.create(dbName, schema)
    return u"schema %s created" % schema


def dropScratch(dbName, schema):
    selfcheck.drop(dbName, schema)
    expect(not selfcheck.exists(dbName, schema), u"schema %s is still there" % schema)
    return u"schema %s is gone" % schema


def checkCommit(dbName, schema):
    tx.inTransaction(dbName, lambda t: selfcheck.insertRow(dbName, schema, 1, _NULLS, t))
    expect(selfcheck.count(dbName, schema, 1) == 1, u"a row inserted by a committed "
           u"transaction is not visible outside it")
    return u"a committed row is visible to the next statement"


def checkRollback(dbName, schema):
    def work(t):
        selfcheck.insertRow(dbName, schema, 2, _NULLS, t)
        expect(selfcheck.count(dbName, schema, 2, t) == 1,
               u"the transaction does not see its own insert")
        raise _Deliberate()
    try:
        tx.inTransaction(dbName, work)
        raise Finding(u"inTransaction swallowed the error raised by its work")
    except _Deliberate:
        pass
    expect(selfcheck.count(dbName, schema, 2) == 0, u"a row inserted by a transaction whose "
           u"work failed is visible: inTransaction did not roll it back")
    return u"the insert of a failed transaction is rolled back, and its error raised"


def checkClosed(dbName, schema):
    used = []
    tx.inTransaction(dbName, lambda t: used.append(t))
    try:
        selfcheck.count(dbName, schema, 1, used[0])
    except compat.CATCHABLE as error:
        expect(tx.isDatabaseError(error), u"the closed transaction's id raised no database "
               u"error: %s: %s" % compat.describeError(error))
        return u"its id is refused once inTransaction returned: %s" \
            % compat.describeError(error)[1][:120]
    raise Finding(u"transaction %s still answers after inTransaction returned: it was left "
                  u"open, holding a pooled connection until it times out" % used[0])


def typedValues():
    """(name, value) of every parameter type the engine passes."""
    return [("integer", 2147483647), ("bigint beyond 2^53", 2 ** 53 + 1),
            ("float", 0.1), ("bool", True), (u"non-ASCII text", u"Gr\u00fc\u00dfe \u2713 "
                                             u"\u6e29\u5ea6 \U0001f600"),
            ("epoch ms", compat.nowMs()), ("uuid as text", compat.toText(uuid.uuid4()))]


def _same(sent, read):
    """Equal, and a bool only for a bool (True == 1 in Python)."""
    return sent == read and isinstance(sent, bool) == isinstance(read, bool)


def checkTypes(dbName, schema):
    named = typedValues()
    values = [value for _, value in named]
    selfcheck.insertRow(dbName, schema, 4, values)
    selfcheck.insertRow(dbName, schema, 5, _NULLS)
    row = selfcheck.readRow(dbName, schema, 4)
    sent = named + [("bigint read as numeric", values[1])]
    seen = list(zip(sent, row)) + [(("bigint by runScalarPrepQuery", values[1]),
                                    selfcheck.readBig(dbName, schema, 4))]
    wrong = [u"%s: sent %s, read %s (%s)" % (name, compat.shown(value), compat.shown(got),
                                              type(got).__name__)
             for (name, value), got in seen if not _same(value, got)]
    nulls = selfcheck.readRow(dbName, schema, 5)
    if any(value is not None for value in nulls):
        wrong.append(u"NULL: read %s" % compat.shown(nulls))
    expect(not wrong, u"; ".join(wrong))
    return u"%d values and NULL came back equal" % len(seen)


def jsonDocument():
    """A document with what JSON round trips get wrong: nesting, non-ASCII, big numbers."""
    return {"text": u"Gr\u00fc\u00dfe \u2713 \u6e29\u5ea6", "big": 2 ** 53 + 1,
            "negative": -(2 ** 40), "float": 0.1,
            "nested": {"list": [1, 2.5, None, True, False, u"x"], "empty": {}, "none": None}}


def checkJson(dbName, schema):
    document = jsonDocument()
    selfcheck.insertJson(dbName, schema, 6, codec.encode(document))
    for kind, text in zip(("jsonb", "json"), selfcheck.readJson(dbName, schema, 6)):
        back = codec.decode(text)
        expect(back == document, u"%s changed the document: %s" % (kind, compat.shown(text, 200)))
    return u"codec.encode -> jsonb and json -> text -> codec.decode gave the document back"


def checkSqlState(dbName, schema):
    selfcheck.insertRow(dbName, schema, 7, _NULLS)
    try:
        selfcheck.insertRow(dbName, schema, 7, _NULLS)
    except compat.CATCHABLE as error:
        state = tx.sqlState(error)
        expect(state == "23505", u"tx.sqlState gave %s for a unique violation, not 23505"
               % compat.shown(state))
        expect(tx.isDatabaseError(error), u"tx.isDatabaseError is False for a unique violation")
        expect(not tx.isTransient(error), u"a unique violation is taken for a transient error")
        message = compat.describeError(error)[1].split(u"\n")[0]
        cause = message.find(selfcheck.UNIQUE_CONSTRAINT)
        call = message.find(u"system.db")
        expect(cause >= 0 and (call < 0 or cause < call), u"compat.describeError does not lead "
               u"with the cause: %s" % message[:200])
        return u"SQLSTATE 23505; the message leads with the cause: %s" % message[:120]
    raise Finding(u"a duplicate primary key was accepted")


# --- kernel and pool -----------------------------------------------------------------------

def kernelChecks(report):
    """The kernel group; a temporary pool is shut down at the end."""
    report.run(KERNEL, "one kernel per JVM", checkOneKernel)
    report.run(KERNEL, "kernel holds Java objects only", checkJavaOnly)
    pool = Pool()
    try:
        report.run(KERNEL, "pool runs a task", checkPoolRuns, pool)
        report.run(KERNEL, "task runs the submitter's code", checkPoolInterpreter, pool)
    finally:
        pool.close()


def checkOneKernel():
    first, second = kernel.getKernel(), kernel.getKernel()
    expect(first.state is second.state and first.state is
           platform.globalsMap().get(kernel.KERNEL_KEY),
           u"two getKernel() calls gave different maps: the JVM-wide state is not shared")
    expect(first.executorId == second.executorId and
           first.generation.get() == second.generation.get(),
           u"two getKernel() calls disagree on the executor id or generation")
    return u"executor %s, generation %d, created %d s ago" % (
        first.executorId, first.generation.get(),
        (compat.nowMs() - first.state.get("createdAtMs")) // 1000)


def checkJavaOnly():
    if not compat.IS_JYTHON:
        raise Skipped(u"not on the JVM (%s): no interpreter to pin" % platform.runtimeName())
    k = kernel.getKernel()
    found = platform.pythonObjectsIn(k.state)
    pool = k.state.get("pool")
    if pool is not None:
        found += platform.pythonObjectsIn(pool.getThreadFactory(), u"pool.threadFactory")
    expect(not found, u"Python objects that would keep an old interpreter alive: %s"
           % u", ".join(found))
    return u"%d entries, all Java objects" % k.state.size()


class Pool(object):
    """The pool the checks submit to: this executor's, or in a client (which has none) a
    temporary one of one thread, shut down by ``close``."""

    def __init__(self):
        self.temporary = not kernel.getKernel().isExecutor()
        self.pool = None

    def get(self):
        if self.pool is None:
            self.pool = platform.newThreadPool(TEMPORARY_POOL, 1) if self.temporary \
                else kernel.getKernel().pool()
        return self.pool

    def name(self):
        return u"a temporary pool (this JVM runs no workflows)" if self.temporary \
            else u"this executor's pool"

    def close(self):
        if self.temporary and self.pool is not None:
            platform.shutdownPool(self.pool)


def onPool(pool, function):
    """``function()`` run by a thread of the pool; its value."""
    box = platform.newBoundedQueue(1)

    def task():
        try:
            box.offer((True, function()))
        except compat.CATCHABLE as error:
            box.offer((False, u"%s: %s" % compat.describeError(error)))
    platform.submit(pool.get(), task, TEMPORARY_POOL if pool.temporary else kernel.POOL_NAME)
    deadline = compat.monotonicMs() + TASK_TIMEOUT_MS
    while box.size() == 0:
        expect(compat.monotonicMs() < deadline, u"a task submitted to %s did not run within "
               u"%d s: every worker busy?" % (pool.name(), TASK_TIMEOUT_MS // 1000))
        compat.sleepMs(5)
    done, value = box.poll()
    expect(done, u"the task failed: %s" % (value,))
    return value


def _threadName():
    import threading
    return compat.toText(threading.current_thread().name)


def checkPoolRuns(pool):
    answer, thread = onPool(pool, lambda: (6 * 7, _threadName()))
    expect(answer == 42, u"the task answered %s, not 42" % compat.shown(answer))
    return u"%s ran it on %s and gave its value back" % (pool.name(), thread)


def modulesSeen(names):
    """The ``sys`` and the modules of those names that the calling thread's interpreter
    imports (a pool thread: the interpreter that runs the task)."""
    import sys as current
    return [current] + [current.modules.get(name) for name in names]


def checkPoolInterpreter(pool):
    names = [kernel.__name__, __name__]
    mine = modulesSeen(names)
    theirs = onPool(pool, lambda: modulesSeen(names))
    other = [name for name, a, b in zip(["sys"] + names, mine, theirs) if a is not b]
    expect(not other, u"a pool thread ran this interpreter's task with another interpreter's "
           u"%s: after a project save it would run old code" % u", ".join(other))
    return u"the task saw this interpreter's sys and modules"


# --- the workflow --------------------------------------------------------------------------

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
                report.run(WORKFLOW, name, _notReached, failed)
            elif report.run(WORKFLOW, name, phase) is False:
                failed = name
    finally:
        report.run(WORKFLOW, "cleanup", flowRun.cleanup)


def _notReached(failed):
    raise Skipped(u"not reached: %s failed" % failed)


class FlowRun(object):
    """One run of the built-in self-test workflow, driven and watched phase by phase until a
    common deadline."""

    def __init__(self, dbName, deadlineMs, caller):
        self.dbName = settings.databaseName(dbName)
        self.deadlineMs = deadlineMs
        self.user, self.session, self.roles = caller
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
        expect(result["code"] == "WORKFLOW_ENQUEUED", u"%s: %s" % (result["code"],
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
               ("failsTwice", "SUCCESS", flow.FAILURES + 1),
               u"its first step should have succeeded at attempt %d: %s"
               % (flow.FAILURES + 1, compat.shown(first, 200)))
        return u"failsTwice succeeded at attempt %d; the run waits for its prompt without a " \
               u"thread" % first["attempts"]

    def hold(self):
        sent = self.command("HOLD")
        self.waitFor(lambda r: r["status"] == "HELD", u"be held")
        return u"%s, then HELD" % sent

    def resume(self):
        sent = self.command("RESUME")
        self.waitFor(lambda r: _waitingOn(r, self.promptChannel), u"wait for its prompt again")
        return u"%s; it replayed its steps and waits for its prompt again" % sent

    def command(self, command):
        sent = service.sendCommand(self.workflowId, command, reason=u"self-test",
                                   dbName=self.dbName, user=self.user, session=self.session,
                                   roles=self.roles)
        expect(sent["ok"], u"%s: %s" % (sent["code"], sent["message"]))
        return sent["code"]

    def answer(self):
        promptId = self.promptChannel[len(u"prompt:"):]
        answered = prompts.respondToPrompt(promptId, flow.ANSWER, user=self.user,
                                           comment=u"self-test", session=self.session,
                                           roles=self.roles, dbName=self.dbName)
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
            self.command("CANCEL")
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
        if found["code"] == "WORKFLOW_NOT_FOUND":
            return None
        expect(found["ok"], u"%s: %s" % (found["code"], found["message"]))
        return found["data"]["status"]


def _waitingOn(row, channel):
    """Whether the run waits (WAITING, no thread) on a channel starting with ``channel``."""
    return row["status"] == statuses.WAITING and \
        (row["waitingFor"] or u"").startswith(channel)
