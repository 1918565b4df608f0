"""The Admin page of the operator console: maintenance (drain, cancel, swap, exit), dead
letters (list, replay, purge), retention, the schema's status and upgrade, and the journal.

Each function wraps the admin, dead-letter and journal calls of the API. The actions act as
the session's user: maintenance through the calls that authorize and journal it already,
and the others (replay, purge, retention, schema upgrade) authorized here by the same
``adminRoles`` and journaled (DEAD_LETTER_REPLAY, DEAD_LETTER_PURGE, RETENTION,
SCHEMA_UPGRADE). docs/api.md, "Console view models: queues, executors, admin".
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.api import admin, deadletters, envelope, journal as journalApi
from exchange.workflows.api.envelope import guarded
from exchange.workflows.db import deadletters as letters, runs
from exchange.workflows.db.journal import JournalEntry
from exchange.workflows import codes, settings, validate, vocabulary
from exchange.workflows.engine import actors, operator
from exchange.workflows.errors import InvalidArgument
from exchange.workflows.maintenance import mode as maintenanceMode

# checkSchema's codes that describe the schema (any other is a failure to answer)
_SCHEMA_CODES = (codes.SCHEMA_CURRENT, codes.SCHEMA_OUTDATED, codes.SCHEMA_NOT_INSTALLED)


@guarded
def overview(dbName=None):
    """The page's head: ``schema`` {installed (its version, 0: none), current (the
    library's), upToDate, pending, schemaName}; where it is installed also ``maintenance``
    (getMaintenanceStatus's data), ``deadLetters`` (not replayed) and ``retention``
    {oldestEndedMs, oldestEndedAgeMs}, else None. Code ADMIN_OVERVIEW."""
    checked = admin.checkSchema(dbName=dbName)
    if checked["code"] not in _SCHEMA_CODES or "version" not in checked["data"]:
        return checked
    found = checked["data"]
    schema = {"installed": found["version"], "current": found["latestVersion"],
              "upToDate": checked["ok"], "pending": found["pending"],
              "schemaName": found["schema"]}
    data = {"schema": schema, "maintenance": None, "deadLetters": None, "retention": None}
    if found["version"]:
        endedMs, ageMs = runs.oldestEnded(dbName)
        data.update(maintenance=envelope.dataOf(admin.getMaintenanceStatus(dbName=dbName)),
                    deadLetters=int(letters.countWaiting(dbName)),
                    retention={"oldestEndedMs": endedMs, "oldestEndedAgeMs": ageMs})
    data["summary"] = _summary(data)
    return envelope.ok(codes.ADMIN_OVERVIEW, checked["message"], data)


def _summary(data):
    """The overview as the page's labels read it: one sentence per part."""
    schema, maintenance, retention = data["schema"], data["maintenance"], data["retention"]
    summary = {"schema": u"schema %s installed, library %s%s" % (
        schema["installed"] or u"not", schema["current"],
        u" (up to date)" if schema["upToDate"] else u" (upgrade pending)"),
        "maintenance": u"unknown", "deadLetters": u"unknown", "retention": u"unknown"}
    if maintenance is None:
        return summary
    scopes = [u"%s (%s)" % (s["queueName"] or u"every queue", s["mode"])
              for s in maintenance["scopes"]]
    summary["maintenance"] = u"on: " + u", ".join(scopes) if scopes else u"off"
    summary["deadLetters"] = u"%d waiting" % data["deadLetters"]
    ageMs = retention["oldestEndedAgeMs"]
    summary["retention"] = u"no ended run" if ageMs is None else \
        u"oldest ended run %.1f days ago" % (ageMs / 86400000.0)
    return summary


@guarded
def maintenanceAction(action, mode=None, queueName=None, reason=None, session=None, user=None,
                      roles=None, dbName=None):
    """ENTER (``mode`` drain, the default, or cancel), EXIT or SWAP, as the session's user:
    the envelope of enterMaintenance, exitMaintenance or swapIfDrained."""
    caller = dict(user=user, session=session, roles=roles, dbName=dbName)
    if action == vocabulary.ENTER:
        return admin.enterMaintenance(mode=mode or maintenanceMode.DRAIN, reason=reason,
                                      queueName=queueName, **caller)
    if action == vocabulary.EXIT:
        return admin.exitMaintenance(queueName=queueName, reason=reason, **caller)
    if action == vocabulary.SWAP:
        return admin.swapIfDrained(**caller)
    raise InvalidArgument(u"action must be one of %s" % u", ".join(vocabulary.MAINTENANCE_ACTIONS))


@guarded
def deadLetters(limit=100, offset=0, dbName=None):
    """Dead letters not replayed yet, newest first: ``rows`` (listDeadLetters's dicts) and
    ``total`` (all of them, for paging). Code DEAD_LETTERS_LISTED."""
    listed = envelope.dataOf(deadletters.listDeadLetters(limit=limit, offset=offset,
                                                         dbName=dbName))
    total = int(letters.countWaiting(dbName))
    return envelope.ok(codes.DEAD_LETTERS_LISTED, u"%d of %d dead letter(s)"
                       % (listed["count"], total), {"rows": listed["deadLetters"],
                                                   "total": total})


@guarded
def replayDeadLetter(id, session=None, user=None, roles=None, dbName=None):
    """Replay dead letter ``id`` as an admin: replayDeadLetter's envelope (journaled as
    DEAD_LETTER_REPLAY)."""
    return _asAdmin(actors.Caller(user, session, roles), dbName, vocabulary.DEAD_LETTER_REPLAY,
                    lambda: deadletters.replayDeadLetter(id, dbName=dbName))


@guarded
def purgeDeadLetters(olderThanMs=None, session=None, user=None, roles=None, dbName=None):
    """Delete the dead letters older than ``olderThanMs`` (0: all) as an admin:
    purgeDeadLetters's envelope (journaled as DEAD_LETTER_PURGE). The age is required, so a
    page that lost its input cannot purge every dead letter by mistake."""
    if olderThanMs is None:
        raise InvalidArgument(u"olderThanMs is required (0 purges every dead letter)",
                              codes.MISSING_ARGUMENT)
    validate.wholeNumber("olderThanMs", olderThanMs, 0)
    seconds = olderThanMs / 1000.0
    return _asAdmin(actors.Caller(user, session, roles), dbName, vocabulary.DEAD_LETTER_PURGE,
                    lambda: deadletters.purgeDeadLetters(olderThanSeconds=seconds,
                                                         dbName=dbName))


@guarded
def applyRetention(olderThanDays=None, session=None, user=None, roles=None, dbName=None):
    """Delete the runs that ended more than ``olderThanDays`` days ago (None: apply the
    stored policy now) as an admin: admin.applyRetention's envelope (journaled as
    RETENTION)."""
    return _asAdmin(actors.Caller(user, session, roles), dbName, vocabulary.RETENTION,
                    lambda: admin.applyRetention(olderThanDays, dbName=dbName))


@guarded
def retentionPolicy(dbName=None):
    """The Retention panel: getRetentionPolicy's data plus ``summary`` (one sentence per
    limit, and the last pass). Code RETENTION_POLICY."""
    found = admin.getRetentionPolicy(dbName=dbName)
    if found["ok"]:
        found["data"]["summary"] = _policySummary(found["data"])
    return found


def _policySummary(policy):
    """The policy as the panel's labels read it."""
    def limit(value, text):
        return u"off" if value is None else text % value
    return {"maxAge": limit(policy["maxAgeDays"], u"ended runs older than %g day(s) go"),
            "maxRows": limit(policy["maxRows"], u"the newest %d ended runs stay"),
            "staleAfter": limit(policy["staleAfterHours"],
                                u"active runs older than %g hour(s) are cancelled"),
            "pace": u"up to %d run(s) every %g s" % (policy["batchSize"],
                                                     policy["intervalSeconds"]),
            "lastPass": u"never" if policy["lastPassAtMs"] is None else
            u"%d deleted, %d cancelled" % (policy["lastPassDeleted"],
                                           policy["lastPassCancelled"])}


@guarded
def setRetentionPolicy(maxAgeDays=None, maxRows=None, staleAfterHours=None,
                       intervalSeconds=60, batchSize=500, session=None, user=None, roles=None,
                       dbName=None):
    """Store the retention policy as the session's user: setRetentionPolicy's envelope
    (authorized by adminRoles, journaled as RETENTION)."""
    return admin.setRetentionPolicy(maxAgeDays, maxRows, staleAfterHours, intervalSeconds,
                                    batchSize, user=user, session=session, roles=roles,
                                    dbName=dbName)


@guarded
def upgradeSchema(session=None, user=None, roles=None, dbName=None):
    """Install or upgrade the system tables as an admin: installSchema's envelope
    (journaled as SCHEMA_UPGRADE)."""
    return _asAdmin(actors.Caller(user, session, roles), dbName, vocabulary.SCHEMA_UPGRADE,
                    lambda: admin.installSchema(dbName=dbName))


@guarded
def journal(action=None, actor=None, workflowId=None, fromMs=None, toMs=None, limit=100,
            dbName=None):
    """Journal entries, newest first, filtered (None: any; ``toMs`` excluded): ``rows``
    (listJournal's entry dicts). Code JOURNAL_LISTED."""
    listed = journalApi.listJournal(workflowId=workflowId, action=action, actor=actor,
                                    sinceMs=fromMs, untilMs=toMs, limit=limit, dbName=dbName)
    if listed["ok"]:
        listed["data"] = {"rows": listed["data"]["entries"]}
    return listed


def _asAdmin(caller, dbName, action, call):
    """``call()`` (a public call: its envelope) by ``caller`` (an actors.Caller) once the
    admin roles authorize it (a refusal is journaled and raised), its outcome journaled."""
    dbName = settings.databaseName(dbName)
    entry = JournalEntry(action)
    actor = operator.authorized(operator.Action(dbName, "admin", entry), caller)
    result = call()
    operator.journal(dbName, actor, entry, operator.Outcome(result["ok"], result["code"]),
                     result["data"] if result["ok"] else {"message": result["message"]})
    return result
