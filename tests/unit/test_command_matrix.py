"""The state/command matrix of operator commands (engine.commands.decide), cell by cell, as
the manual states it ("The matrix" in docs/api.md). No database: decide is pure."""
from __future__ import absolute_import, division, print_function

from exchange.workflows import codes, statuses, vocabulary
from exchange.workflows.engine import commands

HOLD, RESUME, STOP, CANCEL = vocabulary.HOLD, vocabulary.RESUME, vocabulary.STOP, vocabulary.CANCEL
REFUSED = None  # the transition of a refused command

# status row -> {command: (transition, code)} for a run with no command pending that
# started; STOP_UNSTARTED: the STOP cell of a run that never started.
ROWS = {
    (statuses.DELAYED, statuses.ENQUEUED): {
        HOLD: ("hold", codes.HELD), RESUME: (REFUSED, codes.NOT_HELD),
        STOP: ("requestAndWake", codes.STOP_REQUESTED)},
    (statuses.PENDING, statuses.RUNNING): {
        HOLD: ("request", codes.HOLD_REQUESTED), RESUME: (REFUSED, codes.NOT_HELD),
        STOP: ("request", codes.STOP_REQUESTED)},
    (statuses.WAITING,): {
        HOLD: ("requestAndWake", codes.HOLD_REQUESTED), RESUME: (REFUSED, codes.NOT_HELD),
        STOP: ("requestAndWake", codes.STOP_REQUESTED)},
    (statuses.HELD,): {
        HOLD: (REFUSED, codes.ALREADY_HELD), RESUME: ("release", codes.RESUMED),
        STOP: ("requestAndWake", codes.STOP_REQUESTED)},
    (statuses.CANCELLED, statuses.RECOVERY_EXCEEDED): {
        HOLD: (REFUSED, codes.WORKFLOW_FINISHED),
        RESUME: ("resumeTerminal", codes.WORKFLOW_RESUMED),
        STOP: (REFUSED, codes.WORKFLOW_FINISHED), CANCEL: (REFUSED, codes.NOT_CANCELLABLE)},
    (statuses.SUCCESS, statuses.ERROR, statuses.STOPPED): {
        HOLD: (REFUSED, codes.WORKFLOW_FINISHED), RESUME: (REFUSED, codes.NOT_RESUMABLE),
        STOP: (REFUSED, codes.WORKFLOW_FINISHED), CANCEL: (REFUSED, codes.NOT_CANCELLABLE)},
}
STOP_UNSTARTED = ("stopNow", codes.STOPPED)


def rowOf(status):
    return next(cells for group, cells in ROWS.items() if status in group)


def test_the_rows_cover_every_status():
    assert sorted(s for group in ROWS for s in group) == sorted(statuses.ALL)


def test_an_active_run_without_a_pending_command_follows_its_status_row():
    for status in statuses.ACTIVE:
        for command in (HOLD, RESUME, STOP):
            assert commands.decide(command, status, None, True) == rowOf(status)[command], \
                (status, command)


def test_cancel_ends_any_active_run_whatever_is_pending():
    for status in statuses.ACTIVE:
        for pending in (None, HOLD, STOP):
            for started in (False, True):
                assert commands.decide(CANCEL, status, pending, started) == \
                    ("cancel", codes.CANCEL_REQUESTED), (status, pending, started)


def test_stop_ends_a_queued_or_held_run_that_never_started_at_once():
    for status in statuses.ACTIVE:
        expected = STOP_UNSTARTED if status in (statuses.DELAYED, statuses.ENQUEUED,
                                                statuses.HELD) else rowOf(status)[STOP]
        assert commands.decide(STOP, status, None, False) == expected, status


def test_a_pending_hold_is_reported_withdrawn_or_replaced_by_stop():
    for status in set(statuses.ACTIVE) - set([statuses.HELD]):  # holding clears the HOLD
        assert commands.decide(HOLD, status, HOLD, True) == (REFUSED, codes.HOLD_PENDING)
        assert commands.decide(RESUME, status, HOLD, True) == ("withdraw", codes.HOLD_WITHDRAWN)
        assert commands.decide(STOP, status, HOLD, True) == rowOf(status)[STOP], status


def test_a_pending_stop_refuses_everything_but_cancel():
    for status in statuses.ACTIVE:
        for command in (HOLD, RESUME, STOP):
            for started in (False, True):
                assert commands.decide(command, status, STOP, started) == \
                    (REFUSED, codes.STOP_PENDING), (status, command, started)


def test_an_ended_run_follows_its_status_row_whatever_else_is_known():
    for status in statuses.TERMINAL:
        for command in (HOLD, RESUME, STOP, CANCEL):
            for pending in (None, HOLD, STOP):
                for started in (False, True):
                    assert commands.decide(command, status, pending, started) == \
                        rowOf(status)[command], (status, command, pending, started)

