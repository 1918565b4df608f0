"""Every script of every Perspective view of the console runs against the gateway simulator.

tests/perspective.py reads each ``view.json``, finds its scripts (binding transforms, custom
methods, message handlers, component events) and runs each with a stand-in ``self`` built from
the view's props tree, so a script that calls a function the library lacks, or reads a key
the library does not return, fails here. A view's scenario sets up what its scripts need to
do real work (a run to show, a prompt to answer) and the state an operator would have
entered before pressing a button. Runs under pytest and Jython (tests/jython_suite.py).
"""
from __future__ import absolute_import, division, print_function

import json
import os
import unittest

import perspective
from helpers import waitFor
from support import EngineCase

BASE = "Exchange/Workflows/"
PAGES = ["Runs", "RunDetails", "Prompts", "Queues", "Executors", "Admin"]


def _withRun(case):
    return {"params": {}, "custom": {}, "workflowId": case.engine.enqueue("three_steps")}


def _runs(case):
    case.engine.runToEnd(case.engine.enqueue("three_steps"))
    return {"custom": {"start": {"workflowName": "three_steps", "fields": [],
                                 "inputs": '{"kg": 3}', "queueName": "", "partitionKey": "",
                                 "confirm": True, "message": ""}}}


def _details(case):
    workflowId = case.engine.enqueue("three_steps")
    case.engine.runToEnd(workflowId)
    return {"params": {"workflowId": workflowId},
            "custom": {"command": {"name": "RESUME", "reason": "harness", "message": ""}}}


def _prompts(case):
    workflowId = case.engine.enqueue("asks_operator")
    case.engine.runUntil(lambda: case.engine.status(workflowId) == "WAITING")
    return {"custom": {"answer": {"promptId": "", "message": "", "options": [],
                                  "response": "yes", "comment": "harness", "confirm": True,
                                  "result": ""}}}


def _admin(case):
    return {"custom": {"action": {"method": "applyRetention", "reason": "harness",
                                  "message": "", "days": 30, "purgeDays": 30,
                                  "queueName": ""}}}


SCENARIOS = {"Runs": _runs, "RunDetails": _details, "Prompts": _prompts, "Admin": _admin}


class ViewScriptsRun(EngineCase):
    """Each page's scripts, run in order: transforms, custom methods, handlers, events."""

    def runView(self, name):
        scenario = SCENARIOS.get(name, lambda case: {})(self)
        harness = perspective.Harness(BASE + name, params=scenario.get("params"))
        harness.view.tree["custom"].update(scenario.get("custom", {}))
        failures = harness.runAll()
        if failures:
            self.fail("%s: %d script(s) failed\n" % (name, len(failures))
                      + "\n".join("%s: %s" % f for f in failures))
        return harness

    def test_runs(self):
        harness = self.runView("Runs")
        self.assertTrue(harness.view.tree["custom"]["runs"]["rows"])
        self.assertIn("navigate", [c[0] for c in harness.perspective.calls])

    def test_run_details(self):
        harness = self.runView("RunDetails")
        self.assertTrue(harness.view.tree["custom"]["timeline"]["rows"])

    def test_prompts(self):
        harness = self.runView("Prompts")  # the row click picked the prompt, left no answer
        answer = harness.view.tree["custom"]["answer"]
        self.assertTrue(answer["promptId"])
        answer.update(response="yes", confirm=True)  # the operator picks an option
        confirm = [s for s in perspective.scriptsOf(harness.definition)
                   if s.kind == "event" and s.owner.endswith("/ConfirmAnswer")]
        self.assertEqual(len(confirm), 1)
        harness.run(confirm[0])
        waitFor(lambda: self.gw.sql("SELECT count(*) FROM workflows.prompts WHERE status "
                                    "<> 'PENDING'")[0][0] == 1, 10, 0.01, "prompt answered")

    def test_queues(self):
        self.runView("Queues")

    def test_executors(self):
        self.assertTrue(self.runView("Executors").view.tree["custom"]["executors"]["rows"])

    def test_admin(self):
        self.runView("Admin")

    def test_nav(self):
        harness = self.runView("Nav")
        self.assertEqual(len(harness.perspective.calls), 5)

    def test_every_view_is_a_page_or_the_navigation(self):
        self.assertEqual(sorted(perspective.viewPaths()),
                         sorted(BASE + name for name in PAGES + ["Nav"]))
        self.assertEqual(sorted(perspective.routes().values()),
                         sorted(BASE + name for name in PAGES))


