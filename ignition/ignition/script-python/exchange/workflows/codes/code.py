"""The codes of envelopes and of the engine's errors, each declared once.

An envelope's ``code`` is a caller's stable contract (branch on it, not on the message), so
the library names a code only through this module, and tests/unit/test_codes.py holds it
against the manual ("All codes" in docs/api.md). Each constant's value is its own name.
"""
from __future__ import absolute_import, division, print_function

# Any call (api.envelope.fromError, api.envelope.callMistake, validate)
SCHEMA_NOT_INSTALLED = "SCHEMA_NOT_INSTALLED"  # the workflow tables are missing (42P01, 3F000)
DATABASE_NOT_FOUND = "DATABASE_NOT_FOUND"  # a database error, and no connection of that name
DATABASE_ERROR = "DATABASE_ERROR"  # any other database error
INTERNAL_ERROR = "INTERNAL_ERROR"  # anything else (logged with its traceback)
INVALID_ARGUMENT = "INVALID_ARGUMENT"  # a value of the wrong type or range (errors.InvalidArgument)
MISSING_ARGUMENT = "MISSING_ARGUMENT"  # a required argument is None or not given
VALUE_TOO_LONG = "VALUE_TOO_LONG"  # a name or free text over its length limit
NOT_AUTHORIZED = "NOT_AUTHORIZED"  # the actor holds none of the required roles
WORKFLOWS_ERROR = "WORKFLOWS_ERROR"  # errors.WorkflowsError raised without a code of its own

# enqueue / start, enqueueInMemory
WORKFLOW_ENQUEUED = "WORKFLOW_ENQUEUED"  # a run was created
WORKFLOW_EXISTS = "WORKFLOW_EXISTS"  # the workflowId exists, same workflow; nothing created
DEDUPLICATED = "DEDUPLICATED"  # returnExisting: an active run holds the deduplication id
WORKFLOW_ID_CONFLICT = "WORKFLOW_ID_CONFLICT"  # the workflowId belongs to another workflow
DUPLICATE_DEDUPLICATION_ID = "DUPLICATE_DEDUPLICATION_ID"  # reject: the id is held
UNKNOWN_WORKFLOW = "UNKNOWN_WORKFLOW"  # no workflow of that name is registered
INVALID_INPUTS = "INVALID_INPUTS"  # inputs not a dict, a non-text key, a missing argument
INPUTS_NOT_SERIALIZABLE = "INPUTS_NOT_SERIALIZABLE"  # inputs cannot be stored as JSON
INPUTS_TOO_LARGE = "INPUTS_TOO_LARGE"  # the inputs' JSON is over settings.MAX_INPUTS_BYTES
ACCEPTED_IN_MEMORY = "ACCEPTED_IN_MEMORY"  # queued in gateway memory
ACCEPTED_DROPPED_OLDEST = "ACCEPTED_DROPPED_OLDEST"  # accepted; the oldest request dropped
IN_MEMORY_QUEUE_FULL = "IN_MEMORY_QUEUE_FULL"  # the in-memory queue is full (reject)

# debounce, debounceInMemory, listDebounces (api.debounces)
DEBOUNCED = "DEBOUNCED"  # the call joined (or began) its key's pending burst, durably
DEBOUNCED_IN_MEMORY = "DEBOUNCED_IN_MEMORY"  # ... in gateway memory; dispatch stores it
DEBOUNCE_MEMORY_FULL = "DEBOUNCE_MEMORY_FULL"  # too many keys pending in memory; refused
DEBOUNCE_MAX_WAIT = "DEBOUNCE_MAX_WAIT"  # maxWaitSeconds is shorter than periodSeconds
DEBOUNCES_LISTED = "DEBOUNCES_LISTED"  # listDebounces answered

# dispatch
DISPATCHED = "DISPATCHED"  # a dispatch cycle ran on an executor
FLUSHED = "FLUSHED"  # not an executor: the in-memory requests were stored
DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE"  # the database is unreachable (backoff)

