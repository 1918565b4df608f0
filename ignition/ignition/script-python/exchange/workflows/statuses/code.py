"""The names of a run's statuses, shared by every layer (the database stores them as text).

ENQUEUED -> PENDING (claimed) -> RUNNING -> SUCCESS | ERROR | CANCELLED | STOPPED, with the
waiting states that hold no thread (WAITING: a durable wait; HELD: an operator's hold) and
DELAYED (enqueued to start later).
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
