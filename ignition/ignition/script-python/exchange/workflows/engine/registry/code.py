"""The workflow registry: the definitions of workflows and steps, and the names they run under.

The registry maps names to functions in this interpreter (the decorators of engine.runtime
fill it). A project save builds a new interpreter with an empty registry, so user modules
are registered by name (``registerModule``); the names live in the JVM-wide kernel and the
modules are imported again on first lookup in the new interpreter.
"""
from __future__ import absolute_import, division, print_function

import threading

from exchange.workflows import codec, codes, compat, platform
from exchange.workflows.engine import kernel
from exchange.workflows.errors import InvalidArgument

# Workflow modules of the library itself: every interpreter imports them on its first
# look-up, as it does the registered ones, so every executor can run their workflows.
BUILTIN_MODULES = ("exchange.workflows.engine.selftestflow",)

_registry = {}
_schedules = {}  # schedule name -> ScheduleDeclaration (engine.runtime.schedule)
_failedImports = set()  # modules that failed in this interpreter: not retried until re-registered
_lock = threading.RLock()


class WorkflowDefinition(object):
    """A registered workflow: its name, function and run defaults."""

    def __init__(self, name, function, timeoutSeconds, maxRecoveryAttempts=None, onHold=None,
                 onStop=None):
        self.name = name
        self.function = function
        self.onHold = onHold  # run (as steps) when a HOLD is applied, before the run is HELD
        self.onStop = onStop  # run (as steps) when a STOP is applied; its result is the output
        self.timeoutSeconds = timeoutSeconds
        self.maxRecoveryAttempts = maxRecoveryAttempts  # None: the engine's default
        self.source = "%s.%s" % (getattr(function, "__module__", "?"), function.__name__)
        self._argSpec = None

    def argSpec(self):
        """The function's parameters, read once: ``inspect`` is slow on Jython, and
        ``enqueueInMemory`` runs on tag event threads that must return in milliseconds."""
        if self._argSpec is None:
            self._argSpec = compat.argSpec(self.function)
        return self._argSpec


class StepDefinition(object):
    """A step's name and retry policy (DBOS defaults: off; 3 attempts, 1 s, x2; every
    error worth a retry unless ``retryIf`` says otherwise)."""

    def __init__(self, name, function, retriesAllowed, maxAttempts, intervalSeconds, backoffRate,
                 retryIf=None):
        self.name = name
        self.function = function
        self.retriesAllowed = bool(retriesAllowed)
        self.maxAttempts = int(maxAttempts)
        self.intervalSeconds = float(intervalSeconds)
        self.backoffRate = float(backoffRate)
        self.retryIf = retryIf  # error -> whether another attempt may help (None: always)

    def worthRetrying(self, error):
        """Whether ``retryIf`` deems the error worth another attempt; a predicate that
        raises answers no (the step fails with the original error, not the predicate's)."""
        if self.retryIf is None:
            return True
        try:
            return bool(self.retryIf(error))
        except compat.CATCHABLE:
            return False

    def delayMs(self, failedAttempt):
        """Wait after the n-th failed attempt: interval * rate^(n-1)."""
        return int(1000 * self.intervalSeconds * (self.backoffRate ** (failedAttempt - 1)))


def add(definition):
    """Register a workflow definition under its name; a name another function holds is
    refused (the same function, imported again after a project save, replaces itself)."""
    _validateName(definition.name)
    with _lock:
        existing = _registry.get(definition.name)
        if existing is not None and existing.source != definition.source:
            raise InvalidArgument(u"workflow name %r is already registered by %s"
                                  % (definition.name, existing.source), codes.DUPLICATE_WORKFLOW)
        _registry[definition.name] = definition


def _validateName(name):
    if not isinstance(name, compat.string_types) or not name.strip() or len(name) > 200:
        raise InvalidArgument(u"workflow names are 1 to 200 characters: %s" % compat.shown(name))


def registerModule(moduleName):
    """Remember a user module that defines workflows, and import it now.

    The name is kept JVM-wide, so after a project save (or in a worker thread of a new
    interpreter) the module is imported again when one of its workflows is looked up.
    """
    _import(moduleName)
    _failedImports.discard(moduleName)
    kernel.getKernel().modules.put(moduleName, True)