# Reading runs
WORKFLOW_FOUND = "WORKFLOW_FOUND"  # getStatus found the run
WORKFLOW_NOT_FOUND = "WORKFLOW_NOT_FOUND"  # no run with that id
WORKFLOWS_LISTED = "WORKFLOWS_LISTED"  # listWorkflows
STEPS_LISTED = "STEPS_LISTED"  # listSteps
WORKFLOWS_REGISTERED = "WORKFLOWS_REGISTERED"  # listRegisteredWorkflows
WORKFLOW_SUCCEEDED = "WORKFLOW_SUCCEEDED"  # getResult: the run ended SUCCESS
WORKFLOW_FAILED = "WORKFLOW_FAILED"  # getResult: the run ended ERROR
WORKFLOW_CANCELLED = "WORKFLOW_CANCELLED"  # getResult: CANCELLED (also errors.WorkflowCancelled)
WORKFLOW_STOPPED = "WORKFLOW_STOPPED"  # getResult: STOPPED (also errors.WorkflowStopped)
MAX_RECOVERY_ATTEMPTS_EXCEEDED = "MAX_RECOVERY_ATTEMPTS_EXCEEDED"  # getResult: at its limit
RESULT_TIMEOUT = "RESULT_TIMEOUT"  # getResult: still active when the wait ended

# Operator commands (engine.commands decides them by the matrix)
UNKNOWN_COMMAND = "UNKNOWN_COMMAND"  # cmd is not HOLD, RESUME, STOP or CANCEL
HELD = "HELD"  # a run without a thread is held at once
HOLD_REQUESTED = "HOLD_REQUESTED"  # a running run holds at its next step boundary
HOLD_WITHDRAWN = "HOLD_WITHDRAWN"  # RESUME cleared a pending HOLD
RESUMED = "RESUMED"  # a held run is back in its queue
WORKFLOW_RESUMED = "WORKFLOW_RESUMED"  # a CANCELLED or recovery-exceeded run is back in its queue
STOP_REQUESTED = "STOP_REQUESTED"  # the run stops at its next step boundary
STOPPED = "STOPPED"  # a run that never started is stopped at once; also onShutdown's code
CANCEL_REQUESTED = "CANCEL_REQUESTED"  # the run is CANCELLED at once
DELAY_CHANGED = "DELAY_CHANGED"  # changeDelay: the DELAYED run starts at its new time
NOT_DELAYED = "NOT_DELAYED"  # changeDelay: only a run still waiting for its delay has one
ALREADY_HELD = "ALREADY_HELD"  # HOLD of a held run
HOLD_PENDING = "HOLD_PENDING"  # HOLD of a run with a HOLD pending
STOP_PENDING = "STOP_PENDING"  # a STOP is pending: only CANCEL is accepted
NOT_HELD = "NOT_HELD"  # RESUME of an active run that is not held
WORKFLOW_FINISHED = "WORKFLOW_FINISHED"  # HOLD or STOP of a run that has ended
NOT_RESUMABLE = "NOT_RESUMABLE"  # RESUME of a run that ended SUCCESS, ERROR or STOPPED
NOT_CANCELLABLE = "NOT_CANCELLABLE"  # CANCEL of a run that has ended
STILL_RUNNING = "STILL_RUNNING"  # RESUME while the cancelled run's thread is in a step
RESUME_CONFLICT = "RESUME_CONFLICT"  # RESUME: another active run holds its deduplication id

# Queues
QUEUE_DECLARED = "QUEUE_DECLARED"  # declareQueue changed the limits
QUEUE_UNCHANGED = "QUEUE_UNCHANGED"  # declareQueue: the queue already had these limits
QUEUES_LISTED = "QUEUES_LISTED"  # listQueues
QUEUE_REMOVED = "QUEUE_REMOVED"  # removeQueue
QUEUE_NOT_FOUND = "QUEUE_NOT_FOUND"  # removeQueue: the queue was not declared

# Dead letters
DEAD_LETTERS_LISTED = "DEAD_LETTERS_LISTED"  # listDeadLetters
DEAD_LETTER_REPLAYED = "DEAD_LETTER_REPLAYED"  # replayDeadLetter enqueued it
DEAD_LETTER_NOT_FOUND = "DEAD_LETTER_NOT_FOUND"  # no dead letter with that id
DEAD_LETTER_ALREADY_REPLAYED = "DEAD_LETTER_ALREADY_REPLAYED"  # replayed before
REPLAY_CONFLICT = "REPLAY_CONFLICT"  # its workflow id or deduplication id is taken
DEAD_LETTERS_PURGED = "DEAD_LETTERS_PURGED"  # purgeDeadLetters

