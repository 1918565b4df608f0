"""Workflows that use the plant I/O steps (exchange.workflows.engine.plantio), for
tests/test_plant_io.py: a recipe read from a database table, a statement the database
refuses, a report posted to the tests' local HTTP server. Retries are 50 ms apart."""
from __future__ import absolute_import, division, print_function

from exchange.workflows.engine.plantio import dbQuery, dbUpdate, httpRequest
from exchange.workflows.engine.runtime import StepError, workflow

from testing.flows import DB, crashOnce, note

FAST = {"intervalSeconds": 0.05, "backoffRate": 1.0}


@workflow
def reads_recipe(recipe, crash=None):
    rows = dbQuery("SELECT name, kg FROM public.recipes WHERE name = ?", [recipe], DB, **FAST)
    crashOnce(crash, "after-query")
    note("read")
    return rows


@workflow
def inserts_recipe_twice(recipe):
    added = dbUpdate("INSERT INTO public.recipes (name, kg) VALUES (?, ?)", [recipe, 1], DB,
                     **FAST)
    try:
        dbUpdate("INSERT INTO public.recipes (name, kg) VALUES (?, ?)", [recipe, 2], DB,
                 stepName="insertAgain", **FAST)
    except StepError as refused:
        return {"added": added, "type": refused.errorType, "attempts": refused.attempts}


@workflow
def posts_report(url, method="POST"):
    try:
        return httpRequest(method, url, body={"batch": "B-17", "kg": 50}, timeoutSeconds=5,
                           **FAST)
    except StepError as failed:
        return {"failed": failed.errorType, "attempts": failed.attempts,
                "message": failed.errorMessage}
