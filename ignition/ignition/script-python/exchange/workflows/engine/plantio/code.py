"""Steps for plant I/O beyond the engine: a query or update on one of the gateway's database
connections (the user's databases, not the engine's system database), and an HTTP request
through the gateway's HTTP client.

Each call is a recorded step: a replay returns the recorded rows or response without running
it again. Each retries only what trying again can cure (a lost connection, a 5xx); an answer
that would only repeat (a refused statement) fails the step at once (errors.StepRefused).
Workflows import them from here: ``from exchange.workflows.engine.plantio import dbQuery``.
"""
from __future__ import absolute_import, division, print_function

import system

from exchange.workflows import codes, compat, validate
from exchange.workflows.db import tx
from exchange.workflows.engine import runtime
from exchange.workflows.errors import InvalidArgument, StepRefused

# The retry policy when a call names none: three attempts, 1 s then 2 s apart.
DEFAULT_POLICY = {"maxAttempts": 3, "intervalSeconds": 1.0, "backoffRate": 2.0}
HTTP_METHODS = ("get", "post", "put", "patch", "delete")  # any case; the client's methods


class HttpServerError(Exception):
    """A 5xx answer: the service may recover, so the step tries again."""


def dbQuery(query, args=None, database="", **policy):
    """Run a prepared statement that returns rows (``?`` parameters only) on the named
    connection ("": the gateway's default); the rows as a list of {column: value}.
    ``policy``: maxAttempts, intervalSeconds, backoffRate, stepName (default "dbQuery")."""
    return _recorded("dbQuery", policy, _query)(query, list(args or ()), database)


def dbUpdate(query, args=None, database="", **policy):
    """Run a prepared INSERT, UPDATE or DELETE (``?`` parameters only) on the named
    connection; the number of rows it changed. ``policy``: as dbQuery's."""
    return _recorded("dbUpdate", policy, _update)(query, list(args or ()), database)


def httpRequest(method, url, body=None, headers=None, timeoutSeconds=30.0, **policy):
    """Send an HTTP request through ``system.net.httpClient()``; {"status", "body"}.

    Retried on a connection error or a 5xx; any other status (a 4xx included) is the
    service's answer and is returned, recorded, for the workflow to branch on. ``body``:
    text, or a dict or list sent as JSON. ``policy``: as dbQuery's (stepName "httpRequest").
    """
    method = _httpMethod(method)
    timeoutMs = int(1000 * validate.number("timeoutSeconds", timeoutSeconds, maximum=3600))
    return _recorded("httpRequest", policy, _http)(method, url, body, dict(headers or {}),
                                                  timeoutMs)


def _recorded(defaultName, policy, body):
    """``body`` as a step named by the policy (or ``defaultName``), with retries on."""
    unknown = set(policy) - set(DEFAULT_POLICY) - set(["stepName"])
    if unknown:
        raise InvalidArgument(u"unknown step option(s): %s" % u", ".join(sorted(unknown)))
    options = dict(DEFAULT_POLICY)
    options.update(policy)
    name = options.pop("stepName", defaultName)
    return runtime.step(name=name, retriesAllowed=True, **options)(body)


def _query(query, args, database):
    dataset = _refusedOrRaise(lambda: system.db.runPrepQuery(query, args, database))
    columns = [compat.toText(c) for c in dataset.getColumnNames()]
    return [dict(zip(columns, [tx.cell(row[c]) for c in range(len(columns))]))
            for row in dataset]


def _update(query, args, database):
    return _refusedOrRaise(lambda: system.db.runPrepUpdate(query, args, database))


def _refusedOrRaise(call):
    """``call()``; a statement the database refuses (syntax, constraint, type) raises
    StepRefused (DB_STATEMENT_REFUSED), a lost connection is raised as it is (retried)."""
    try:
        return call()
    except compat.CATCHABLE as error:
        if tx.isDatabaseError(error) and not tx.isTransient(error):
            raise StepRefused(u"the database refused the statement (SQLSTATE %s): %s"
                              % (tx.sqlState(error), compat.describeError(error)[1]),
                              codes.DB_STATEMENT_REFUSED)
        raise


def _http(method, url, body, headers, timeoutMs):
    client = system.net.httpClient()
    send = {"get": client.get, "post": client.post, "put": client.put,
            "patch": client.patch, "delete": client.delete}[method]
    response = send(url, data=body, headers=headers, timeout=timeoutMs)
    status = int(response.statusCode)
    if response.serverError:
        raise HttpServerError(u"%s %s answered %d" % (method.upper(), url, status))
    return {"status": status, "body": compat.toText(response.text or u"")}


def _httpMethod(method):
    if not isinstance(method, compat.string_types) or method.lower() not in HTTP_METHODS:
        raise InvalidArgument(u"method is one of %s: %s" % (u", ".join(HTTP_METHODS),
                                                            compat.shown(method)))
    return method.lower()
