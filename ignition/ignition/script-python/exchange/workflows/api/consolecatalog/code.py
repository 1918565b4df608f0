"""The Templates page of the operator console: every parameter template and enum with its
versions and their statuses, and the actions that activate or retire a version as the
session's user (the templates and enums calls authorize them by ``adminRoles`` and journal
them). docs/api.md, "Console view models: templates and enums"."""
from __future__ import absolute_import, division, print_function

from exchange.workflows.api import enums, envelope, templates
from exchange.workflows.api.envelope import guarded
from exchange.workflows import codes, vocabulary
from exchange.workflows.errors import InvalidArgument

# kind -> (list call, its data key, read call, activate call, retire call)
_KINDS = {
    vocabulary.TEMPLATE: (templates.listTemplates, "templates", templates.getTemplate,
                 templates.activateTemplateVersion, templates.retireTemplateVersion),
    vocabulary.ENUM: (enums.listEnums, "enums", enums.getEnum, enums.activateEnumVersion,
             enums.retireEnumVersion)}
_ACTIONS = (vocabulary.ACTIVATE, vocabulary.RETIRE)


@guarded
def catalogPage(dbName=None):
    """``rows``: one per version of every template, then every enum, by name and version;
    ``templates`` and ``enums``: listTemplates's and listEnums's rows. Code CATALOG_PAGE."""
    data, rows = {}, []
    for kind in sorted(_KINDS, reverse=True):
        listed, key, read = _KINDS[kind][:3]
        names = envelope.dataOf(listed(dbName=dbName))[key]
        data[key] = names
        for named in names:
            versions = envelope.dataOf(read(named["name"], dbName=dbName))["versions"]
            rows.extend(_row(kind, named, v) for v in versions)
    data["rows"] = rows
    return envelope.ok(codes.CATALOG_PAGE, u"%d template(s), %d enum(s), %d version(s)" % (
        len(data["templates"]), len(data["enums"]), len(rows)), data)


def _row(kind, named, version):
    """A version's row: what the table shows of it and what the actions name."""
    return {"kind": kind, "name": named["name"], "workflowName": named.get("workflowName"),
            "version": version["version"], "status": version["status"],
            "active": version["version"] == named["activeVersion"],
            "createdBy": version["createdBy"], "createdAtMs": version["createdAtMs"],
            "changedAtMs": version["changedAtMs"]}


@guarded
def versionAction(kind, action, name, version, session=None, user=None, roles=None,
                  dbName=None):
    """ACTIVATE or RETIRE version ``version`` of the TEMPLATE or ENUM ``name`` as the
    session's user: the envelope of activate/retire...Version."""
    if kind not in _KINDS or action not in _ACTIONS:
        raise InvalidArgument(u"kind must be TEMPLATE or ENUM, action ACTIVATE or RETIRE")
    change = _KINDS[kind][3 + _ACTIONS.index(action)]
    return change(name, version, user=user, session=session, roles=roles, dbName=dbName)
