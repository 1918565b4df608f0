"""system.date of the gateway simulator.

Ignition's dates are ``java.util.Date`` (epoch milliseconds, shown in the gateway JVM's
time zone). Under Jython they are exactly that: the functions work on ``java.util.Date``,
``java.util.Calendar`` and ``java.text.SimpleDateFormat`` (the block at the end of this
module). Under CPython a date is a naive ``datetime`` in local time with millisecond
precision (``now()`` truncates microseconds); aware datetimes are accepted too. Arithmetic
is done on epoch milliseconds, as Java does, so it is correct across DST changes.
``format``/``parse`` understand the common ``SimpleDateFormat`` letters:
y M d H h k K m s S a E D z Z and quoted literals ('T', '' for a quote).
Months in ``getDate``/``getMonth`` are 0-based, as in Ignition.
"""
import datetime as _dt
import re as _re
import sys as _sys
import time as _time

_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_IS_JAVA = _sys.platform.startswith("java")
_EPOCH_UTC = None if _IS_JAVA else _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)  # novm


def now():
    d = _dt.datetime.now()
    return d.replace(microsecond=(d.microsecond // 1000) * 1000)


def toMillis(date):
    """Epoch milliseconds of ``date`` (naive = local time)."""
    if date.tzinfo is None:
        whole = int(_time.mktime(date.replace(microsecond=0).timetuple()))
        return whole * 1000 + date.microsecond // 1000
    delta = date - _EPOCH_UTC
    return (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000


def fromMillis(millis):
    """A naive local datetime for epoch milliseconds."""
    millis = int(millis)
    seconds, ms = divmod(millis, 1000)
    return _dt.datetime.fromtimestamp(seconds) + _dt.timedelta(milliseconds=ms)


def _shift(date, millis):
    if date.tzinfo is not None:
        return date + _dt.timedelta(milliseconds=millis)
    return fromMillis(toMillis(date) + int(millis))


def addMillis(date, value):
    return _shift(date, value)


def addSeconds(date, value):
    return _shift(date, int(value) * 1000)


def addMinutes(date, value):
    return _shift(date, int(value) * 60000)


def addHours(date, value):
    return _shift(date, int(value) * 3600000)


def addDays(date, value):
    """Calendar days (wall-clock time kept, like java.util.Calendar.add(DAY_OF_MONTH))."""
    return date + _dt.timedelta(days=int(value))


def addWeeks(date, value):
    return addDays(date, int(value) * 7)


def _between(d1, d2, unit):
    diff = toMillis(d2) - toMillis(d1)
    return int(diff / unit) if diff < 0 else diff // unit


def millisBetween(date_1, date_2):
    return toMillis(date_2) - toMillis(date_1)


def secondsBetween(date_1, date_2):
    return _between(date_1, date_2, 1000)


def minutesBetween(date_1, date_2):
    return _between(date_1, date_2, 60000)


def hoursBetween(date_1, date_2):
    return _between(date_1, date_2, 3600000)


def daysBetween(date_1, date_2):
    return _between(date_1, date_2, 86400000)


def isAfter(date_1, date_2):
    return toMillis(date_1) > toMillis(date_2)


def isBefore(date_1, date_2):
    return toMillis(date_1) < toMillis(date_2)


def isBetween(target_date, start_date, end_date):
    return toMillis(start_date) <= toMillis(target_date) <= toMillis(end_date)


def getDate(year, month, day):
    """Midnight of the given day; ``month`` is 0-based (0 = January), as in Ignition."""
    return _dt.datetime(int(year), int(month) + 1, int(day))


def setTime(date, hour, minute, second):
    return date.replace(hour=int(hour), minute=int(minute), second=int(second))


def midnight(date):
    return date.replace(hour=0, minute=0, second=0, microsecond=0)


def getYear(date):
    return date.year


def getMonth(date):
    return date.month - 1


def getDayOfMonth(date):
    return date.day


def getHour24(date):
    return date.hour


def getMinute(date):
    return date.minute


def getSecond(date):
    return date.second


def getMillis(date):
    return date.microsecond // 1000


_TOKEN = _re.compile(r"'(?:[^']|'')*'|''|([A-Za-z])\1*|.", _re.DOTALL)


def _tokens(pattern):
    for m in _TOKEN.finditer(pattern):
        text = m.group(0)
        if text == "''":
            yield ("lit", "'")
        elif text.startswith("'"):
            yield ("lit", text[1:-1].replace("''", "'"))
        elif text[0].isalpha():
            yield (text[0], len(text))
        else:
            yield ("lit", text)


def _offset(date):
    aware = date if date.tzinfo is not None else date.astimezone()
    return aware.utcoffset() or _dt.timedelta(0), aware.tzname() or ""


def format(date, format="yyyy-MM-dd HH:mm:ss"):  # noqa: A001,A002 - Ignition names
    """Format like java.text.SimpleDateFormat."""
    out = []
    for kind, n in _tokens(format):
        if kind == "lit":
            out.append(n)
        elif kind == "y":
            out.append("%02d" % (date.year % 100) if n == 2 else "%0*d" % (n, date.year))
        elif kind == "M":
            if n >= 4:
                out.append(_MONTHS[date.month - 1])
            elif n == 3:
                out.append(_MONTHS[date.month - 1][:3])
            else:
                out.append("%0*d" % (n, date.month))
        elif kind == "d":
            out.append("%0*d" % (n, date.day))
        elif kind == "D":
            out.append("%0*d" % (n, date.timetuple().tm_yday))
        elif kind == "H":
            out.append("%0*d" % (n, date.hour))
        elif kind == "k":
            out.append("%0*d" % (n, date.hour or 24))
        elif kind == "h":
            out.append("%0*d" % (n, (date.hour % 12) or 12))
        elif kind == "K":
            out.append("%0*d" % (n, date.hour % 12))
        elif kind == "m":
            out.append("%0*d" % (n, date.minute))
        elif kind == "s":
            out.append("%0*d" % (n, date.second))
        elif kind == "S":
            out.append("%0*d" % (n, date.microsecond // 1000))
        elif kind == "a":
            out.append("AM" if date.hour < 12 else "PM")
        elif kind == "E":
            name = _DAYS[date.weekday()]
            out.append(name if n >= 4 else name[:3])
        elif kind in ("z", "Z", "X"):
            offset, name = _offset(date)
            if kind == "z":
                out.append(name)
            else:
                minutes = int(offset.total_seconds() // 60)
                sign = "-" if minutes < 0 else "+"
                minutes = abs(minutes)
                if kind == "X" and minutes == 0:
                    out.append("Z")
                else:
                    out.append("%s%02d%02d" % (sign, minutes // 60, minutes % 60))
        else:
            raise ValueError("Illegal pattern character '%s'" % kind)
    return "".join(out)


_STRPTIME = {"y": "%Y", "d": "%d", "H": "%H", "h": "%I", "m": "%M", "s": "%S",
             "S": "%f", "a": "%p", "Z": "%z", "D": "%j"}


def _defaultLocale(locale):
    if locale is not None:
        raise ValueError("the simulator parses dates in the default locale only")


def parse(dateString, formatString="yyyy-MM-dd HH:mm:ss", locale=None):
    """Parse like SimpleDateFormat.parse (strict; subset of letters; default locale)."""
    _defaultLocale(locale)
    parts = []
    for kind, n in _tokens(formatString):
        if kind == "lit":
            parts.append(n.replace("%", "%%"))
        elif kind == "y" and n == 2:
            parts.append("%y")
        elif kind == "M":
            parts.append("%B" if n >= 4 else ("%b" if n == 3 else "%m"))
        elif kind == "E":
            parts.append("%A" if n >= 4 else "%a")
        elif kind in _STRPTIME:
            parts.append(_STRPTIME[kind])
        else:
            raise ValueError("Unsupported pattern character '%s' in parse" % kind)
    return _dt.datetime.strptime(dateString, "".join(parts))


# --- Jython: java.util.Date, as on a gateway --------------------------------------------
if _IS_JAVA:
    from java.text import SimpleDateFormat as _SimpleDateFormat  # novm
    from java.util import Calendar as _Calendar  # novm
    from java.util import Date as _Date  # novm

    def _calendar(date):
        cal = _Calendar.getInstance()
        cal.setTime(date)
        return cal

    def _field(date, field):
        return _calendar(date).get(field)

    def _set(date, **fields):
        cal = _calendar(date)
        for name, value in fields.items():
            cal.set(getattr(_Calendar, name), int(value))
        return cal.getTime()

    def now():  # noqa: F811 - the Java variant
        return _Date()

    def toMillis(date):  # noqa: F811
        return date.getTime()

    def fromMillis(millis):  # noqa: F811
        return _Date(int(millis))

    def _shift(date, millis):  # noqa: F811
        return _Date(date.getTime() + int(millis))

    def addDays(date, value):  # noqa: F811
        """Calendar days (wall-clock time kept: Calendar.add(DAY_OF_MONTH))."""
        cal = _calendar(date)
        cal.add(_Calendar.DAY_OF_MONTH, int(value))
        return cal.getTime()

    def getDate(year, month, day):  # noqa: F811
        """Midnight of the given day; ``month`` is 0-based (0 = January)."""
        cal = _Calendar.getInstance()
        cal.clear()
        cal.set(int(year), int(month), int(day))
        return cal.getTime()

    def setTime(date, hour, minute, second):  # noqa: F811
        return _set(date, HOUR_OF_DAY=hour, MINUTE=minute, SECOND=second)

    def midnight(date):  # noqa: F811
        return _set(date, HOUR_OF_DAY=0, MINUTE=0, SECOND=0, MILLISECOND=0)

    def _getter(field):
        return lambda date: _field(date, field)

    getYear = _getter(_Calendar.YEAR)  # noqa: F811
    getMonth = _getter(_Calendar.MONTH)  # noqa: F811 - 0-based, as Calendar.MONTH
    getDayOfMonth = _getter(_Calendar.DAY_OF_MONTH)  # noqa: F811
    getHour24 = _getter(_Calendar.HOUR_OF_DAY)  # noqa: F811
    getMinute = _getter(_Calendar.MINUTE)  # noqa: F811
    getSecond = _getter(_Calendar.SECOND)  # noqa: F811
    getMillis = _getter(_Calendar.MILLISECOND)  # noqa: F811

    def format(date, format="yyyy-MM-dd HH:mm:ss"):  # noqa: A001,A002,F811
        return _SimpleDateFormat(format).format(date)

    def parse(dateString, formatString="yyyy-MM-dd HH:mm:ss", locale=None):  # noqa: F811
        _defaultLocale(locale)
        return _SimpleDateFormat(formatString).parse(dateString)
