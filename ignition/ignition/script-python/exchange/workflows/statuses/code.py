"""The names of the statuses of runs and of prompts, shared by every layer (the database
stores them as text).

A run: ENQUEUED -> PENDING (claimed) -> RUNNING -> SUCCESS | ERROR | CANCELLED | STOPPED,
with the waiting states that hold no thread (WAITING: a durable wait; HELD: an operator's
hold) and DELAYED (enqueued to start later). A prompt: PENDING -> ANSWERED | TIMED_OUT.
"""
from __future__ import absolute_import, division, print_function

DELAYED = "DELAYED"
ENQUEUED = "ENQUEUED"
PENDING = "PENDING"
RUNNING = "RUNNING"
SUCCESS = "SUCCESS"
ERROR = "ERROR"
CANCELLED = "CANCELLED"
RECOVERY_EXCEEDED = "MAX_RECOVERY_ATTEMPTS_EXCEEDED"
WAITING = "WAITING"  # a durable wait (prompt, message, event, sleep): no thread
HELD = "HELD"        # held by an operator: no thread until RESUME
STOPPED = "STOPPED"  # stopped by an operator, after its stop handler
ACTIVE = (DELAYED, ENQUEUED, PENDING, RUNNING, WAITING, HELD)
TERMINAL = (SUCCESS, ERROR, CANCELLED, STOPPED, RECOVERY_EXCEEDED)
RESUMABLE = (CANCELLED, RECOVERY_EXCEEDED)
ALL = ACTIVE + TERMINAL

# A prompt's status (the prompts table): pending until answered or timed out.
PROMPT_PENDING = "PENDING"
PROMPT_ANSWERED = "ANSWERED"
PROMPT_TIMED_OUT = "TIMED_OUT"

# A version of a template or an enum (engine.catalog): DRAFT -> ACTIVE -> RETIRED, at most
# one ACTIVE per name.
DRAFT = "DRAFT"
VERSION_ACTIVE = "ACTIVE"
RETIRED = "RETIRED"

# A schedule's status (engine.schedules): an ACTIVE one fires its ticks, a PAUSED one none.
SCHEDULE_ACTIVE = "ACTIVE"
SCHEDULE_PAUSED = "PAUSED"
