"""Cron expressions (the cron module) and wall-clock time in IANA zones (platform): fields,
names, steps, Vixie's day rule, seconds, Feb 29, and the DST transitions of Europe/Zurich
and America/New_York. No database."""
from __future__ import absolute_import, division, print_function

import calendar

import pytest

from exchange.workflows import cron, platform
from exchange.workflows.errors import InvalidArgument


def utc(*wall):
    return calendar.timegm(tuple(wall) + (0, 0, 0)) * 1000


def ticks(expression, zone, start, count):
    parsed, found, after = cron.parse(expression), [], start
    for _ in range(count):
        after = cron.nextTick(parsed, zone, after)
        found.append(cron.tickLabel(after))
    return found


def test_five_fields_fire_on_the_minute_and_six_take_seconds_first():
    assert ticks("*/20 * * * *", "UTC", utc(2026, 1, 1, 0, 0, 0), 3) == [
        "2026-01-01T00:20:00Z", "2026-01-01T00:40:00Z", "2026-01-01T01:00:00Z"]
    assert ticks("15,45 * * * * *", "UTC", utc(2026, 1, 1, 0, 0, 20), 3) == [
        "2026-01-01T00:00:45Z", "2026-01-01T00:01:15Z", "2026-01-01T00:01:45Z"]


def test_names_ranges_and_steps():
    # 08:30 on weekdays of June: Mon 2026-06-01 is the first
    assert ticks("30 8 * jun mon-fri", "UTC", utc(2026, 5, 30, 0, 0, 0), 6) == [
        "2026-06-01T08:30:00Z", "2026-06-02T08:30:00Z", "2026-06-03T08:30:00Z",
        "2026-06-04T08:30:00Z", "2026-06-05T08:30:00Z", "2026-06-08T08:30:00Z"]
    assert ticks("0 9-17/4 * * *", "UTC", utc(2026, 1, 1, 0, 0, 0), 3) == [
        "2026-01-01T09:00:00Z", "2026-01-01T13:00:00Z", "2026-01-01T17:00:00Z"]
    assert ticks("0 0 * * 7", "UTC", utc(2026, 1, 1, 0, 0, 0), 1) == ["2026-01-04T00:00:00Z"]
    assert ticks("@monthly", "UTC", utc(2026, 1, 15, 0, 0, 0), 1) == ["2026-02-01T00:00:00Z"]


def test_both_day_fields_restricted_match_either_as_in_vixie_cron():
    # the 13th, or any Friday (2026-02-06 is a Friday, 2026-02-13 is both)
    assert ticks("0 0 13 * fri", "UTC", utc(2026, 2, 1, 0, 0, 0), 3) == [
        "2026-02-06T00:00:00Z", "2026-02-13T00:00:00Z", "2026-02-20T00:00:00Z"]
    # a starred day of month: weekday alone decides (both must match)
    assert ticks("0 0 */1 * fri", "UTC", utc(2026, 2, 1, 0, 0, 0), 1) == [
        "2026-02-06T00:00:00Z"]


def test_february_29_fires_in_leap_years_only():
    assert ticks("0 12 29 2 *", "UTC", utc(2025, 1, 1, 0, 0, 0), 3) == [
        "2028-02-29T12:00:00Z", "2032-02-29T12:00:00Z", "2036-02-29T12:00:00Z"]


def test_zurich_spring_forward_fires_a_skipped_time_once_at_the_end_of_the_gap():
    # 2026-03-29 02:00 CET -> 03:00 CEST (01:00Z): 02:30 does not exist that day
    assert ticks("30 2 * * *", "Europe/Zurich", utc(2026, 3, 27, 12, 0, 0), 3) == [
        "2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"]
    # every 15 minutes: the skipped hour collapses into one tick at 03:00 CEST
    assert ticks("*/15 * * * *", "Europe/Zurich", utc(2026, 3, 29, 0, 30, 0), 4) == [
        "2026-03-29T00:45:00Z", "2026-03-29T01:00:00Z", "2026-03-29T01:15:00Z",
        "2026-03-29T01:30:00Z"]


