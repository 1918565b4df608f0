"""Backoff and deadline arithmetic: the dispatch backoff of a database outage
(engine.outages), the retry backoff of a step (@step's policy), and when a deadline or a
durable wait's wake time has passed (engine.boundary). No database: these are pure."""
from __future__ import absolute_import, division, print_function

from exchange.workflows import settings
from exchange.workflows.engine import boundary, outages, runtime

DEFAULT_LEASE_MS = settings.DEFAULT_LEASE_SECONDS * 1000


def test_the_outage_backoff_doubles_from_250_ms_up_to_5_s():
    waits = [outages.backoffMs(n, DEFAULT_LEASE_MS) for n in range(1, 12)]
    assert waits == [250, 500, 1000, 2000, 4000, 5000, 5000, 5000, 5000, 5000, 5000]


def test_the_outage_backoff_stays_within_a_quarter_of_the_lease():
    assert outages.capMs(12000) == 3000
    assert [outages.backoffMs(n, 12000) for n in range(1, 6)] == [250, 500, 1000, 2000, 3000]
    assert outages.capMs(1200) == 300
    assert [outages.backoffMs(n, 1200) for n in (1, 2, 30)] == [250, 300, 300]
    assert outages.capMs(100) == 50  # a lease of 0.1 s still waits 50 ms between tries
    assert outages.capMs(3600 * 1000) == outages.MAX_BACKOFF_MS


def test_the_outage_backoff_does_not_overflow_after_many_failures():
    assert outages.backoffMs(10 ** 6, 10 ** 9) == outages.MAX_BACKOFF_MS


def test_a_step_waits_interval_times_rate_to_the_attempt_before_its_next_try():
    def reading():
        return 1
    policy = runtime.step(retriesAllowed=True, maxAttempts=5, intervalSeconds=0.5,
                          backoffRate=3)(reading).stepDefinition
    assert [policy.delayMs(n) for n in (1, 2, 3, 4)] == [500, 1500, 4500, 13500]
    flat = runtime.step(retriesAllowed=True, intervalSeconds=0.25, backoffRate=1)(
        reading).stepDefinition
    assert [flat.delayMs(n) for n in (1, 2, 3)] == [250, 250, 250]
    assert runtime.step(intervalSeconds=0)(reading).stepDefinition.delayMs(2) == 0


def test_a_deadline_has_passed_from_its_own_millisecond_on():
    assert boundary.deadlinePassed(1000, 999) is False
    assert boundary.deadlinePassed(1000, 1000) is True
    assert boundary.deadlinePassed(1000, 10 ** 13) is True
    assert boundary.deadlinePassed(None, 10 ** 13) is False  # no deadline, no timeout
