"""The self-test's ``system.db`` checks (api/selftest), in a scratch schema of their own that
is dropped at the end whatever happens: transactions, parameter and column types, JSON round
trips, SQLSTATE extraction and the connection check, through the same db/tx functions the
engine uses.
"""
from __future__ import absolute_import, division, print_function

import uuid

from exchange.workflows.api.selftestchecks import Finding, Skipped, expect
from exchange.workflows.db import selfcheck, tx
from exchange.workflows import codec, compat, settings

GROUP = "system.db"
_NULLS = (None,) * len(selfcheck.VALUE_COLUMNS)


class _Deliberate(Exception):
    """The error the rollback check raises inside its transaction."""



def databaseChecks(report, dbName, schema):
    """The system.db group; the scratch schema is dropped whatever happened."""
    report.run(GROUP, "connection check", checkConnection, dbName)
    created = report.run(GROUP, "scratch schema", createScratch, dbName, schema)
    try:
        for name, check in (("commit is visible", checkCommit),
                            ("rollback is invisible", checkRollback),
                            ("transaction is closed", checkClosed),
                            ("parameter and column types", checkTypes),
                            ("JSON round trip", checkJson),
                            ("error and SQLSTATE", checkSqlState)):
            report.run(GROUP, name, check if created else _needsScratch, dbName, schema)
    finally:
        report.run(GROUP, "scratch schema dropped", dropScratch if created else _needsScratch,
                   dbName, schema)


def _needsScratch(dbName, schema):
    raise Skipped(u"no scratch schema: it could not be created")


def checkConnection(dbName):
    name = settings.databaseName(dbName)
    expect(tx.databaseExists(name), u"tx.databaseExists(%s) is False: the gateway has no such "
           u"database connection, or getConnectionInfo was misread" % compat.shown(name))
    madeUp = u"%s-missing-%s" % (name, uuid.uuid4().hex[:6])
    expect(not tx.databaseExists(madeUp), u"tx.databaseExists(%s) is True for a made-up name"
           % compat.shown(madeUp))
    return u"connection %s found; a made-up name is not" % name


def createScratch(dbName, schema):
    selfcheck.create(dbName, schema)
    return u"schema %s created" % schema


def dropScratch(dbName, schema):
    selfcheck.drop(dbName, schema)
    expect(not selfcheck.exists(dbName, schema), u"schema %s is still there" % schema)
    return u"schema %s is gone" % schema


def checkCommit(dbName, schema):
    tx.inTransaction(dbName, lambda t: selfcheck.insertRow(dbName, schema, 1, _NULLS, t))
    expect(selfcheck.count(dbName, schema, 1) == 1, u"a row inserted by a committed "
           u"transaction is not visible outside it")
    return u"a committed row is visible to the next statement"


def checkRollback(dbName, schema):
    def work(t):
        selfcheck.insertRow(dbName, schema, 2, _NULLS, t)
        expect(selfcheck.count(dbName, schema, 2, t) == 1,
               u"the transaction does not see its own insert")
        raise _Deliberate()
    try:
        tx.inTransaction(dbName, work)
        raise Finding(u"inTransaction swallowed the error raised by its work")
    except _Deliberate:
        pass
    expect(selfcheck.count(dbName, schema, 2) == 0, u"a row inserted by a transaction whose "
           u"work failed is visible: inTransaction did not roll it back")
    return u"the insert of a failed transaction is rolled back, and its error raised"


def checkClosed(dbName, schema):
    used = []
    tx.inTransaction(dbName, lambda t: used.append(t))
    try:
        selfcheck.count(dbName, schema, 1, used[0])
    except compat.CATCHABLE as error:
        expect(tx.isDatabaseError(error), u"the closed transaction's id raised no database "
               u"error: %s: %s" % compat.describeError(error))
        return u"its id is refused once inTransaction returned: %s" \
            % compat.describeError(error)[1][:120]
    raise Finding(u"transaction %s still answers after inTransaction returned: it was left "
                  u"open, holding a pooled connection until it times out" % used[0])


def typedValues():
    """(name, value) of every parameter type the engine passes."""
    return [("integer", 2147483647), ("bigint beyond 2^53", 2 ** 53 + 1),
            ("float", 0.1), ("bool", True), (u"non-ASCII text", u"Gr\u00fc\u00dfe \u2713 "
                                             u"\u6e29\u5ea6 \U0001f600"),
            ("epoch ms", compat.nowMs()), ("uuid as text", compat.toText(uuid.uuid4()))]


def _same(sent, read):
    """Equal, and a bool only for a bool (True == 1 in Python)."""
    return sent == read and isinstance(sent, bool) == isinstance(read, bool)


def checkTypes(dbName, schema):
    named = typedValues()
    values = [value for _, value in named]
    selfcheck.insertRow(dbName, schema, 4, values)
    selfcheck.insertRow(dbName, schema, 5, _NULLS)
    row = selfcheck.readRow(dbName, schema, 4)
    sent = named + [("bigint read as numeric", values[1])]
    seen = list(zip(sent, row)) + [(("bigint by runScalarPrepQuery", values[1]),
                                    selfcheck.readBig(dbName, schema, 4))]
    wrong = [u"%s: sent %s, read %s (%s)" % (name, compat.shown(value), compat.shown(got),
                                              type(got).__name__)
             for (name, value), got in seen if not _same(value, got)]
    nulls = selfcheck.readRow(dbName, schema, 5)
    if any(value is not None for value in nulls):
        wrong.append(u"NULL: read %s" % compat.shown(nulls))
    expect(not wrong, u"; ".join(wrong))
    return u"%d values and NULL came back equal" % len(seen)


def jsonDocument():
    """A document with what JSON round trips get wrong: nesting, non-ASCII, big numbers."""
    return {"text": u"Gr\u00fc\u00dfe \u2713 \u6e29\u5ea6", "big": 2 ** 53 + 1,
            "negative": -(2 ** 40), "float": 0.1,
            "nested": {"list": [1, 2.5, None, True, False, u"x"], "empty": {}, "none": None}}


def checkJson(dbName, schema):
    document = jsonDocument()
    selfcheck.insertJson(dbName, schema, 6, codec.encode(document))
    for kind, text in zip(("jsonb", "json"), selfcheck.readJson(dbName, schema, 6)):
        back = codec.decode(text)
        expect(back == document, u"%s changed the document: %s" % (kind, compat.shown(text, 200)))
    return u"codec.encode -> jsonb and json -> text -> codec.decode gave the document back"


def checkSqlState(dbName, schema):
    selfcheck.insertRow(dbName, schema, 7, _NULLS)
    try:
        selfcheck.insertRow(dbName, schema, 7, _NULLS)
    except compat.CATCHABLE as error:
        state = tx.sqlState(error)
        expect(state == "23505", u"tx.sqlState gave %s for a unique violation, not 23505"
               % compat.shown(state))
        expect(tx.isDatabaseError(error), u"tx.isDatabaseError is False for a unique violation")
        expect(not tx.isTransient(error), u"a unique violation is taken for a transient error")
        message = compat.describeError(error)[1].split(u"\n")[0]
        cause = message.find(selfcheck.UNIQUE_CONSTRAINT)
        call = message.find(u"system.db")
        expect(cause >= 0 and (call < 0 or cause < call), u"compat.describeError does not lead "
               u"with the cause: %s" % message[:200])
        return u"SQLSTATE 23505; the message leads with the cause: %s" % message[:120]
    raise Finding(u"a duplicate primary key was accepted")
