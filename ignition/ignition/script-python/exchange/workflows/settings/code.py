"""Defaults and the per-gateway configuration of the engine.

Configuration lives in one concurrent map in the gateway globals (beside the engine's kernel,
not inside it, so every layer can read it) as plain strings and numbers, so a project save
keeps it; defaults are the named constants below. SETTINGS, the table at the end, declares
each setting once: its key and default in the map, how admin.configure checks and stores it,
how configure and getEngineInfo show it, and its line in the manual (docs/api.md,
"configure"). The engine reads a setting through a getter of its name, which reads its row's
key and default: a new setting is one row there (and a parameter of configure).
"""
from __future__ import absolute_import, division, print_function

import re

from exchange.workflows import codec, compat, platform, validate
from exchange.workflows.errors import InvalidArgument

DEFAULT_DATABASE = "WorkflowsDB"
DEFAULT_SCHEMA = "workflows"
DEFAULT_QUEUE = "default"
DEFAULT_WORKER_THREADS = 8
DEFAULT_CLAIM_BATCH = 32
DEFAULT_MEMORY_QUEUE_CAPACITY = 10000
MAX_INPUTS_BYTES = 1024 * 1024
TX_TIMEOUT_MS = 30000

OVERFLOW_REJECT = "reject"            # a full in-memory queue refuses the new request
OVERFLOW_DROP_OLDEST = "dropOldest"   # or makes room by dropping its oldest (dead-lettered)
OVERFLOW_POLICIES = (OVERFLOW_REJECT, OVERFLOW_DROP_OLDEST)
DEDUP_REJECT = "reject"               # a held deduplication id refuses the enqueue
DEDUP_RETURN_EXISTING = "returnExisting"  # or answers with the holder's workflow id
DEDUP_POLICIES = (DEDUP_REJECT, DEDUP_RETURN_EXISTING)
MAX_DELAY_SECONDS = 366 * 86400

# Leases (procrastinate's figures): an executor that has not renewed its lease for
# DEFAULT_LEASE_SECONDS is dead and its runs are recovered. Dispatch renews it once its last
# renewal is older than leaseSeconds / 10 or a second (each tick claims for at most that
# long, so the timer comes back to it).
DEFAULT_LEASE_SECONDS = 30
MIN_LEASE_SECONDS = 0.5
MAX_LEASE_SECONDS = 3600
# How often a run may be recovered (its executor died, or lost it) before it stops in
# MAX_RECOVERY_ATTEMPTS_EXCEEDED. DBOS uses 100; a run that took its gateway down ten times
# wants an engineer, not an eleventh try.
DEFAULT_MAX_RECOVERY_ATTEMPTS = 10
RECOVERY_BATCH = 500
# How often an executor with nothing to do asks the database whether work arrived that no
# enqueue here announced (a run enqueued by a client or another gateway, a peer whose lease
# ran out): one small indexed statement, on a thread of its own (engine.lookout).
DEFAULT_IDLE_POLL_MS = 50
MAX_IDLE_POLL_MS = 60000
# A durable wait (sleep, recv, getEvent, prompt) longer than this releases its thread: the
# run becomes WAITING and is woken by whoever brings what it waits for, or by dispatch at
# its wake time. Shorter waits poll on the thread (every WAIT_POLL_MS).
SHORT_WAIT_MS = 1000
WAIT_POLL_MS = 100
# A step boundary reached longer than this after the run last read its state (a checkpoint
# answers it) reads it again first, so a command or a cancel sent while the workflow body
# ran between two steps takes effect at that boundary. Back-to-back steps pay nothing.
STATE_FRESH_MS = 20
DEFAULT_WAIT_SECONDS = 60  # recv and getEvent without a timeout (DBOS's default)
# The application version runs start under and executors run (docs/versions.md); runs
# stored before versions existed have it (the column's default, schema version 8).
DEFAULT_APP_VERSION = "1"

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def isValidSchemaName(name):
    """A schema name is spliced into SQL text, so only plain lower-case identifiers pass."""
    return isinstance(name, compat.string_types) and bool(name) and bool(_IDENTIFIER.match(name))


