"""The console's Runs page: its filter options, a page of runs with live counts, the chart
of runs over time (by status, with the median queue wait and run time) and the start form
built from a workflow's signature (or from one of its templates' active version).

Views call these and read ``result["data"]``; each row carries its status ``colour``.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.api import consolecommon, consoleforms, envelope, service, templates
from exchange.workflows.api.envelope import guarded
from exchange.workflows.db import consoleruns as statements
from exchange.workflows import codec, codes, compat, settings, statuses, validate
from exchange.workflows.engine import actors, registry
from exchange.workflows.engine.templates import KIND as TEMPLATE
from exchange.workflows.errors import InvalidArgument

OPTIONS_LIMIT = 500  # partitions and queues offered in a filter
MAX_BUCKETS = 500
DAY_MS = 24 * 3600 * 1000  # the chart's range when none is given


@guarded
def filterOptions(dbName=None):
    """What the Runs page's filters offer: every status, the registered workflows, the
    declared queues (and the default one), the partitions of active runs; each also as a
    dropdown's ``{label, value}`` options."""
    queues = sorted(set([settings.DEFAULT_QUEUE] +
                        statements.declaredQueues(dbName, OPTIONS_LIMIT)))
    data = {"statuses": list(statuses.ALL), "workflows": registry.registeredNames(),
            "queues": queues, "partitions": statements.activePartitions(dbName, OPTIONS_LIMIT)}
    data.update(statusOptions=consolecommon.options(data["statuses"]),
                workflowOptions=consolecommon.options(data["workflows"]),
                queueOptions=consolecommon.options(queues),
                partitionOptions=consolecommon.options(data["partitions"]))
    return envelope.ok(codes.FILTER_OPTIONS, u"%d workflow(s), %d queue(s)"
                       % (len(data["workflows"]), len(queues)), data)


def _statusesText(status):
    """One status, a list or comma-separated text of them (None: any) as the statement's
    comma-separated text."""
    if status is None or status == u"" or status == []:
        return None
    wanted = status.split(",") if isinstance(status, compat.string_types) else list(status)
    for one in wanted:
        settings.checkChoice("status", one, statuses.ALL)
    return u",".join(wanted)


def _runFilter(workflowName, queueName, partitionKey, fromMs, toMs, parentWorkflowId=None):
    validate.name("workflowName", workflowName, False)
    validate.name("parentWorkflowId", parentWorkflowId, False)
    validate.name("queueName", queueName, False)
    validate.name("partitionKey", partitionKey, False)
    validate.wholeNumber("fromMs", fromMs, required=False)
    validate.wholeNumber("toMs", toMs, required=False)
    return statements.RunFilter(workflowName, queueName, partitionKey, fromMs, toMs,
                                parentWorkflowId)


def _row(run):
    """A page row: the run's times in ms, its queue wait (start - due) and duration."""
    started, due = run["started_at_ms"], run["run_at_ms"] or run["created_at_ms"]
    return {"workflowId": run["workflow_id"], "workflowName": run["workflow_name"],
            "queueName": run["queue_name"], "partitionKey": run["partition_key"],
            "status": run["status"], "colour": consolecommon.colourOf(run["status"]),
            "statusCell": consolecommon.statusCell(run["status"]),
            "createdMs": run["created_at_ms"], "startedMs": started,
            "endedMs": run["completed_at_ms"],
            "durationMs": consolecommon.durationMs(started, run["completed_at_ms"]),
            "waitMs": consolecommon.durationMs(due, started), "attempts": run["attempts"],
            "pendingCommand": run["pending_command"],
            "parentWorkflowId": run["parent_workflow_id"]}


@guarded
def runsPage(status=None, workflowName=None, queueName=None, partitionKey=None, fromMs=None,
             toMs=None, limit=100, offset=0, dbName=None, parentWorkflowId=None):
    """A page of runs, newest first, filtered by status (one, a list or "A,B"), workflow,
    queue, partition, creation time [fromMs, toMs) and parent (the children of one run); with ``counts`` by status of the
    runs the other filters match and ``total``, the number the status filter keeps (both
    over the newest db.consoleruns.COUNT_LIMIT runs: ``capped`` says when they reached it)."""
    wanted = _statusesText(status)
    runFilter = _runFilter(workflowName, queueName, partitionKey, fromMs, toMs,
                           parentWorkflowId)
    validate.wholeNumber("limit", limit, 0)
    validate.wholeNumber("offset", offset, 0)
    rows = [_row(run) for run in statements.page(dbName, wanted, runFilter,
                                                 min(limit, 1000), offset)]
    counts = statements.counts(dbName, runFilter)
    total = sum(n for s, n in counts.items() if wanted is None or s in wanted.split(","))
    return envelope.ok(codes.RUNS_PAGE, u"%d of %d run(s)" % (len(rows), total),
                       {"rows": rows, "total": total, "counts": counts,
                        "capped": sum(counts.values()) >= statements.COUNT_LIMIT})


