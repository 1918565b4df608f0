"""The names the library stores besides run statuses (statuses) and envelope codes (codes):
operator commands, journal actions and dead-letter reasons, each declared once.

They are a caller's contract like the codes: a command is what sendCommand takes and
pending_command holds, a journal entry's ``action`` and a dead letter's ``reason`` are
what listJournal and listDeadLetters filter on (docs/api.md). tests/unit/test_codes.py
fails on any such name written inline elsewhere in the library.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows import codes

# Operator commands (engine.commands); each is also the journal action of the command.
# HOLD and STOP wait for the run's next step boundary (engine.boundary).
HOLD = "HOLD"
RESUME = "RESUME"
STOP = "STOP"
CANCEL = "CANCEL"
COMMANDS = (HOLD, RESUME, STOP, CANCEL)
# The console's button for RESUME of an ended run (api.service.resume), beside RESUME of a
# held one (api.consoledetails)
RESUME_TERMINAL = "RESUME_TERMINAL"

# Journal actions besides the commands. RECOVER and HAND_BACK are journaled by the SQL
# statements that move the runs (db/executors), and written there.
PROMPT_ANSWER = "PROMPT_ANSWER"          # engine.answers
MAINTENANCE_ENTER = "MAINTENANCE_ENTER"  # maintenance.mode
MAINTENANCE_EXIT = "MAINTENANCE_EXIT"    # maintenance.mode
SWAP = "SWAP"                            # maintenance.mode: swapIfDrained
SELF_TEST = "SELF_TEST"                  # api.selftest
CHANGE_DELAY = "CHANGE_DELAY"            # engine.delays: api.service.changeDelay
RECOVER = "RECOVER"                      # db/executors writes it; the console reads it
# The console's admin actions (api.consoleadmin), journaled with the roles of adminRoles
DEAD_LETTER_REPLAY = "DEAD_LETTER_REPLAY"
DEAD_LETTER_PURGE = "DEAD_LETTER_PURGE"
RETENTION = "RETENTION"
SCHEMA_UPGRADE = "SCHEMA_UPGRADE"
# A fork of a run (engine.forks, commandRoles) and a move of runs between application
# versions (engine.versions, adminRoles)
FORK = "FORK"
MOVE_RUNS = "MOVE_RUNS"

# The console's maintenance actions (api.consoleadmin.maintenanceAction)
ENTER = "ENTER"
EXIT = "EXIT"
MAINTENANCE_ACTIONS = (ENTER, EXIT, SWAP)

# Why an in-memory enqueue became a dead letter (engine.memoryqueue). The two conflicts are
# the enqueue codes of the same conflicts, which db/runs writes in its SQL.
REASON_REFUSED = "REFUSED"  # the database refused its data (SQLSTATE class 22 or 23)
REASON_DROPPED_OLDEST = "DROPPED_OLDEST"  # the full queue's dropOldest policy dropped it
REASON_DEBOUNCE_INVALID = "DEBOUNCE_INVALID"  # a due debounced burst no longer validates
DEAD_LETTER_REASONS = (codes.WORKFLOW_EXISTS, codes.DUPLICATE_DEDUPLICATION_ID,
                       REASON_REFUSED, REASON_DROPPED_OLDEST, REASON_DEBOUNCE_INVALID)

# Templates and enums (engine.catalog, engine.templates), journaled with adminRoles; a start
# from a template (api.templates.startWithTemplate) with commandRoles
TEMPLATE_VERSION_CREATE = "TEMPLATE_VERSION_CREATE"
TEMPLATE_VERSION_ACTIVATE = "TEMPLATE_VERSION_ACTIVATE"
TEMPLATE_VERSION_RETIRE = "TEMPLATE_VERSION_RETIRE"
TEMPLATE_DELETE = "TEMPLATE_DELETE"
TEMPLATE_START = "TEMPLATE_START"
ENUM_VERSION_CREATE = "ENUM_VERSION_CREATE"
ENUM_VERSION_ACTIVATE = "ENUM_VERSION_ACTIVATE"
ENUM_VERSION_RETIRE = "ENUM_VERSION_RETIRE"
# The console's Templates page (api.consolecatalog.versionAction): the kinds and actions
TEMPLATE = "TEMPLATE"
ENUM = "ENUM"
ACTIVATE = "ACTIVATE"
RETIRE = "RETIRE"

# Schedules (engine.scheduleadmin): journal actions (create, delete and backfill with
# adminRoles; pause, resume and trigger with commandRoles), where a schedule came from,
# and the console's buttons (api.consoleschedules.scheduleAction; RESUME is the command's)
SCHEDULE_CREATE = "SCHEDULE_CREATE"
SCHEDULE_PAUSE = "SCHEDULE_PAUSE"
SCHEDULE_RESUME = "SCHEDULE_RESUME"
SCHEDULE_DELETE = "SCHEDULE_DELETE"
SCHEDULE_TRIGGER = "SCHEDULE_TRIGGER"
SCHEDULE_BACKFILL = "SCHEDULE_BACKFILL"
CODE = "CODE"        # declared with @schedule, upserted by the dispatch tick
RUNTIME = "RUNTIME"  # created by api.schedules.createSchedule
UTC = "UTC"  # the time zone of a schedule that names none
PAUSE = "PAUSE"
TRIGGER = "TRIGGER"
SCHEDULE_ACTIONS = (PAUSE, RESUME, TRIGGER)