def registeredModules():
    """The user workflow modules registered in this JVM."""
    return sorted(kernel.getKernel().modules.keySet())


def _import(moduleName):
    module = __import__(moduleName)
    for part in moduleName.split(".")[1:]:
        module = getattr(module, part)
    return module


def _loadRegisteredModules():
    """Import the built-in and registered modules this interpreter has not loaded yet, each
    on its own: a broken module costs only its own workflows."""
    for moduleName in list(BUILTIN_MODULES) + registeredModules():
        if moduleName in _failedImports:
            continue
        if not any(d.source.startswith(moduleName + ".") for d in list(_registry.values())):
            try:
                _import(moduleName)
            except compat.CATCHABLE as error:
                _failedImports.add(moduleName)
                _importFailed(moduleName, error)


def _importFailed(moduleName, error):
    try:
        # (the logger keeps the name of the module authors import: docs/operations.md)
        platform.logger("exchange.workflows.runtime").error(
            u"workflow module %s could not be imported: %s: %s"
            % ((moduleName,) + compat.describeError(error)))
    except compat.CATCHABLE:
        pass


def lookup(name):
    """The definition of a workflow name in this interpreter, importing user modules if needed."""
    definition = _registry.get(name)
    if definition is None:
        with _lock:
            _loadRegisteredModules()
        definition = _registry.get(name)
    return definition


def registeredNames():
    """All workflow names known in this interpreter, sorted."""
    return list(namesAndJson()[0])


_names = [None]  # (the kernel's modules map, its size, the registry's size, names, JSON)


def namesAndJson():
    """(registeredNames() as a tuple, its JSON text) for a claim, which names what this
    interpreter runs. Every claim asks (a worker's hand-over, each tick): modules are only
    added, to the kernel's map and to the registry, so while both sizes (and the map) are
    those of the last answer, nothing new is registered and the answer stands, made without
    the lock, the imports' scan or the encoding."""
    modules = kernel.getKernel().modules
    size = modules.size()
    known = _names[0]
    if known is not None and known[0] is modules and known[1] == size \
            and known[2] == len(_registry):
        return known[3], known[4]
    with _lock:
        _loadRegisteredModules()
        names = tuple(sorted(_registry.keys()))
        namesJson = codec.encode(list(names))
        _names[0] = (modules, size, len(_registry), names, namesJson)
        return names, namesJson


def inputProblem(definition, inputs):
    """Why ``inputs`` cannot be passed to the workflow as keyword arguments, or None."""
    names, varkw, defaults = definition.argSpec()
    required = names[:len(names) - len(defaults or ())]
    missing = [n for n in required if n not in inputs]
    unknown = [k for k in inputs if k not in names] if varkw is None else []
    if missing or unknown:
        parts = []
        if missing:
            parts.append(u"missing %s" % u", ".join(sorted(missing)))
        if unknown:
            parts.append(u"unexpected %s" % u", ".join(sorted(compat.toText(k) for k in unknown)))
        return u"inputs do not match %s(%s): %s" % (definition.name, u", ".join(names),
                                                     u"; ".join(parts))
    return None


class ScheduleDeclaration(object):
    """A schedule declared in code (``@schedule``): its name, workflow, cron expression, time
    zone, inputs, queue, and the module that declared it."""

    def __init__(self, name, workflowName, cron, timeZone, inputs=None, queueName=None,
                 module=None):
        self.name, self.workflowName, self.cron, self.timeZone = name, workflowName, cron, \
            timeZone
        self.inputs, self.queueName, self.module = inputs, queueName, module


def addSchedule(declaration):
    """Record a schedule declared in code; a name another module declares is refused."""
    with _lock:
        existing = _schedules.get(declaration.name)
        if existing is not None and existing.module != declaration.module:
            raise InvalidArgument(u"schedule %r is already declared by %s"
                                  % (declaration.name, existing.module))
        _schedules[declaration.name] = declaration


def declaredSchedules():
    """The schedules declared by the built-in and registered modules, by name (the dispatch
    tick upserts them: engine.schedules)."""
    with _lock:
        _loadRegisteredModules()
        modules = set(BUILTIN_MODULES) | set(registeredModules())
        return sorted([d for d in _schedules.values() if d.module in modules],
                      key=lambda d: d.name)