CONFIG_KEY = "exchange.workflows.config.v1"
# An older library version kept the configuration inside its kernel (engine.kernel): an
# upgrade by a project save adopts that map, so the gateway keeps its configuration.
_OLDER_KERNEL_KEY = "exchange.workflows.kernel.v1"


def _config():
    store = platform.globalsMap()
    config = store.get(CONFIG_KEY)
    if config is None:
        config = store.setdefault(CONFIG_KEY, _firstConfig(store))
    return config


def _firstConfig(store):
    older = store.get(_OLDER_KERNEL_KEY)
    config = older.get("config") if older is not None else None
    return config if config is not None else platform.newConcurrentMap()


def configMap():
    """The JVM-wide configuration map (the kernel shows it as ``config``)."""
    return _config()


# The getters: each reads its row of SETTINGS (bound to a name at the end of the module) for
# its key and default, with one map read, as a hot path wants.

def databaseName(dbName=None):
    """The database connection to use: the argument, else the configured default."""
    if dbName:
        if not isinstance(dbName, compat.string_types):
            raise InvalidArgument(u"dbName must be the name of a database connection, not %s"
                                  % type(dbName).__name__)
        return dbName
    return _config().getOrDefault(_DATABASE.key, _DATABASE.default)


def schemaName(dbName=None):
    """The schema of the system tables in a database connection (configurable per connection)."""
    return _config().getOrDefault(_SCHEMA.key % databaseName(dbName), _SCHEMA.default)


def workerThreads():
    """How many workflows this executor runs at once."""
    return int(_config().getOrDefault(_WORKER_THREADS.key, _WORKER_THREADS.default))


def claimBatch():
    """The most rows one dispatch claims."""
    return int(_config().getOrDefault(_CLAIM_BATCH.key, _CLAIM_BATCH.default))


def memoryQueueCapacity():
    """How many in-memory enqueues may wait for the database (per database connection)."""
    return int(_config().getOrDefault(_CAPACITY.key, _CAPACITY.default))


def startOnEnqueue():
    """Whether ``enqueue`` claims on the caller's thread when this executor has room."""
    return bool(_config().getOrDefault(_START_ON_ENQUEUE.key, _START_ON_ENQUEUE.default))


def idlePollMs():
    """How often the lookout asks the database for work no enqueue here announced (0: never;
    the timer's tick still does)."""
    return int(_config().getOrDefault(_IDLE_POLL.key, _IDLE_POLL.default))


def memoryQueueOverflow():
    """What a full in-memory queue does when a call names no overflow policy."""
    return _config().getOrDefault(_OVERFLOW.key, _OVERFLOW.default)


def leaseMs():
    """How long this executor's lease lasts without renewal (milliseconds)."""
    return int(_config().getOrDefault(_LEASE.key, _LEASE.default))


