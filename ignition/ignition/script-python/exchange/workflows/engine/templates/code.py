"""Parameter templates: a named, versioned set of input values and a form layout for one
workflow, from which operators start runs (api.templates.startWithTemplate).

The form layout is the ``columns`` of a Perspective Form component (8.3): columns of rows
of widgets, each widget's ``id`` the input it fills; a widget may name an ``enum``, which
binds its input to the enum's enabled values (docs/templates.md). A start takes the
active version's values, overridden by the caller's, checks the enum-bound inputs, and
records the version and the overrides on the run, in the run's transaction, and in the
journal. A template is deleted only while no run started from it is active; the record
of the runs it started stays (template_runs has no foreign key to it).
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import templates as statements
from exchange.workflows.db.journal import JournalEntry
from exchange.workflows import codec, codes, validate, vocabulary
from exchange.workflows.engine import catalog, enums, operator
from exchange.workflows.errors import InvalidArgument

KIND = catalog.Kind(statements.CATALOG, "template", codes.TEMPLATE_NOT_FOUND,
                    (vocabulary.TEMPLATE_VERSION_CREATE, vocabulary.TEMPLATE_VERSION_ACTIVATE,
                     vocabulary.TEMPLATE_VERSION_RETIRE))


def _listOf(what, value, key):
    """``value[key]``, which must be a list."""
    found = value.get(key) if isinstance(value, dict) else None
    if not isinstance(found, list):
        raise InvalidArgument(u"%s needs a list %r" % (what, key), codes.INVALID_TEMPLATE)
    return found


def widgets(layout):
    """Every widget of a form layout, in order (the layout checked on the way)."""
    found = []
    for column in _listOf("a form layout", layout, "columns"):
        for row in _listOf("a column", column, "rows"):
            for widget in _listOf("a row", row, "widgets"):
                if not isinstance(widget, dict):
                    raise InvalidArgument(u"a widget is a dict", codes.INVALID_TEMPLATE)
                validate.name("a widget's id", widget.get("id"))
                validate.name("a widget's enum", widget.get("enum"), False)
                found.append(widget)
    return found


def checkValues(values):
    """A version's input values: a dict keyed by input names."""
    given = {} if values is None else codec.asDict(values)
    if given is None:
        raise InvalidArgument(u"values must be a dict of input values", codes.INVALID_TEMPLATE)
    for key in given:
        validate.name("input name", key)
    return given


def bindings(layoutJson):
    """{input name: enum name} of a stored layout's enum-bound widgets."""
    layout = codec.decode(layoutJson)
    if layout is None:
        return {}
    return dict((w["id"], w["enum"]) for w in widgets(layout) if w.get("enum"))


def enumProblem(dbName, layoutJson, inputs):
    """Why an enum-bound input of ``inputs`` is not one of its enum's enabled values, or
    None."""
    for inputName, enumName in sorted(bindings(layoutJson).items()):
        if inputName in inputs:
            problem = enums.valueProblem(dbName, enumName, inputs[inputName])
            if problem:
                return u"input %s: %s" % (inputName, problem)
    return None


def prepare(dbName, templateName, workflowName):
    """What creates the template's row (for ``workflowName``) with its first version, and
    refuses a version for another workflow than the template's."""
    def create(t, actorName):
        statements.create(dbName, templateName, workflowName, actorName, t)
        owner = statements.workflowOf(dbName, templateName, t)
        if owner != workflowName:
            raise InvalidArgument(u"template %s is for workflow %s, not %s" % (
                templateName, owner, workflowName), codes.TEMPLATE_WORKFLOW_MISMATCH)
    return create


def startable(dbName, workflowName, templateName, version):
    """The active version a start uses, checked: the template exists, is for the
    workflow, and its active version is ``version`` when one is named (the one the
    operator's form showed); raises InvalidArgument with the code of the refusal."""
    owner = statements.workflowOf(dbName, templateName)
    if owner is None:
        raise InvalidArgument(u"no template %s" % templateName, codes.TEMPLATE_NOT_FOUND)
    if owner != workflowName:
        raise InvalidArgument(u"template %s is for workflow %s, not %s" % (
            templateName, owner, workflowName), codes.TEMPLATE_WORKFLOW_MISMATCH)
    active = statements.CATALOG.active(dbName, templateName)
    if active is None or (version is not None and active["version"] != version):
        raise InvalidArgument(u"template %s has no active version%s" % (
            templateName, u"" if version is None else u" %s" % version),
            codes.TEMPLATE_NOT_ACTIVE, {"activeVersion": active and active["version"]})
    return active


def merged(dbName, active, overrides):
    """The active version's values updated with ``overrides``, enum-bound inputs checked."""
    inputs = codec.decode(active["input_values"])
    inputs.update(checkValues(overrides))
    problem = enumProblem(dbName, active["form_layout"], inputs)
    if problem:
        raise InvalidArgument(problem, codes.INVALID_INPUTS)
    return inputs


def recordStart(dbName, actor, workflowId, active, overrides, t):
    """In the run's insert transaction: which version and overrides it started with, in
    template_runs and the journal (TEMPLATE_START)."""
    overridesJson = codec.encode(overrides or {})
    statements.recordRun(dbName, workflowId, statements.RunTemplate(
        active["name"], active["version"], overridesJson, actor.name), t)
    operator.journal(dbName, actor, JournalEntry(vocabulary.TEMPLATE_START,
                                                 workflowId=workflowId),
                     operator.Outcome(True, codes.WORKFLOW_ENQUEUED),
                     {"template": active["name"], "version": active["version"],
                      "overrides": overrides or {}}, t)


class Delete(catalog.Change):
    """Delete a template and its versions, refused while a run started from it is active."""

    def __init__(self, dbName, templateName):
        catalog.Change.__init__(self, dbName, KIND, vocabulary.TEMPLATE_DELETE, templateName)

    def lock(self, t):
        """The template's row locked, and its active runs counted under the lock: (latest
        version or None, active runs)."""
        latest = catalog.Change.lock(self, t)
        return latest, (0 if latest is None else statements.activeRuns(self.dbName, self.name, t))

    def decide(self, state):
        latest, active = state
        if latest is None:
            return self.refuse(codes.TEMPLATE_NOT_FOUND, u"no template %s" % self.name)
        if active:
            return self.refuse(codes.TEMPLATE_IN_USE, u"%d active run(s) started from "
                               u"template %s" % (active, self.name))
        return "delete", codes.TEMPLATE_DELETED

    def transition(self, t, state, transition):
        return KIND.catalog.delete(self.dbName, self.name, t)


def expandedLayout(dbName, layoutJson):
    """A stored layout with each enum-bound widget's dropdown options filled in from the
    enum's active version (the enabled options, {label, value}); a widget whose enum has no
    active version gets none."""
    layout = codec.decode(layoutJson)
    if layout is None:
        return None
    for widget in widgets(layout):
        if widget.get("enum"):
            widget["type"] = widget.get("type") or "dropdown"
            widget["dropdown"] = dict(widget.get("dropdown") or {},
                                      options=enums.enabledOptions(dbName, widget["enum"]))
    return layout
