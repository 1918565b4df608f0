"""Cron expressions, pure: parse one, and find its fire instants in a time zone.

Five fields (minute hour day-of-month month day-of-week) or six with seconds first; each
field a list of ``*``, ``n``, ``a-b``, with an optional ``/step``; month and weekday names
(JAN-DEC, SUN-SAT; 0 and 7 are Sunday); the macros @yearly @annually @monthly @weekly
@daily @midnight @hourly. As in Vixie cron, when both day fields are restricted (neither
starts with ``*``) a day matches either of them; otherwise both.

Fire instants are wall-clock times of the schedule's zone (platform.wallClock/instantOf):
a wall-clock time fires once, at its first occurrence when a fall-back repeats it, and at
the end of the gap (the first valid instant after it) when a spring-forward skips it.
docs/schedules.md.
"""
from __future__ import absolute_import, division, print_function

import datetime

from exchange.workflows import codes, compat, platform
from exchange.workflows.errors import InvalidArgument

MAX_LENGTH = 200
SEARCH_YEARS = 30  # a schedule with no fire time in this many years never fires
_FIELDS = (("second", 0, 59), ("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31),
           ("month", 1, 12), ("day of week", 0, 7))
_NAMES = {4: dict((m, i + 1) for i, m in enumerate(
    "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split())),
    5: dict((d, i) for i, d in enumerate("SUN MON TUE WED THU FRI SAT".split()))}
_MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
           "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
           "@hourly": "0 * * * *"}
_ONE_SECOND = datetime.timedelta(seconds=1)


def _bad(text, why):
    return InvalidArgument(u"cron expression %s: %s" % (compat.shown(text), why),
                           codes.INVALID_CRON, {"cron": text})


class Cron(object):
    """A parsed expression: the allowed values of each field, and whether each day field
    was written starting with ``*`` (Vixie's rule for combining them)."""

    def __init__(self, text, fields, domStar, dowStar):
        self.text = text
        self.seconds, self.minutes, self.hours, self.days, self.months, self.weekdays = fields
        self.domStar, self.dowStar = domStar, dowStar

    def dayMatches(self, date):
        dom = date.day in self.days
        dow = (date.weekday() + 1) % 7 in self.weekdays
        if self.domStar or self.dowStar:
            return dom and dow
        return dom or dow

    def matches(self, wall):
        """Whether the wall-clock tuple (y, mo, d, h, mi, s) is one of its times."""
        return (wall[1] in self.months and self.dayMatches(datetime.date(*wall[:3])) and
                wall[3] in self.hours and wall[4] in self.minutes and wall[5] in self.seconds)


def parse(text):
    """The Cron of ``text``; InvalidArgument (INVALID_CRON) saying what is wrong."""
    if not isinstance(text, compat.string_types) or not text.strip():
        raise _bad(text, u"must be text of 5 or 6 fields")
    if len(text) > MAX_LENGTH:
        raise _bad(text, u"is over %d characters" % MAX_LENGTH)
    parts = _MACROS.get(text.strip().lower(), text).split()
    if len(parts) == 5:
        parts = ["0"] + parts
    if len(parts) != 6:
        raise _bad(text, u"has %d fields; it needs 5 (minute hour day month weekday) or 6 "
                         u"(seconds first)" % len(parts))
    fields = [_field(text, parts[i], i) for i in range(6)]
    fields[5] = set(v % 7 for v in fields[5])  # 7 is Sunday too
    return Cron(text, fields, parts[3].startswith("*"), parts[5].startswith("*"))


def _field(text, part, index):
    name, low, high = _FIELDS[index]
    values = set()
    for item in part.split(","):
        span, slash, stepText = item.partition("/")
        step = _number(text, name, stepText, index, names=False) if slash else 1
        if step < 1:
            raise _bad(text, u"the step of the %s field must be at least 1" % name)
        if span == "*":
            start, end = low, high
        elif "-" in span:
            first, _, last = span.partition("-")
            start, end = _number(text, name, first, index), _number(text, name, last, index)
        else:
            start = _number(text, name, span, index)
            end = high if slash else start
        if not low <= start <= end <= high:
            raise _bad(text, u"the %s field allows %d-%d, in increasing ranges: %s"
                       % (name, low, high, compat.shown(item)))
        values.update(range(start, end + 1, step))
    return values


def _number(text, name, value, index, names=True):
    named = _NAMES.get(index, {}).get(value.upper()) if names else None
    if named is not None:
        return named
    if not value.isdigit():
        raise _bad(text, u"%s is not a value of the %s field" % (compat.shown(value), name))
    return int(value)


def _nextWall(cron, wall):
    """The first wall-clock time after ``wall`` that the expression names, or None within
    SEARCH_YEARS."""
    t = datetime.datetime(*wall) + _ONE_SECOND
    limit = t.year + SEARCH_YEARS
    while t.year <= limit:
        if t.month not in cron.months:
            t = datetime.datetime(t.year + t.month // 12, t.month % 12 + 1, 1)
        elif not cron.dayMatches(t):
            t = datetime.datetime(t.year, t.month, t.day) + datetime.timedelta(days=1)
        elif t.hour not in cron.hours:
            t = t.replace(minute=0, second=0) + datetime.timedelta(hours=1)
        elif t.minute not in cron.minutes:
            t = t.replace(second=0) + datetime.timedelta(minutes=1)
        elif t.second not in cron.seconds:
            t += _ONE_SECOND
        else:
            return (t.year, t.month, t.day, t.hour, t.minute, t.second)
    return None


def nextTick(cron, zoneId, afterMs):
    """The first fire instant (epoch ms) strictly after ``afterMs``, or None (never)."""
    wall = platform.wallClock(afterMs, zoneId)
    for _ in range(100000):  # a repeated hour: its times fired in its first pass
        wall = _nextWall(cron, wall)
        if wall is None:
            return None
        instant = platform.instantOf(wall, zoneId)
        if instant > afterMs:
            return instant
    return None


def latestDue(cron, zoneId, nextMs, nowMs):
    """(the latest fire instant in [nextMs, nowMs], the first one after nowMs) for a
    schedule whose tick ``nextMs`` is due: the ticks missed in between are skipped. The
    window searched back from ``nowMs`` doubles, so a long outage costs a few steps."""
    span = 1000
    while True:
        start = max(nextMs - 1, nowMs - span)
        tick = nextTick(cron, zoneId, start)
        if tick is not None and tick <= nowMs:
            break
        if start == nextMs - 1:
            tick = nextMs
            break
        span *= 2
    while True:
        following = nextTick(cron, zoneId, tick)
        if following is None or following > nowMs:
            return tick, following
        tick = following


def ticksBetween(cron, zoneId, fromMs, toMs, limit):
    """The fire instants in [fromMs, toMs], at most ``limit`` + 1 of them (one more than
    ``limit`` says the window holds too many)."""
    ticks = []
    tick = nextTick(cron, zoneId, fromMs - 1)
    while tick is not None and tick <= toMs and len(ticks) <= limit:
        ticks.append(tick)
        tick = nextTick(cron, zoneId, tick)
    return ticks


def checkZone(zoneId):
    """Raise InvalidArgument (UNKNOWN_TIME_ZONE) unless ``zoneId`` is a known zone."""
    try:
        platform.checkZone(zoneId)
    except ValueError as error:
        raise InvalidArgument(u"%s; use an IANA name such as Europe/Zurich or UTC"
                              % error.args[0], codes.UNKNOWN_TIME_ZONE, {"timeZone": zoneId})


def tickLabel(tickMs):
    """A tick as UTC ISO text (part of a scheduled run's workflow id)."""
    moment = datetime.datetime(1970, 1, 1) + datetime.timedelta(milliseconds=int(tickMs))
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def check(text, zoneId, nowMs):
    """(the Cron of ``text``, its first tick after ``nowMs`` in ``zoneId``): an expression
    that never fires is refused as INVALID_CRON, an unknown zone as UNKNOWN_TIME_ZONE."""
    parsed = parse(text)
    checkZone(zoneId)
    first = nextTick(parsed, zoneId, nowMs)
    if first is None:
        raise _bad(text, u"never fires (no time in %d years matches it)" % SEARCH_YEARS)
    return parsed, first