def heartbeatIntervalMs():
    """The least time between two heartbeats of one executor: a tenth of the lease, at most
    a second (the gateway timer's period)."""
    return max(20, min(1000, leaseMs() // 10))


def maxRecoveryAttempts():
    """The recovery limit stored at enqueue with runs of workflows that name none (and the
    limit recovery applies to runs stored without one)."""
    return int(_config().getOrDefault(_MAX_RECOVERY.key, _MAX_RECOVERY.default))


def executorName():
    """This executor's stable name (None: the platform's default). A start under a name
    retires every earlier executor of that name and recovers its runs at once."""
    return _config().getOrDefault(_EXECUTOR_NAME.key, _EXECUTOR_NAME.default)


def appVersion():
    """The application version this JVM's code is: new runs record it, and this executor
    claims runs of it (and of compatibleVersions)."""
    return _config().getOrDefault(_APP_VERSION.key, _APP_VERSION.default)


def runnableVersions():
    """The versions whose runs this executor claims: its own first, then the compatible."""
    own = appVersion()
    compatible = codec.decode(_config().getOrDefault(_COMPATIBLE.key, _COMPATIBLE.default))
    return [own] + [v for v in compatible or [] if v != own]


def requiredRoles(area):
    """The roles of which a caller needs one for ``area`` (commands, prompt answers, admin
    calls); [] when anyone may."""
    row = _ROLES[area]
    return codec.decode(_config().getOrDefault(row.key, row.default)) or []


def checkChoice(what, value, choices):
    """Refuse a value that is not one of ``choices``."""
    if value not in choices:
        raise InvalidArgument(u"%s must be one of %s, not %s"
                              % (what, u", ".join(choices), compat.shown(value)))
    return value


def checkSchemaName(schema):
    """Refuse a schema name that is not a plain lower-case identifier."""
    if not isValidSchemaName(schema):
        raise InvalidArgument(u"schema must match [a-z_][a-z0-9_]{0,62}: %s"
                              % compat.shown(schema))
    return schema


def checkLeaseSeconds(seconds):
    """A lease length in seconds, checked (MIN_LEASE_SECONDS..MAX_LEASE_SECONDS), as a float."""
    value = validate.number("leaseSeconds", seconds, maximum=MAX_LEASE_SECONDS)
    if value < MIN_LEASE_SECONDS:
        raise InvalidArgument(u"leaseSeconds must be at least %s" % MIN_LEASE_SECONDS)
    return value


# --- the table of settings: what admin.configure takes and getEngineInfo shows --------------

class Setting(object):
    """One setting: a parameter of admin.configure, kept in the configuration map under
    ``key`` (``%s``: the database connection) as ``check`` returns it, shown (by configure
    and getEngineInfo, as ``shownAs``) as ``show`` makes it; ``doc`` is its line in the
    manual's configure table. The engine reads it through a getter above, which reads the
    row's key and default (one map read, no look-up in this table on a hot path); tests
    hold each getter to its row and each doc to the manual."""

    __slots__ = ("name", "default", "check", "doc", "key", "show", "shownAs")

    def __init__(self, name, default, check, doc, key=None, show=None, shownAs=None):
        self.name = name
        self.default = default  # as stored
        self.check = check      # a value given to configure -> as stored, or InvalidArgument
        self.doc = doc
        self.key = key or name
        self.show = show or _asStored
        self.shownAs = shownAs or name

    def storedKey(self, dbName=None):
        return self.key % databaseName(dbName) if u"%s" in self.key else self.key

    def shown(self, dbName=None):
        return self.show(_config().getOrDefault(self.storedKey(dbName), self.default))


def _asStored(value):
    return value


def _aName(what):
    return lambda value: validate.name(what, value)


def _atLeast(what, minimum):
    return lambda value: validate.wholeNumber(what, value, minimum)


def _pollPeriod(value):
    validate.wholeNumber("idlePollMs", value, 0)
    if value > MAX_IDLE_POLL_MS:
        raise InvalidArgument(u"idlePollMs must be at most %d" % MAX_IDLE_POLL_MS)
    return value


def _trueOrFalse(what):
    def check(value):
        if not isinstance(value, bool):
            raise InvalidArgument(u"%s must be True or False" % what)
        return value
    return check


def _roleList(area):
    def check(roles):
        if not isinstance(roles, (list, tuple)):
            raise InvalidArgument(u"%sRoles must be a list of role names" % area)
        for role in roles:
            validate.name("role", role)
        return codec.encode(list(roles))
    return check


def _nameList(what):
    def check(names):
        if not isinstance(names, (list, tuple)):
            raise InvalidArgument(u"%s must be a list of version names" % what)
        for name in names:
            validate.name(what, name)
        return codec.encode(list(names))
    return check


def _roles(text):
    return codec.decode(text) or []


def _seconds(ms):
    return int(ms) / 1000.0


# Each row under the name its getter reads it by; SETTINGS in the order configure stores them.
_DATABASE = Setting("defaultDatabase", DEFAULT_DATABASE, _aName("defaultDatabase"),
                    "the connection used when a call passes no dbName", key="database")
_SCHEMA = Setting("schemaName", DEFAULT_SCHEMA, checkSchemaName,
                  "the schema of the system tables, per connection", key="schema:%s",
                  shownAs="schema")
_WORKER_THREADS = Setting("workerThreads", DEFAULT_WORKER_THREADS,
                          _atLeast("workerThreads", 1),
                          "how many workflows this executor runs at once", show=int)
_CLAIM_BATCH = Setting("claimBatch", DEFAULT_CLAIM_BATCH, _atLeast("claimBatch", 1),
                       "the most rows one claim statement takes", show=int)
_CAPACITY = Setting("memoryQueueCapacity", DEFAULT_MEMORY_QUEUE_CAPACITY,
                    _atLeast("memoryQueueCapacity", 1),
                    "how many in-memory enqueues may wait, per connection", show=int)
_OVERFLOW = Setting("memoryQueueOverflow", OVERFLOW_REJECT,
                    lambda value: checkChoice("memoryQueueOverflow", value, OVERFLOW_POLICIES),
                    "what a full in-memory queue does when enqueueInMemory names no "
                    "overflowPolicy")
_START_ON_ENQUEUE = Setting("startOnEnqueue", True, _trueOrFalse("startOnEnqueue"),
                            "whether enqueue claims on the caller's thread when this executor "
                            "has a free worker", show=bool)
_IDLE_POLL = Setting("idlePollMs", DEFAULT_IDLE_POLL_MS,
                     _pollPeriod,
                     "how often (ms) an idle executor looks for runs enqueued elsewhere "
                     "and lapsed peers",
                     show=int)
_LEASE = Setting("leaseSeconds", DEFAULT_LEASE_SECONDS * 1000,
                 lambda value: int(checkLeaseSeconds(value) * 1000),
                 "how long this executor stays the owner of its runs without renewing its "
                 "lease", key="leaseMs", show=_seconds)
_EXECUTOR_NAME = Setting("executorName", None, _aName("executorName"),
                         "this executor's stable name: a start under it takes over its runs",
                         show=lambda name: name or platform.defaultExecutorName())
_MAX_RECOVERY = Setting("maxRecoveryAttempts", DEFAULT_MAX_RECOVERY_ATTEMPTS,
                        _atLeast("maxRecoveryAttempts", 0),
                        "the recovery limit given to runs of workflows that name none",
                        show=int)
_APP_VERSION = Setting("appVersion", DEFAULT_APP_VERSION, _aName("appVersion"),
                       "the application version new runs record and this executor runs")
_COMPATIBLE = Setting("compatibleVersions", "[]", _nameList("compatibleVersions"),
                      "older versions whose runs this executor's code can finish",
                      show=codec.decode)
_ROLES = {
    "command": Setting("commandRoles", "[]", _roleList("command"),
                       "an actor needs one of them to send operator commands",
                       key="roles:command", show=_roles),
    "prompt": Setting("promptRoles", "[]", _roleList("prompt"),
                      "an actor needs one of them to answer prompts", key="roles:prompt",
                      show=_roles),
    "admin": Setting("adminRoles", "[]", _roleList("admin"),
                     "an actor needs one of them for maintenance, swaps and the self-test",
                     key="roles:admin", show=_roles)}
SETTINGS = (_DATABASE, _SCHEMA, _WORKER_THREADS, _CLAIM_BATCH, _CAPACITY, _OVERFLOW,
            _START_ON_ENQUEUE, _IDLE_POLL, _LEASE, _EXECUTOR_NAME, _MAX_RECOVERY, _ROLES["command"],
            _ROLES["prompt"], _ROLES["admin"], _APP_VERSION, _COMPATIBLE)


def configure(values, dbName=None):
    """Check every value of ``values`` (a setting's name -> its new value; None leaves it
    as it is), then store them all in the table's order (a new default database first:
    the schema is set for it): a refused value changes nothing. ``dbName``: the connection
    of the per-connection settings."""
    names = set(row.name for row in SETTINGS)
    unknown = [name for name in values if name not in names]
    if unknown:
        raise InvalidArgument(u"unknown setting(s): %s" % u", ".join(sorted(unknown)))
    databaseName(dbName)  # (refuses a dbName that is no name before anything is stored)
    checked = [(row, row.check(values[row.name])) for row in SETTINGS
               if values.get(row.name) is not None]
    for row, stored in checked:
        _config().put(row.storedKey(dbName), stored)


def shown(dbName=None):
    """Every setting as configure and getEngineInfo show it (the schema: ``dbName``'s)."""
    return dict((row.shownAs, row.shown(dbName)) for row in SETTINGS)
