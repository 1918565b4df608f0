"""Parameter templates: approved input values and a form layout for one workflow, versioned
(a new version is a DRAFT, activating it retires the active one; adminRoles, journaled),
and the start of a run from a template's active version (commandRoles), which records the
version and the overrides it started with. docs/templates.md.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.api import envelope, service
from exchange.workflows.api.enums import answer, versionsOf
from exchange.workflows.api.envelope import guarded
from exchange.workflows.db import runs, templates as statements, tx
from exchange.workflows.db.journal import JournalEntry
from exchange.workflows import codec, codes, settings, validate, vocabulary
from exchange.workflows.engine import actors, catalog, operator, registry, requests, templates
from exchange.workflows.errors import InvalidArgument

_CONTENT = {"input_values": "values", "form_layout": "formLayout"}


@guarded
def listTemplates(workflowName=None, dbName=None):
    """Every template (of ``workflowName`` when given) with its workflow and its latest and
    active version numbers."""
    validate.name("workflowName", workflowName, False)
    rows = []
    for row in catalog.listing(templates.KIND, dbName):
        row["workflowName"] = statements.workflowOf(dbName, row["name"])
        if workflowName in (None, row["workflowName"]):
            rows.append(row)
    return envelope.ok(codes.TEMPLATES_LISTED, u"%d template(s)" % len(rows),
                       {"templates": rows, "count": len(rows)})


@guarded
def getTemplate(templateName, dbName=None):
    """A template's workflow, its versions (oldest first) and its active version."""
    validate.name("templateName", templateName)
    return versionsOf(templates.KIND, templateName, _CONTENT, codes.TEMPLATE_FOUND, dbName,
                      {"workflowName": statements.workflowOf(dbName, templateName)})


@guarded
def createTemplateVersion(workflowName, templateName, values=None, formLayout=None, user=None,
                          session=None, roles=None, dbName=None):
    """Append a DRAFT version of ``values`` (input name -> value) and ``formLayout`` (a
    Perspective Form's ``columns``, docs/templates.md); the first version creates the
    template for ``workflowName`` (a registered workflow). Codes: VERSION_CREATED,
    UNKNOWN_WORKFLOW, TEMPLATE_WORKFLOW_MISMATCH, INVALID_TEMPLATE, NOT_AUTHORIZED."""
    validate.name("workflowName", workflowName)
    validate.name("templateName", templateName)
    if registry.lookup(workflowName) is None:
        return envelope.fail(codes.UNKNOWN_WORKFLOW, u"no workflow named %r is registered"
                             % workflowName, {"workflowName": workflowName})
    if formLayout is not None:
        templates.widgets(formLayout)
    contentJson = [codec.encode(templates.checkValues(values)),
                   None if formLayout is None else codec.encode(formLayout)]
    dbName = settings.databaseName(dbName)
    action = catalog.CreateVersion(dbName, templates.KIND, templateName, contentJson,
                                   templates.prepare(dbName, templateName, workflowName))
    return answer(catalog.change(action, actors.Caller(user, session, roles)),
                  {"templateName": templateName})


@guarded
def activateTemplateVersion(templateName, version, user=None, session=None, roles=None,
                            dbName=None):
    """Make a DRAFT version the active one; the version that was active is retired."""
    return _change(catalog.Activate(settings.databaseName(dbName), templates.KIND,
                                    templateName, _version(templateName, version)),
                   actors.Caller(user, session, roles))


@guarded
def retireTemplateVersion(templateName, version, user=None, session=None, roles=None,
                          dbName=None):
    """Retire a DRAFT or ACTIVE version: it starts no new runs."""
    return _change(catalog.Retire(settings.databaseName(dbName), templates.KIND,
                                  templateName, _version(templateName, version)),
                   actors.Caller(user, session, roles))


@guarded
def deleteTemplate(templateName, user=None, session=None, roles=None, dbName=None):
    """Delete a template and its versions: TEMPLATE_DELETED, or TEMPLATE_IN_USE while a run
    started from it is active (the record of the runs it started is kept for audit)."""
    validate.name("templateName", templateName)
    return _change(templates.Delete(settings.databaseName(dbName), templateName),
                   actors.Caller(user, session, roles))


