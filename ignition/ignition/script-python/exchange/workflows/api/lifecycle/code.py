"""What the gateway's startup and shutdown event scripts call.

Ignition runs these scripts at gateway start and stop, and also around every project save
(the old script environment shuts down, a new one starts, and threads of the old one keep
running). So both are safe to run at any time: startup is idempotent and shutdown never
stops the worker pool or forgets JVM-wide state, because work started before a save must
finish under its old code. Runs a stopped JVM left unfinished stay in the database as they
were; bringing them back is the recovery's job, not the startup script's.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.api import admin, envelope
from exchange.workflows.api.envelope import guarded
from exchange.workflows import codes, compat, platform, settings, validate
from exchange.workflows.engine import debounces, kernel, leases, lookout, memoryqueue
from exchange.workflows.errors import InvalidArgument

SHUTDOWN_FLUSH_PASSES = 20  # up to 100,000 queued requests written before a stop


def _logger():
    return platform.logger("exchange.workflows.lifecycle")


@guarded
def onStartup(workflowModules=None, installSchema=True, dbName=None, executorName=None,
              runWorkflows=True):
    """Make this gateway an executor: install or upgrade the system schema (idempotent,
    serialised between gateways), register the workflow modules, create the worker pool
    once per JVM, and register the executor (its lease), which recovers at once the runs an
    earlier executor of the same name left (``executorName``, default: the gateway's system
    name; a restarted gateway picks up its own runs without waiting for their lease). Call it
    from the startup script; it never raises.

    Only a JVM whose startup script called this claims work, registers an executor and runs
    workflow bodies. ``runWorkflows=False`` keeps a gateway a client (it serves sessions,
    enqueues and sends commands; other gateways run the work): nothing is registered.

    ``workflowModules`` names the script modules that define workflows, e.g.
    ``["plant.batch.workflows"]``. Code STARTED (or CLIENT_STARTED); data tells whether this
    is the first start in this JVM (``firstStart``) or a restart of the scripts by a project
    save.
    """
    # the arguments are checked before anything is done
    validate.name("executorName", executorName, required=False)
    if workflowModules:
        admin.checkModuleNames(workflowModules)
    settings.databaseName(dbName)
    if not isinstance(runWorkflows, bool):
        raise InvalidArgument(u"runWorkflows must be True or False")
    k = kernel.getKernel()
    firstStart = k.noteStarted()
    # from now on only this interpreter's code starts new work (none, as a client)
    k.becomeCurrentInterpreter(executes=runWorkflows)
    problems = {}
    if executorName is not None:
        settings.configure({"executorName": executorName})
    if installSchema:
        installed = admin.installSchema(dbName)
        if not installed["ok"]:
            problems["schema"] = installed["message"]
    if workflowModules:
        registered = admin.registerWorkflowModules(workflowModules)
        if not registered["ok"]:
            problems["modules"] = registered["message"]
    if not runWorkflows:
        return _clientStarted(k, firstStart, problems, dbName)
    recovery = {}
    try:
        recovery = leases.register(dbName)
    except compat.CATCHABLE as error:
        problems["executor"] = u"registration failed (the timer retries): %s" \
            % compat.describeError(error)[1]
    pool = k.pool()
    lookout.ensure()  # (replaces the lookout of the interpreter a project save replaced)
    if platform.upgradePool(pool, kernel.POOL_NAME):
        _logger().info(u"the worker pool of an older library version got a Java thread factory")
    data = {"executorId": k.executorId, "generation": k.generation.get(),
            "firstStart": firstStart, "inFlight": k.inFlight.get(),
            "poolThreads": platform.poolSize(pool), "problems": problems,
            "database": settings.databaseName(dbName),
            "executorName": leases.executorName(), "runsWorkflows": True,
            "recovered": recovery.get("recovered", 0) + recovery.get("orphansRecovered", 0),
            "exceeded": recovery.get("exceeded", 0),
            "superseded": recovery.get("superseded", 0)}
    message = u"executor %s %s (generation %d, %d run(s) in flight)" % (
        k.executorId, u"started" if firstStart else u"restarted its scripts",
        data["generation"], data["inFlight"])
    return _started(codes.STARTED, message, data, problems)


def _clientStarted(k, firstStart, problems, dbName):
    data = {"executorId": None, "firstStart": firstStart, "problems": problems,
            "database": settings.databaseName(dbName), "runsWorkflows": False,
            "inFlight": k.inFlight.get()}
    return _started(codes.CLIENT_STARTED, u"scripts started; this gateway runs no workflows "
                    u"(runWorkflows=False): it writes requests and commands only", data,
                    problems)


def _started(code, message, data, problems):
    if problems:
        _logger().error(u"%s with problems: %s" % (message, problems))
        return envelope.fail(codes.STARTED_WITH_PROBLEMS, message, data)
    _logger().info(message)
    return envelope.ok(code, message, data)


@guarded
def onShutdown():
    """Write requests still waiting in the in-memory queues (of every database connection)
    to the database, since a real stop would lose them, and leave everything else as it is:
    after a project save the running workflows go on in the old interpreter. Call it from
    the shutdown script."""
    lookout.stop()  # (a project save's onStartup starts the new interpreter's own)
    flushed = 0
    for _ in range(SHUTDOWN_FLUSH_PASSES):
        if memoryqueue.totalDepth() == 0 and memoryqueue.droppedWaiting() == 0:
            break
        landed = memoryqueue.flushAll()
        flushed += landed["flushed"]
        if landed["errors"]:
            _logger().error(u"shutdown could not store %d in-memory enqueue(s): %s"
                            % (memoryqueue.totalDepth(), landed["errors"]))
            break
        if not (landed["flushed"] or landed["deadLettered"] or landed["deduplicated"]):
            compat.sleepMs(50)  # the timer's dispatch is flushing right now
    left = memoryqueue.totalDepth()
    k = kernel.getKernel()
    data = {"executorId": k.executorId, "flushed": flushed, "inMemoryLeft": left,
            "inFlight": k.inFlight.get()}
    data["debouncesStored"] = debounces.flushAll()  # debounced calls held in memory too
    message = u"scripts stopping: %d in-memory enqueue(s) stored, %d left, %d run(s) in " \
              u"flight keep running" % (flushed, left, data["inFlight"])
    _logger().info(message)
    return envelope.ok(codes.STOPPED, message, data)


@guarded
def retire(graceSeconds=0, dbName=None):
    """Stop being an executor for good: claim nothing more, let running workflows finish for
    up to ``graceSeconds`` (the lease is renewed meanwhile), then mark this executor stopped
    and give the runs still claimed back to their queues at once (others resume them by
    replay; a hand-back does not count towards a run's recovery limit). For a headless
    worker's exit; a gateway never calls it (its shutdown script also runs on every project
    save). Code RETIRED with the count of runs given back."""
    graceMs = int(1000 * validate.number("graceSeconds", graceSeconds, allowZero=True,
                                         maximum=3600))
    lookout.stop()
    retired, givenBack = leases.retire(dbName, graceMs)
    message = u"executor %s retired; %d run(s) given back" % (kernel.getKernel().executorId,
                                                             givenBack)
    _logger().info(message)
    return envelope.ok(codes.RETIRED, message, {"retired": retired, "runsGivenBack": givenBack})
