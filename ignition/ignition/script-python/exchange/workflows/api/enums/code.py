"""Enums: named, versioned option lists ({label, value, disabled}) that template forms and
prompts name. List, read, and change their versions (adminRoles, journaled): a new
version is a DRAFT, activating it retires the active one, a retired one stays retired
(engine.catalog). docs/templates.md."""
from __future__ import absolute_import, division, print_function

from exchange.workflows.api import envelope
from exchange.workflows.api.envelope import guarded
from exchange.workflows import codec, codes, settings, validate
from exchange.workflows.engine import actors, catalog, enums

_CONTENT = {"options": "options"}


def answer(result, data):
    """The envelope of a life-cycle change's (accepted, code, message, version)."""
    accepted, code, message, version = result
    return (envelope.ok if accepted else envelope.fail)(code, message,
                                                        dict(data, version=version))


@guarded
def listEnums(dbName=None):
    """Every enum with its latest and active version numbers."""
    rows = catalog.listing(enums.KIND, dbName)
    return envelope.ok(codes.ENUMS_LISTED, u"%d enum(s)" % len(rows),
                       {"enums": rows, "count": len(rows)})


def versionsOf(kind, name, content, found, dbName, extra=None):
    """The envelope of a catalog name's versions (oldest first) and its active one (None:
    none), code ``found``; the kind's not-found code when it has none."""
    key = kind.noun + "Name"
    validate.name(key, name)
    rows, active = catalog.versionsOf(kind, dbName, name, content)
    if not rows:
        return envelope.fail(kind.notFound, u"no %s %s" % (kind.noun, name), {key: name})
    return envelope.ok(found, u"%s %s has %d version(s)" % (kind.noun, name, len(rows)),
                       dict(extra or {}, versions=rows, active=active, **{key: name}))


@guarded
def getEnum(enumName, dbName=None):
    """An enum's versions (oldest first) and its active version (None: none)."""
    return versionsOf(enums.KIND, enumName, _CONTENT, codes.ENUM_FOUND, dbName)


@guarded
def createEnumVersion(enumName, options, user=None, session=None, roles=None, dbName=None):
    """Append a DRAFT version with ``options`` (a list of {label, value, disabled});
    VERSION_CREATED with its number, INVALID_ENUM, NOT_AUTHORIZED."""
    validate.name("enumName", enumName)
    optionsJson = codec.encode(enums.checkOptions(options))
    dbName = settings.databaseName(dbName)
    action = catalog.CreateVersion(dbName, enums.KIND, enumName, [optionsJson],
                                   enums.prepare(dbName, enumName))
    return answer(catalog.change(action, actors.Caller(user, session, roles)),
                  {"enumName": enumName})


@guarded
def activateEnumVersion(enumName, version, user=None, session=None, roles=None, dbName=None):
    """Make a DRAFT version the active one; the version that was active is retired."""
    return _change(catalog.Activate, enumName, version, actors.Caller(user, session, roles),
                   dbName)


@guarded
def retireEnumVersion(enumName, version, user=None, session=None, roles=None, dbName=None):
    """Retire a DRAFT or ACTIVE version; inputs and prompts bound to the enum then take no
    value until another version is active."""
    return _change(catalog.Retire, enumName, version, actors.Caller(user, session, roles),
                   dbName)


def _change(change, enumName, version, caller, dbName):
    validate.name("enumName", enumName)
    validate.wholeNumber("version", version, 1)
    action = change(settings.databaseName(dbName), enums.KIND, enumName, version)
    return answer(catalog.change(action, caller), {"enumName": enumName})