class _Fake(object):
    """A tiny stand-in library for the harness's own tests."""

    def __init__(self, **attributes):
        self.__dict__.update(attributes)


def _fakeLibrary():
    page = lambda **kwargs: {"ok": True, "code": "OK", "message": "", "data": {"rows": [1]}}
    return _Fake(workflows=_Fake(api=_Fake(consolefake=_Fake(page=page))))


def _view(transform):
    return {"custom": {"rows": []}, "params": {}, "props": {},
            "propConfig": {"custom.rows": {"binding": {"config": {"expression": "now(5000)"},
                           "type": "expr", "transforms": [{"type": "script",
                                                           "code": transform}]}}},
            "root": {"meta": {"name": "root"}, "type": "ia.container.flex", "props": {},
                     "children": [{"meta": {"name": "Button"}, "type": "ia.input.button",
                                   "props": {"text": "Go"}, "events": {"component": {
                                       "onActionPerformed": {"type": "script", "scope": "G",
                                                             "config": {"script": "\tpass"}}}}}]}}


class HarnessFindsMistakes(unittest.TestCase):
    """The harness itself: a good script passes, a missing function or key fails."""

    def failures(self, transform):
        harness = perspective.Harness("Fake", _view(transform), library=_fakeLibrary())
        return harness, harness.runAll()

    def test_a_good_script_passes_and_writes_its_property(self):
        harness, failures = self.failures(
            '\treturn exchange.workflows.api.consolefake.page()["data"]["rows"]')
        self.assertEqual(failures, [])
        self.assertEqual(harness.view.tree["custom"]["rows"], [1])

    def test_a_missing_function_fails(self):
        _harness, failures = self.failures('\treturn exchange.workflows.api.consolefake.nope()')
        self.assertEqual(len(failures), 1)
        self.assertIn("nope", failures[0][1])

    def test_a_missing_key_fails(self):
        _harness, failures = self.failures(
            '\treturn exchange.workflows.api.consolefake.page()["data"]["total"]')
        self.assertIn("KeyError", failures[0][1])

    def test_a_missing_property_fails(self):
        _harness, failures = self.failures('\treturn self.custom.nothing')
        self.assertIn("no property 'nothing'", failures[0][1])

    def test_the_real_library_names_what_it_lacks(self):
        library = perspective.Library("exchange")
        with self.assertRaises(AttributeError) as raised:
            library.workflows.api.noSuchConsoleModule.page
        self.assertIn("exchange.workflows.api.noSuchConsoleModule", str(raised.exception))

    def test_every_script_is_found(self):
        kinds = [s.kind for s in perspective.scriptsOf(_view("\treturn 1"))]
        self.assertEqual(kinds, ["transform", "event"])
        admin = perspective.scriptsOf(perspective.loadView(BASE + "Admin"))
        self.assertEqual(len([s for s in admin if s.kind == "method"]), 7)

    def test_every_view_script_compiles(self):
        for path in perspective.viewPaths():
            for script in perspective.scriptsOf(perspective.loadView(path)):
                script.function({})


class ResourcesHaveTheExportedShape(unittest.TestCase):
    """Every Perspective resource folder's resource.json lists exactly its files."""

    def test_resource_files(self):
        found = 0
        for folder, _dirs, files in os.walk(perspective.PERSPECTIVE):
            if "resource.json" not in files:
                continue
            found += 1
            with open(os.path.join(folder, "resource.json")) as handle:
                resource = json.load(handle)
            self.assertEqual(resource["scope"], "G", folder)
            self.assertEqual((resource["version"], resource["restricted"],
                              resource["overridable"]), (1, False, True), folder)
            self.assertEqual(sorted(resource["files"]),
                             sorted(f for f in files if f != "resource.json"), folder)
        self.assertEqual(found, len(PAGES) + 1 + 2)  # views, page-config, stylesheet