# Administration
SCHEMA_INSTALLED = "SCHEMA_INSTALLED"  # installSchema
SCHEMA_CURRENT = "SCHEMA_CURRENT"  # checkSchema: nothing to migrate
SCHEMA_OUTDATED = "SCHEMA_OUTDATED"  # checkSchema: migrations are due
CONFIGURED = "CONFIGURED"  # configure
MODULES_REGISTERED = "MODULES_REGISTERED"  # registerWorkflowModules
MODULE_IMPORT_FAILED = "MODULE_IMPORT_FAILED"  # registerWorkflowModules: an import failed
ENGINE_INFO = "ENGINE_INFO"  # getEngineInfo
EXECUTORS_LISTED = "EXECUTORS_LISTED"  # listExecutors
RECOVERY_DONE = "RECOVERY_DONE"  # recoverNow
NOT_AN_EXECUTOR = "NOT_AN_EXECUTOR"  # recoverNow, swapIfDrained on a JVM that runs no workflows
RETENTION_APPLIED = "RETENTION_APPLIED"  # applyRetention
RETENTION_POLICY = "RETENTION_POLICY"  # getRetentionPolicy
RETENTION_POLICY_SET = "RETENTION_POLICY_SET"  # setRetentionPolicy stored it for every gateway
NO_RETENTION_POLICY = "NO_RETENTION_POLICY"  # applyRetention of the policy while no limit is set
STATISTICS = "STATISTICS"  # getStatistics, consoleinsights.insights
SELF_TEST_PASSED = "SELF_TEST_PASSED"  # selfTest: every check passed
SELF_TEST_FAILED = "SELF_TEST_FAILED"  # selfTest: a check failed

# Maintenance
MAINTENANCE_ENTERED = "MAINTENANCE_ENTERED"  # enterMaintenance
MAINTENANCE_EXITED = "MAINTENANCE_EXITED"  # exitMaintenance ended a scope
NOT_IN_MAINTENANCE = "NOT_IN_MAINTENANCE"  # exitMaintenance: no scope was on
MAINTENANCE_STATUS = "MAINTENANCE_STATUS"  # getMaintenanceStatus
SWAPPED = "SWAPPED"  # swapIfDrained replaced the pools
NOT_DRAINED = "NOT_DRAINED"  # swapIfDrained: work is still in flight or claimed
MAINTENANCE_REQUIRED = "MAINTENANCE_REQUIRED"  # swapIfDrained outside maintenance

# Templates and enums (api.templates, api.enums)
TEMPLATES_LISTED = "TEMPLATES_LISTED"  # listTemplates
TEMPLATE_FOUND = "TEMPLATE_FOUND"  # getTemplate
TEMPLATE_NOT_FOUND = "TEMPLATE_NOT_FOUND"  # no template of that name
TEMPLATE_FORM = "TEMPLATE_FORM"  # templateForm
TEMPLATE_DELETED = "TEMPLATE_DELETED"  # deleteTemplate
TEMPLATE_IN_USE = "TEMPLATE_IN_USE"  # deleteTemplate: a run started from it is active
TEMPLATE_NOT_ACTIVE = "TEMPLATE_NOT_ACTIVE"  # startWithTemplate: no (such) active version
TEMPLATE_WORKFLOW_MISMATCH = "TEMPLATE_WORKFLOW_MISMATCH"  # the template is for another workflow
INVALID_TEMPLATE = "INVALID_TEMPLATE"  # a version's values or form layout are malformed
ENUMS_LISTED = "ENUMS_LISTED"  # listEnums
ENUM_FOUND = "ENUM_FOUND"  # getEnum
ENUM_NOT_FOUND = "ENUM_NOT_FOUND"  # no enum of that name
INVALID_ENUM = "INVALID_ENUM"  # a version's options are malformed
VERSION_CREATED = "VERSION_CREATED"  # createTemplateVersion, createEnumVersion: a DRAFT
VERSION_ACTIVATED = "VERSION_ACTIVATED"  # activate...Version: the previous one retired
VERSION_RETIRED = "VERSION_RETIRED"  # retire...Version
VERSION_NOT_FOUND = "VERSION_NOT_FOUND"  # no such version of the template or enum
VERSION_NOT_DRAFT = "VERSION_NOT_DRAFT"  # activate of a version that is not a DRAFT
VERSION_ALREADY_RETIRED = "VERSION_ALREADY_RETIRED"  # retire of a retired version

