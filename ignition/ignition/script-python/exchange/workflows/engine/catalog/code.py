"""The life cycle of a versioned catalog entry (a template, an enum), as operator actions.

A new version is a DRAFT; activating it retires the version that was active, in the same
transaction (at most one ACTIVE per name, the database's partial unique index agreeing);
a DRAFT or ACTIVE version can be retired; a RETIRED one never comes back (create a new
version instead). Versions are append-only: their content never changes. Each change is
an admin action through engine.operator: authorized by ``adminRoles``, decided under the
name's row lock, journaled with what it did.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db.journal import JournalEntry
from exchange.workflows import codec, codes, statuses
from exchange.workflows.engine import operator


class Kind(object):
    """A catalog: its db.catalog.Catalog, what it calls an entry ("template", "enum"), the
    code of a missing name, and its journal actions (create, activate, retire)."""

    def __init__(self, catalog, noun, notFound, actions):
        self.catalog = catalog
        self.noun = noun
        self.notFound = notFound
        self.createAction, self.activateAction, self.retireAction = actions


class Change(operator.Action):
    """A change of one name's versions: lock the name, decide from the version as locked."""

    def __init__(self, dbName, kind, action, name, version=None, actor=None):
        operator.Action.__init__(self, dbName, "admin", JournalEntry(action), actor)
        self.kind, self.name, self.version = kind, name, version
        self.message = None

    def lock(self, t):
        latest = self.kind.catalog.lock(self.dbName, self.name, t)
        if latest is None or self.version is None:
            return latest
        return self.kind.catalog.version(self.dbName, self.name, self.version, t)

    def missed(self, t, state):
        return codes.VERSION_NOT_FOUND

    def details(self, outcome):
        found = {self.kind.noun: self.name, "version": self.version}
        if not outcome.accepted:
            found["message"] = self.message
        return found

    def refusal(self, message, data):
        return self.fields, dict(data or {}, message=message, version=self.version,
                                 **{self.kind.noun: self.name})

    def refuse(self, code, message):
        self.message = message
        return None, code

    def missingVersion(self, row):
        """The refusal of a change of a version that does not exist, or None."""
        if row is None:
            return self.refuse(codes.VERSION_NOT_FOUND, u"%s %s has no version %s" % (
                self.kind.noun, self.name, self.version))
        return None


class CreateVersion(Change):
    """Append the next version (DRAFT) with ``contentJson`` (the catalog's content
    columns, as JSON text); ``prepare(t, actorName)`` creates the name's row first when it is new."""

    def __init__(self, dbName, kind, name, contentJson, prepare):
        Change.__init__(self, dbName, kind, kind.createAction, name)
        self.contentJson, self.prepare = contentJson, prepare

    def lock(self, t):
        self.prepare(t, self.actor.name)
        return Change.lock(self, t)

    def decide(self, state):
        return "create", codes.VERSION_CREATED

    def transition(self, t, state, transition):
        self.version = self.kind.catalog.addVersion(self.dbName, self.name, self.actor.name,
                                                    self.contentJson, t)
        return True


class Activate(Change):
    """DRAFT -> ACTIVE; the version that was active becomes RETIRED."""

    def __init__(self, dbName, kind, name, version):
        Change.__init__(self, dbName, kind, kind.activateAction, name, version)

    def decide(self, row):
        problem = self.missingVersion(row)
        if problem is None and row["status"] != statuses.DRAFT:
            problem = self.refuse(codes.VERSION_NOT_DRAFT, u"%s %s version %s is %s; only a "
                                  u"draft can be activated" % (self.kind.noun, self.name,
                                                               self.version, row["status"]))
        return problem or ("activate", codes.VERSION_ACTIVATED)

    def transition(self, t, row, transition):
        self.kind.catalog.retireActive(self.dbName, self.name, t)
        return self.kind.catalog.setStatus(self.dbName, self.name, self.version,
                                           statuses.DRAFT, statuses.VERSION_ACTIVE, t)


class Retire(Change):
    """DRAFT or ACTIVE -> RETIRED."""

    def __init__(self, dbName, kind, name, version):
        Change.__init__(self, dbName, kind, kind.retireAction, name, version)

    def decide(self, row):
        problem = self.missingVersion(row)
        if problem is None and row["status"] == statuses.RETIRED:
            problem = self.refuse(codes.VERSION_ALREADY_RETIRED, u"%s %s version %s is "
                                  u"already retired" % (self.kind.noun, self.name,
                                                        self.version))
        return problem or ("retire", codes.VERSION_RETIRED)

    def transition(self, t, row, transition):
        return self.kind.catalog.setStatus(self.dbName, self.name, self.version, row["status"],
                                           statuses.RETIRED, t)


def change(action, caller):
    """Run a Change for a caller (an actors.Caller); (accepted, code, message, version)."""
    operator.authorized(action, caller)
    outcome = operator.perform(action)
    if not outcome.accepted:
        return False, outcome.code, action.message, action.version
    return True, outcome.code, u"%s %s version %s: %s" % (
        action.kind.noun, action.name, action.version, outcome.code), action.version


def present(row, content):
    """A version row as the API answers it: name, version, status, createdBy, createdAtMs,
    changedAtMs and the content columns decoded under the names ``content`` maps them to."""
    shown = {"name": row["name"], "version": row["version"], "status": row["status"],
             "createdBy": row["created_by"], "createdAtMs": row["created_at_ms"],
             "changedAtMs": row["changed_at_ms"]}
    for column, key in content.items():
        shown[key] = codec.decode(row[column])
    return shown


def listing(kind, dbName):
    """Every name of a kind with its latest and active version numbers."""
    return [{"name": name, "latestVersion": latest, "activeVersion": active}
            for name, latest, active in kind.catalog.names(dbName)]


def versionsOf(kind, dbName, name, content):
    """(every version of a name as ``present`` shows it, oldest first; the active one or
    None)."""
    rows = [present(r, content) for r in kind.catalog.versions(dbName, name)]
    active = [r for r in rows if r["status"] == statuses.VERSION_ACTIVE]
    return rows, (active[0] if active else None)