@guarded
def runsChart(fromMs=None, toMs=None, buckets=24, workflowName=None, queueName=None,
              dbName=None):
    """Runs created in [fromMs, toMs) (default: the last 24 hours) in ``buckets`` equal
    buckets: ``series``, one point per bucket with its count per status, and ``timings``,
    per bucket the median queue wait and run time in ms (None without runs that started or
    ended). Over the newest db.consoleruns.CHART_LIMIT runs of the range."""
    toMs = compat.nowMs() if toMs is None else toMs
    fromMs = toMs - DAY_MS if fromMs is None else fromMs
    runFilter = _runFilter(workflowName, queueName, None, fromMs, toMs)
    validate.wholeNumber("buckets", buckets, 1)
    if toMs <= fromMs or buckets > MAX_BUCKETS:
        raise InvalidArgument(u"the chart needs fromMs < toMs and 1 to %d buckets"
                              % MAX_BUCKETS)
    bucketMs = -(-(toMs - fromMs) // buckets)
    series = [dict([("t", fromMs + i * bucketMs)] + [(s, 0) for s in statuses.ALL])
              for i in range(buckets)]
    timings = [{"t": point["t"], "waitMsP50": None, "runMsP50": None} for point in series]
    for bucket, status, timing, count, waitP50, runP50 in statements.chart(dbName, runFilter,
                                                                            bucketMs):
        if timing:
            timings[bucket].update(waitMsP50=_ms(waitP50), runMsP50=_ms(runP50))
        else:
            series[bucket][status] = count
    return envelope.ok(codes.RUNS_CHART, u"%d bucket(s) of %d ms" % (buckets, bucketMs),
                       {"bucketMs": bucketMs, "series": series, "timings": timings})


def _ms(value):
    return None if value is None else int(round(value))


def _fieldType(value):
    """The form input a default suggests: boolean, number, text or json (no default: text)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, compat.integer_types + (float,)):
        return "number"
    if value is None or isinstance(value, compat.string_types):
        return "text"
    return "json"


@guarded
def workflowForm(workflowName, templateName=None, dbName=None):
    """The start form of a registered workflow: a field per parameter of its function
    (``required`` without a default; ``type`` guessed from the default), and ``inputs``,
    JSON text of every parameter with its default (null without one) that the advanced input
    starts from, and ``instances``, the form's repeater (api.consoleforms), filled with the
    values of ``templateName``'s active version when given. Codes: WORKFLOW_FORM,
    UNKNOWN_WORKFLOW."""
    validate.name("workflowName", workflowName)
    definition = registry.lookup(workflowName)
    if definition is None:
        return envelope.fail(codes.UNKNOWN_WORKFLOW, u"no workflow named %s is registered"
                             % workflowName, {"workflowName": workflowName})
    names, _varkw, defaults = definition.argSpec()
    defaults = list(defaults or ())
    optional = dict(zip(names[len(names) - len(defaults):], defaults))
    fields = [{"name": name, "required": name not in optional,
               "default": optional.get(name), "type": _fieldType(optional.get(name))}
              for name in names]
    inputs = codec.encode(dict((field["name"], field["default"]) for field in fields))
    values = _templateValues(templateName, dbName) if templateName else {}
    filled = [dict(field, default=values.get(field["name"], field["default"]))
              for field in fields]
    return envelope.ok(codes.WORKFLOW_FORM, u"%d field(s)" % len(fields),
                       {"workflowName": workflowName, "fields": fields, "inputs": inputs,
                        "instances": consoleforms.instances(filled)})


def _templateValues(templateName, dbName):
    """The values of a template's active version ({} without one)."""
    validate.name("templateName", templateName)
    active = TEMPLATE.catalog.active(dbName, templateName)
    return {} if active is None else codec.decode(active["input_values"])


@guarded
def templateOptions(workflowName, dbName=None):
    """The start form's template dropdown: the workflow's templates with an active version,
    each ``{label: "name vN", value: name, version, values}``."""
    validate.name("workflowName", workflowName)
    found = []
    for row in templates.listTemplates(workflowName, dbName)["data"]["templates"]:
        if row["activeVersion"] is not None:
            found.append({"label": u"%s v%s" % (row["name"], row["activeVersion"]),
                          "value": row["name"], "version": row["activeVersion"],
                          "values": _templateValues(row["name"], dbName)})
    return envelope.ok(codes.TEMPLATES_LISTED, u"%d active template(s)" % len(found),
                       {"workflowName": workflowName, "options": found})


@guarded
def startWorkflow(workflowName, inputs=None, queueName=None, partitionKey=None, session=None,
                  user=None, roles=None, dbName=None):
    """Start a workflow from the console's form as the session's user, who needs one of the
    ``command`` roles (settings); then exactly api.service.enqueue (its envelope, with
    ``startedBy``). ``inputs``: a dict, or the form's JSON text of one (text that is not
    JSON: INVALID_INPUTS, saying where). Codes: those of enqueue, NOT_AUTHORIZED."""
    inputs = consolecommon.parsedInputs(inputs)
    actor = actors.resolve(actors.Caller(user, session, roles))
    actors.authorize(actor, "command")
    result = service.enqueue(workflowName, inputs, queueName=queueName,
                             partitionKey=partitionKey, dbName=dbName)
    result["data"]["startedBy"] = actor.name
    return result


@guarded
def startFromForm(workflowName, instances, templateName=None, version=None, queueName=None,
                  partitionKey=None, session=None, user=None, roles=None, dbName=None):
    """Start a workflow from the form's filled-in ``instances`` (api.consoleforms.values):
    from ``templateName``'s ``version`` (the one the form showed) with, as overrides, only
    the values that differ from the template's (api.templates.startWithTemplate); without a
    template, exactly startWorkflow. Codes: theirs and those of consoleforms.values."""
    form = consoleforms.values(instances)
    if not form["ok"]:
        return form
    if not templateName:
        return startWorkflow(workflowName, form["data"], queueName=queueName,
                             partitionKey=partitionKey, session=session, user=user,
                             roles=roles, dbName=dbName)
    approved = _templateValues(templateName, dbName)
    overrides = dict((name, value) for name, value in form["data"].items()
                     if name not in approved or approved[name] != value)
    return templates.startWithTemplate(workflowName, templateName, overrides or None,
                                       version=version, queueName=queueName,
                                       partitionKey=partitionKey, user=user, session=session,
                                       roles=roles, dbName=dbName)