# Console view models: queues, executors, admin (api.consolequeues, consoleexecutors,
# consoleadmin)
QUEUES_PAGE = "QUEUES_PAGE"  # consolequeues.queuesPage
EXECUTORS_PAGE = "EXECUTORS_PAGE"  # consoleexecutors.executorsPage
ADMIN_OVERVIEW = "ADMIN_OVERVIEW"  # consoleadmin.overview
CATALOG_PAGE = "CATALOG_PAGE"  # consolecatalog.catalogPage

# Lifecycle
STARTED = "STARTED"  # onStartup of an executor
CLIENT_STARTED = "CLIENT_STARTED"  # onStartup of a gateway that runs no workflows
STARTED_WITH_PROBLEMS = "STARTED_WITH_PROBLEMS"  # onStartup found problems
RETIRED = "RETIRED"  # retire

# Prompts
PROMPTS_LISTED = "PROMPTS_LISTED"  # listPrompts
PROMPT_FOUND = "PROMPT_FOUND"  # getPrompt
PROMPT_NOT_FOUND = "PROMPT_NOT_FOUND"  # no prompt with that id
PROMPT_ANSWERED = "PROMPT_ANSWERED"  # respondToPrompt: the answer is recorded
PROMPT_ALREADY_ANSWERED = "PROMPT_ALREADY_ANSWERED"  # answered before
PROMPT_TIMED_OUT = "PROMPT_TIMED_OUT"  # the prompt's time ran out
PROMPT_CLOSED = "PROMPT_CLOSED"  # the prompt's run has ended
INVALID_RESPONSE = "INVALID_RESPONSE"  # the answer does not match the prompt's schema

# Messages, events, streams, journal
MESSAGE_SENT = "MESSAGE_SENT"  # messages.send
MESSAGE_DUPLICATE = "MESSAGE_DUPLICATE"  # a message with that idempotency key was sent before
NOT_SERIALIZABLE = "NOT_SERIALIZABLE"  # a message or durable value cannot be stored as JSON
EVENT_FOUND = "EVENT_FOUND"  # getEvent
EVENT_TIMEOUT = "EVENT_TIMEOUT"  # getEvent: not published within the wait
EVENTS_LISTED = "EVENTS_LISTED"  # listEvents
STREAM_READ = "STREAM_READ"  # readStream
JOURNAL_LISTED = "JOURNAL_LISTED"  # listJournal

# Console view models (api/consoleruns, consoledetails, consoleprompts)
FILTER_OPTIONS = "FILTER_OPTIONS"  # consoleruns.filterOptions
RUNS_PAGE = "RUNS_PAGE"  # consoleruns.runsPage
RUNS_CHART = "RUNS_CHART"  # consoleruns.runsChart
WORKFLOW_FORM = "WORKFLOW_FORM"  # consoleruns.workflowForm
FORM_VALUES = "FORM_VALUES"  # consoleforms.values
RUN_DETAILS = "RUN_DETAILS"  # consoledetails.runDetails
RUN_TIMELINE = "RUN_TIMELINE"  # consoledetails.runTimeline
RUN_ACTIVITY = "RUN_ACTIVITY"  # consoledetails.runActivity
PROMPT_INBOX = "PROMPT_INBOX"  # consoleprompts.inbox
PROMPT_HISTORY = "PROMPT_HISTORY"  # consoleprompts.history