def test_zurich_fall_back_fires_a_repeated_time_once_at_its_first_occurrence():
    # 2026-10-25 03:00 CEST -> 02:00 CET (01:00Z): 02:30 happens at 00:30Z and 01:30Z
    assert ticks("30 2 * * *", "Europe/Zurich", utc(2026, 10, 24, 12, 0, 0), 2) == [
        "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"]
    # hourly: 02:00 fires once (00:00Z), the repeated hour's second pass fires nothing
    assert ticks("0 * * * *", "Europe/Zurich", utc(2026, 10, 24, 23, 30, 0), 3) == [
        "2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z", "2026-10-25T03:00:00Z"]
    # asked from inside the second pass, the next tick is after it
    assert ticks("*/30 * * * *", "Europe/Zurich", utc(2026, 10, 25, 1, 10, 0), 1) == [
        "2026-10-25T02:00:00Z"]


def test_new_york_transitions():
    # 2026-03-08 02:00 EST -> 03:00 EDT (07:00Z); 2026-11-01 02:00 EDT -> 01:00 EST (06:00Z)
    assert ticks("30 2 * * *", "America/New_York", utc(2026, 3, 7, 12, 0, 0), 2) == [
        "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"]
    assert ticks("30 1 * * *", "America/New_York", utc(2026, 10, 31, 12, 0, 0), 2) == [
        "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"]


def test_platform_wall_clock_and_instants():
    assert platform.wallClock(utc(2026, 7, 1, 10, 0, 5), "Europe/Zurich") == \
        (2026, 7, 1, 12, 0, 5)
    assert platform.instantOf((2026, 10, 25, 2, 30, 0), "Europe/Zurich") == \
        utc(2026, 10, 25, 0, 30, 0)
    assert platform.instantOf((2026, 3, 29, 2, 30, 0), "Europe/Zurich") == \
        utc(2026, 3, 29, 1, 0, 0)


def test_latest_due_skips_missed_ticks_and_ticks_between_lists_a_window():
    every = cron.parse("0 * * * *")
    tick, following = cron.latestDue(every, "UTC", utc(2026, 1, 1, 0, 0, 0),
                                     utc(2026, 1, 3, 5, 30, 0))
    assert (cron.tickLabel(tick), cron.tickLabel(following)) == (
        "2026-01-03T05:00:00Z", "2026-01-03T06:00:00Z")
    found = cron.ticksBetween(every, "UTC", utc(2026, 1, 1, 0, 0, 0), utc(2026, 1, 1, 3, 0, 0),
                              10)
    assert [cron.tickLabel(t) for t in found] == [
        "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z",
        "2026-01-01T03:00:00Z"]
    assert len(cron.ticksBetween(every, "UTC", 0, utc(2026, 1, 1, 0, 0, 0), 10)) == 11


@pytest.mark.parametrize("text, says", [
    ("* * * *", "has 4 fields"), ("60 * * * *", "allows 0-59"), ("* * * * mon-sun7", "not a"),
    ("*/0 * * * *", "at least 1"), ("5-1 * * * *", "increasing"), ("* * 32 * *", "1-31"),
    ("", "5 or 6"), (None, "5 or 6"), ("0 0 30 2 *", "never fires"), ("* * * foo * *", "not a"),
    ("1,,2 * * * *", "not a")])
def test_invalid_expressions_say_why_with_a_stable_code(text, says):
    with pytest.raises(InvalidArgument) as raised:
        cron.check(text, "UTC", 0)
    assert raised.value.code == "INVALID_CRON" and says in raised.value.args[0], \
        raised.value.args[0]


def test_an_unknown_zone_has_its_own_code():
    for zone in ("Mars/Olympus", "", None, "Europe/Zurich "):
        with pytest.raises(InvalidArgument) as raised:
            cron.checkZone(zone)
        assert raised.value.code == "UNKNOWN_TIME_ZONE"