def _version(templateName, version):
    validate.name("templateName", templateName)
    validate.wholeNumber("version", version, 1)
    return version


def _change(action, caller):
    return answer(catalog.change(action, caller), {"templateName": action.name})


@guarded
def templateForm(templateName, dbName=None):
    """The form of a template's active version for the console: its layout with each
    enum-bound widget's dropdown options filled in from the enum's active version, and
    ``data`` (the values, keyed by widget id, as a Perspective Form's props.data)."""
    validate.name("templateName", templateName)
    active = templates.KIND.catalog.active(dbName, templateName)
    if active is None:
        return envelope.fail(codes.TEMPLATE_NOT_ACTIVE, u"template %s has no active version"
                             % templateName, {"templateName": templateName})
    return envelope.ok(codes.TEMPLATE_FORM, u"template %s version %s" % (
        templateName, active["version"]), {
            "templateName": templateName, "version": active["version"],
            "workflowName": statements.workflowOf(dbName, templateName),
            "columns": (templates.expandedLayout(dbName, active["form_layout"]) or
                        {"columns": []})["columns"],
            "data": codec.decode(active["input_values"])})


@guarded
def startWithTemplate(workflowName, templateName, overrides=None, version=None,
                      queueName=None, partitionKey=None, priority=0, deduplicationId=None,
                      workflowId=None, timeoutSeconds=None, delaySeconds=None, user=None,
                      session=None, roles=None, dbName=None):
    """Start ``workflowName`` with the active version's values updated by ``overrides``,
    checked against the workflow's signature and the enums the form binds; the run records
    the template version and the overrides (getRunTemplate, the journal's TEMPLATE_START).
    ``version``: the version the operator's form showed; refused unless still active.
    Codes: those of ``enqueue``, TEMPLATE_NOT_FOUND, TEMPLATE_WORKFLOW_MISMATCH,
    TEMPLATE_NOT_ACTIVE, NOT_AUTHORIZED (commandRoles)."""
    validate.name("workflowName", workflowName)
    validate.name("templateName", templateName)
    validate.wholeNumber("version", version, 1, required=False)
    dbName = settings.databaseName(dbName)
    entry = operator.Action(dbName, "command", JournalEntry(vocabulary.TEMPLATE_START))
    actor = operator.authorized(entry, actors.Caller(user, session, roles))
    try:
        active = templates.startable(dbName, workflowName, templateName, version)
        request = requests.Request(workflowName, templates.merged(dbName, active, overrides),
                                  queueName=queueName, partitionKey=partitionKey,
                                  priority=priority, deduplicationId=deduplicationId,
                                  workflowId=workflowId, timeoutSeconds=timeoutSeconds,
                                  delaySeconds=delaySeconds)
    except InvalidArgument as refused:
        operator.refuse(entry, refused.code, refused.args[0], {"template": templateName})
        raise

    def insert(dbName, request):
        def work(t):
            created = runs.insert(dbName, request, t)
            if created:
                templates.recordStart(dbName, actor, request.workflowId, active, overrides, t)
            return created
        return tx.inTransaction(dbName, work)
    result = service.submit(request, dbName, insert)
    if result["ok"]:
        result["data"].update(templateName=templateName, templateVersion=active["version"])
    return result


@guarded
def getRunTemplate(workflowId, dbName=None):
    """The template, version and overrides a run started with (None: not from a
    template), and who started it."""
    validate.name("workflowId", workflowId)
    found = statements.runTemplate(dbName, workflowId)
    data = None if found is None else {"templateName": found.templateName,
                                       "version": found.version,
                                       "overrides": codec.decode(found.overridesJson),
                                       "startedBy": found.startedBy}
    return envelope.ok(codes.WORKFLOW_FOUND, u"run %s %s" % (
        workflowId, u"started from a template" if data else u"not from a template"),
        {"workflowId": workflowId, "template": data})