# Schedules (api.schedules, engine.schedules, the cron module; docs/schedules.md)
INVALID_CRON = "INVALID_CRON"  # a cron expression that does not parse or never fires
UNKNOWN_TIME_ZONE = "UNKNOWN_TIME_ZONE"  # a time zone neither java.time nor zoneinfo knows
SCHEDULE_CREATED = "SCHEDULE_CREATED"  # createSchedule stored a new schedule
SCHEDULE_EXISTS = "SCHEDULE_EXISTS"  # createSchedule: the name is taken; nothing changed
SCHEDULE_NOT_FOUND = "SCHEDULE_NOT_FOUND"  # no schedule of that name
SCHEDULE_PAUSED = "SCHEDULE_PAUSED"  # pauseSchedule: it fires no more ticks until resumed
SCHEDULE_RESUMED = "SCHEDULE_RESUMED"  # resumeSchedule: it fires again from the next tick
SCHEDULE_ALREADY_PAUSED = "SCHEDULE_ALREADY_PAUSED"  # pauseSchedule of a paused schedule
SCHEDULE_ALREADY_ACTIVE = "SCHEDULE_ALREADY_ACTIVE"  # resumeSchedule of an active schedule
SCHEDULE_DELETED = "SCHEDULE_DELETED"  # deleteSchedule removed it (its runs stay)
SCHEDULE_DECLARED_IN_CODE = "SCHEDULE_DECLARED_IN_CODE"  # delete refused: code declares it
SCHEDULE_TRIGGERED = "SCHEDULE_TRIGGERED"  # triggerSchedule started a run now
SCHEDULE_BACKFILLED = "SCHEDULE_BACKFILLED"  # backfillSchedule created the missing ticks
BACKFILL_TOO_LARGE = "BACKFILL_TOO_LARGE"  # the window holds more ticks than one call makes
SCHEDULES_LISTED = "SCHEDULES_LISTED"  # listSchedules
SCHEDULES_PAGE = "SCHEDULES_PAGE"  # consoleschedules.schedulesPage

# Raised in workflow code (a run's error.code when uncaught), not returned by a call
DUPLICATE_WORKFLOW = "DUPLICATE_WORKFLOW"  # two workflows registered under one name
NOT_IN_WORKFLOW = "NOT_IN_WORKFLOW"  # a durable helper called outside a workflow
NOT_ALLOWED_IN_STEP = "NOT_ALLOWED_IN_STEP"  # a durable helper called inside a step
STREAM_CLOSED = "STREAM_CLOSED"  # a write to a closed stream
INVALID_SCHEMA = "INVALID_SCHEMA"  # a prompt's schema uses what engine.schemas cannot check
STEP_FAILED = "STEP_FAILED"  # errors.StepError: a step failed after its retries
NON_DETERMINISTIC_REPLAY = "NON_DETERMINISTIC_REPLAY"  # errors.NonDeterminismError
HANDLER_FAILED = "HANDLER_FAILED"  # errors.HandlerFailed: a hold or stop handler raised
TAG_BAD_QUALITY = "TAG_BAD_QUALITY"  # engine.plant: a tag read came back not Good
TAG_WRITE_FAILED = "TAG_WRITE_FAILED"  # engine.plant: a tag write answered a bad QualityCode
TAG_CONFIRM_TIMEOUT = "TAG_CONFIRM_TIMEOUT"  # engine.plant: a written value never read back
DB_STATEMENT_REFUSED = "DB_STATEMENT_REFUSED"  # plantio.dbQuery/dbUpdate: refused, not retried
CHILD_FAILED = "CHILD_FAILED"  # errors.ChildFailed: a child workflow ended in ERROR (or gave up)
CHILD_CANCELLED = "CHILD_CANCELLED"  # errors.ChildFailed: a child was cancelled or stopped
CHILD_RESULT_TIMEOUT = "CHILD_RESULT_TIMEOUT"  # errors.ChildFailed: getResult's wait ran out

# Control signals (errors.ControlSignal): they stop a workflow body and end in no envelope
OWNERSHIP_LOST = "OWNERSHIP_LOST"  # errors.OwnershipLost: another attempt owns the run
CHECKPOINT_UNAVAILABLE = "CHECKPOINT_UNAVAILABLE"  # errors.CheckpointUnavailable
WORKFLOW_SUSPENDED = "WORKFLOW_SUSPENDED"  # errors.WorkflowSuspended: waiting or held

# Forks and versions (api.service.fork, api.admin.moveRuns)
WORKFLOW_FORKED = "WORKFLOW_FORKED"  # a new run took the original's history before fromStep
FORK_STEP_OUT_OF_RANGE = "FORK_STEP_OUT_OF_RANGE"  # fromStep is not 1 .. last position + 1
RUNS_MOVED = "RUNS_MOVED"  # the active runs of one application version now have another
