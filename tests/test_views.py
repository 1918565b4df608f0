"""Every script of every Perspective view of the console runs against the gateway simulator.

tests/perspective.py reads each ``view.json``, finds its scripts (binding transforms, custom
methods, message handlers, component events) and runs each with a stand-in ``self`` built from
the view's props tree, so a script that calls a function the library lacks, or reads a key
the library does not return, fails here. A view's scenario sets up what its scripts need to
do real work (a run to show, a prompt to answer, a dead letter: every table with a row event
has rows) and the state an operator would have entered before pressing a button; its
``expect`` names the failing envelope codes a script is meant to get (none today). Runs under pytest and Jython (tests/jython_suite.py).
"""
from __future__ import absolute_import, division, print_function

import json
import os
import unittest

import perspective
import perspective_expressions
from helpers import waitFor
from support import EngineCase

BASE = "Exchange/Workflows/"
PAGES = ["Runs", "RunDetails", "Prompts", "Queues", "Executors", "Admin", "Templates",
         "Schedules", "Insights"]


def _withRun(case):
    return {"params": {}, "custom": {}, "workflowId": case.engine.enqueue("three_steps")}


def _runs(case):
    case.engine.runToEnd(case.engine.enqueue("three_steps"))
    return {"custom": {"start": {"workflowName": "three_steps", "instances": [],
                                 "inputs": '{"kg": 3}', "advanced": False, "queueName": "",
                                 "partitionKey": "", "confirm": True, "message": "",
                                 "templateName": "", "templateOptions": []}}}


def _details(case):
    registered = case.engine.admin.registerWorkflowModules(["testing.flows",
                                                            "testing.childflows"])
    assert registered["ok"], registered
    workflowId = case.engine.enqueue("family_publisher", inputs={"values": 2})  # events,
    case.engine.runToEnd(workflowId)                                     # streams, a child
    return {"params": {"workflowId": workflowId},
            "custom": {"command": {"name": "RESUME", "reason": "harness", "message": "",
                                   "delaySeconds": 60, "fromStep": 1}}}


def _prompts(case):
    workflowId = case.engine.enqueue("asks_operator")
    case.engine.runUntil(lambda: case.engine.status(workflowId) == "WAITING")
    return {"custom": {"answer": {"promptId": "", "message": "", "options": [],
                                  "instances": [], "advanced": False, "response": "yes",
                                  "comment": "harness", "confirm": True, "result": ""}}}


def _field(case):
    """The Field view as the start form's repeater draws a filled integer field."""
    return {"params": {"name": "kg", "type": "integer", "required": True, "options": [],
                       "value": 3}}


def _deadLetter(case):
    """One DROPPED_OLDEST dead letter (as tests/test_console_ops.py makes them): its id."""
    engine = case.engine
    engine.startOnlyOnDispatch()
    assert engine.admin.configure(memoryQueueCapacity=1)["ok"]
    for kg in (1, 2):
        assert engine.service.enqueueInMemory("three_steps", inputs={"kg": kg},
                                              overflowPolicy="dropOldest")["ok"]
    assert engine.service.dispatch()["data"]["flushed"] == 1
    return case.gw.sql("SELECT min(dead_letter_id) FROM workflows.dead_letters")[0][0]


def _admin(case):
    return {"custom": {"action": {"method": "applyRetention", "reason": "harness",
                                  "message": "", "days": 30, "purgeDays": 30,
                                  "queueName": ""},
                       "selectedDeadLetter": _deadLetter(case),
                       "retentionForm": {"maxAgeDays": 30, "maxRows": 1000,
                                         "staleAfterHours": None, "intervalSeconds": 60,
                                         "batchSize": 500, "loadedAtMs": None}}}


def _templates(case):
    """A template with a draft version (made through api.templates): the row picked and
    Activate pressed, so Confirm activates it for real."""
    templates = __import__("exchange.workflows.api.templates", fromlist=["x"])
    created = templates.createTemplateVersion("three_steps", "harness-recipe", {"kg": 3},
                                              user="eng")
    assert created["code"] == "VERSION_CREATED", created
    return {"custom": {"selected": {"kind": "TEMPLATE", "name": "harness-recipe",
                                    "version": created["data"]["version"]},
                       "action": {"name": "ACTIVATE", "message": ""}}}


def _schedules(case):
    """A schedule (made through api.schedules): its row picked, so Confirm acts on it (the
    buttons run in order: Pause, Resume, Trigger now, then Confirm triggers a run); the
    Create schedule form filled in, so Create makes a second one."""
    schedules = __import__("exchange.workflows.api.schedules", fromlist=["x"])
    created = schedules.createSchedule("harness-hourly", "three_steps", "@hourly",
                                       "Europe/Zurich", {"kg": 3}, user="eng")
    assert created["code"] == "SCHEDULE_CREATED", created
    return {"custom": {"selected": {"scheduleName": "harness-hourly"},
                       "action": {"name": "", "message": ""},
                       "create": {"scheduleName": "harness-daily", "workflowName": "three_steps",
                                  "cron": "0 6 * * *", "timeZone": "Europe/Zurich",
                                  "inputs": '{"kg": 4}', "queueName": None, "message": ""}}}


SCENARIOS = {"Runs": _runs, "RunDetails": _details, "Prompts": _prompts, "Admin": _admin,
             "Field": _field, "Templates": _templates, "Schedules": _schedules}


def _withoutChildren(failures):
    """The failures of a Run details page but its Children table's row click: a run that
    started no child has no row to click (test_run_details clicks one)."""
    return [f for f in failures if not f[0].startswith("event root/Children ")]


def _event(harness, suffix):
    """The one component event script whose owner ends with ``suffix``."""
    found = [s for s in perspective.scriptsOf(harness.definition)
             if s.kind == "event" and s.owner.endswith(suffix)]
    assert len(found) == 1, (suffix, found)
    return found[0]


class ViewScriptsRun(EngineCase):
    """Each page's scripts, run in order: transforms, custom methods, handlers, events."""

    def runView(self, name):
        scenario = SCENARIOS.get(name, lambda case: {})(self)
        harness = perspective.Harness(BASE + name, params=scenario.get("params"),
                                      expect=scenario.get("expect"))
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
        self.assertEqual([(i["name"], i["type"], i["value"]) for i in harness.view.getChild(
            "StartForm/Form").tree["props"]["instances"]],
            [("material", "string", "flour"), ("kg", "integer", 10), ("crash", "string", "")])
        form = harness.view.tree["custom"]["start"]["instances"]  # the repeater's, bound both
        form[1]["value"] = 3  # ways: the operator fills the form in
        harness.view.tree["custom"]["start"]["confirm"] = True
        harness.run(_event(harness, "/ConfirmStart"))
        started = harness.perspective.calls[-1][1].split("/")[-1]
        self.assertEqual(self.gw.sql("SELECT inputs::text FROM workflows.workflow_runs "
                                     "WHERE workflow_id = ?", started)[0][0],
                         '{"kg": 3, "material": "flour"}')
        form[1]["value"] = "ten"  # a value its type refuses: the message, nothing starts
        harness.run(_event(harness, "/ConfirmStart"))
        self.assertEqual(harness.view.tree["custom"]["start"]["message"],
                         'kg must be a number, not "ten"')
        self.assertEqual(harness.perspective.calls[-1][1].split("/")[-1], started)

    def test_run_details(self):
        harness = self.runView("RunDetails")
        self.assertTrue(harness.view.tree["custom"]["timeline"]["rows"])
        children = harness.view.tree["custom"]["details"]["children"]
        self.assertEqual([(c["workflowName"], c["status"]) for c in children],
                         [("child_double", "SUCCESS")])
        self.assertIn(("navigate", "/workflows/run/" + children[0]["workflowId"]),
                      [tuple(c[:2]) for c in harness.perspective.calls])
        # the buttons ran in order, Fork last: Confirm forked the run after its last
        # position (it failed nowhere) and opened the fork
        original = harness.view.tree["params"]["workflowId"]
        last = max(r["position"] for r in harness.view.tree["custom"]["timeline"]["rows"]
                   if r["position"] is not None)
        forks = self.gw.sql("SELECT workflow_id, forked_at_step FROM workflows.workflow_runs "
                            "WHERE forked_from = ?", original)
        self.assertEqual([f[1] for f in forks], [last + 1])
        self.assertIn(("navigate", "/workflows/run/" + forks[0][0]),
                      [tuple(c[:2]) for c in harness.perspective.calls])
        self.assertEqual(harness.view.tree["custom"]["command"]["name"], "")

    def test_prompts(self):
        harness = self.runView("Prompts")  # the row click picked the prompt, left no answer
        answer = harness.view.tree["custom"]["answer"]
        self.assertTrue(answer["promptId"])
        answer.update(response="yes", confirm=True)  # the operator picks an option
        harness.run(_event(harness, "/ConfirmAnswer"))
        waitFor(lambda: self.gw.sql("SELECT count(*) FROM workflows.prompts WHERE status "
                                    "<> 'PENDING'")[0][0] == 1, 10, 0.01, "prompt answered")

    def test_a_prompt_with_a_schema_is_answered_through_its_form(self):
        workflowId = self.engine.enqueue("asks_for_lot")
        self.engine.runUntil(lambda: self.engine.status(workflowId) == "WAITING")
        harness = perspective.Harness(BASE + "Prompts")
        self.assertEqual(harness.runAll(), [])  # the row click picked the prompt, its form
        answer = harness.view.tree["custom"]["answer"]
        self.assertEqual(answer["instances"], [{"name": None, "type": "string",
                                                "required": True, "options": [], "value": ""}])
        self.assertEqual(harness.applyPlainBindings(), [])
        self.assertEqual(harness.view.getChild("Answer/Form").tree["props"]["instances"],
                         answer["instances"])  # the repeater shows them, bound both ways
        answer["instances"][0]["value"] = "L0007"
        answer.update(confirm=True, comment="harness")
        harness.run(_event(harness, "/ConfirmAnswer"))
        self.assertEqual(self.gw.sql("SELECT response::text FROM workflows.prompts")[0][0],
                         '"L0007"')

    def test_field(self):
        harness = self.runView("Field")
        shown = dict((c.name, c.tree["position"].get("display")) for c in
                     harness.view.rootContainer.children[1:])
        self.assertEqual(shown, {"Text": False, "Number": True, "Check": False,
                                 "Choice": False})
        self.assertEqual(harness.view.getChild("Number").tree["props"]["value"], 3)
        self.assertEqual(harness.view.getChild("Label").tree["props"]["text"], "kg *")

    def test_queues(self):
        self.runView("Queues")

    def test_executors(self):
        self.assertTrue(self.runView("Executors").view.tree["custom"]["executors"]["rows"])

    def test_admin(self):
        self.runView("Admin")
        policy = self.engine.admin.getRetentionPolicy()["data"]  # Save, then Apply, pressed
        self.assertEqual((policy["maxAgeDays"], policy["maxRows"], policy["lastPassDeleted"]),
                         (30.0, 1000, 0))

    def test_insights(self):
        self.engine.runToEnd(self.engine.enqueue("three_steps"))
        rows = self.runView("Insights").view.tree["custom"]["insights"]["stepRows"]
        self.assertEqual(sorted(r["stepName"] for r in rows), ["label", "mix", "weigh"])

    def test_templates(self):
        harness = self.runView("Templates")
        rows = harness.view.tree["custom"]["catalog"]["rows"]
        self.assertEqual([(r["kind"], r["name"], r["version"]) for r in rows],
                         [("TEMPLATE", "harness-recipe", 1)])
        versions = lambda: self.gw.sql("SELECT version, status FROM workflows.template_versions "
                                       "WHERE template_name = 'harness-recipe' ORDER BY version")
        self.assertEqual(versions(), [(1, "RETIRED")])  # Activate, Retire, Confirm: in order
        templates = __import__("exchange.workflows.api.templates", fromlist=["x"])
        templates.createTemplateVersion("three_steps", "harness-recipe", {"kg": 4}, user="eng")
        harness.view.tree["custom"]["selected"]["version"] = 2
        harness.run(_event(harness, "/Activate"))
        harness.run(_event(harness, "/Confirm"))
        self.assertEqual(versions(), [(1, "RETIRED"), (2, "ACTIVE")])
        self.assertEqual(harness.view.tree["custom"]["action"]["name"], "")

    def test_nav(self):
        harness = self.runView("Nav")
        self.assertEqual(len(harness.perspective.calls), 8)

    def test_schedules(self):
        harness = self.runView("Schedules")
        rows = harness.view.tree["custom"]["schedules"]["rows"]
        self.assertEqual([(r["scheduleName"], r["status"], r["nextFire"][-5:]) for r in rows],
                         [("harness-hourly", "ACTIVE", "00:00")])
        triggered = self.gw.sql("SELECT workflow_id FROM workflows.workflow_runs "
                                "WHERE workflow_id LIKE 'sched:harness-hourly:now:%'")
        self.assertEqual(len(triggered), 1)
        self.assertEqual(harness.view.tree["custom"]["action"]["name"], "")
        harness.run(_event(harness, "/Pause"))
        harness.run(_event(harness, "/Confirm"))
        self.assertEqual(self.gw.sql("SELECT status FROM workflows.schedules WHERE "
                                     "schedule_name = 'harness-hourly'")[0][0], "PAUSED")
        created = self.gw.sql("SELECT workflow_name, cron, time_zone, inputs::text, created_by "
                              "FROM workflows.schedules WHERE schedule_name = 'harness-daily'")
        self.assertEqual([tuple(r) for r in created], [("three_steps", "0 6 * * *",
                                                        "Europe/Zurich", '{"kg": 4}', "operator")])  # the session's user
        form = harness.view.tree["custom"]["create"]
        self.assertEqual((form["scheduleName"], harness.view.tree["custom"]["refresh"]), ("", 1))
        self.assertIn({"label": "three_steps", "value": "three_steps"},
                      harness.view.tree["custom"]["options"]["workflowOptions"])

    def test_the_create_schedule_form_shows_what_is_wrong(self):
        harness = self.runView("Schedules")
        form, create = harness.view.tree["custom"]["create"], _event(harness, "/CreateForm/Create")
        for given, shown in [({"scheduleName": "s", "cron": "61 * * * *"}, "cron"),
                             ({"cron": "@daily", "inputs": "{kg: 4}"}, "not valid JSON"),
                             ({"inputs": "", "timeZone": "Mars/Base"}, "Mars/Base"),
                             ({"timeZone": "", "workflowName": None}, "workflowName")]:
            form.update(given)
            harness.run(create)
            self.assertIn(shown, form["message"])
        self.assertEqual(self.gw.sql("SELECT count(*) FROM workflows.schedules WHERE "
                                     "schedule_name = 's'")[0][0], 0)
        form["workflowName"] = "three_steps"  # blank zone: UTC, blank inputs: none
        harness.run(create)
        self.assertEqual(tuple(self.gw.sql("SELECT time_zone, inputs::text FROM "
                                           "workflows.schedules WHERE schedule_name = 's'")[0]),
                         ("UTC", "{}"))
        assert self.engine.admin.configure(adminRoles=["Engineer"])["ok"]
        self.addCleanup(self.engine.admin.configure, adminRoles=[])
        refused = perspective.Harness(BASE + "Schedules",
                                      session=perspective.Session("bob", roles=["Viewer"]))
        refused.view.tree["custom"]["create"].update(
            scheduleName="t", workflowName="three_steps", cron="@daily", timeZone="UTC",
            inputs="", queueName=None, message="")
        refused.run(_event(refused, "/CreateForm/Create"))
        self.assertIn("needs one of the roles Engineer",
                      refused.view.tree["custom"]["create"]["message"])

    def test_resume_of_a_cancelled_run_resumes_it_from_its_step_log(self):
        workflowId = self.engine.enqueue("asks_operator")
        self.engine.runUntil(lambda: self.engine.status(workflowId) == "WAITING")
        assert self.engine.service.cancel(workflowId, reason="by mistake")["ok"]
        harness = perspective.Harness(BASE + "RunDetails", params={"workflowId": workflowId})
        self.assertEqual(_withoutChildren(harness.runAll()), [])  # nothing pending: no
        # command is confirmed
        self.assertTrue(harness.view.tree["custom"]["details"]["commands"]["RESUME_TERMINAL"])
        resume, confirm = [[s for s in perspective.scriptsOf(harness.definition)
                            if s.kind == "event" and s.owner.endswith(suffix)][0]
                           for suffix in ("/Commands/RESUME", "/Commands/Confirm")]
        harness.run(resume)
        self.assertEqual(harness.view.tree["custom"]["command"]["name"], "RESUME_TERMINAL")
        harness.view.tree["custom"]["command"]["reason"] = "cancelled by mistake"
        harness.run(confirm)
        self.assertNotEqual(self.engine.status(workflowId), "CANCELLED")

    def test_a_fork_from_a_chosen_step_opens_and_links_back_to_its_original(self):
        original = self.engine.enqueue("three_steps")
        self.engine.runToEnd(original)
        harness = perspective.Harness(BASE + "RunDetails", params={"workflowId": original})
        self.assertEqual(_withoutChildren(harness.runAll()), [])  # nothing pending
        self.assertEqual(harness.view.tree["custom"]["timeline"]["forkFrom"], 4)
        fork, confirm = _event(harness, "/Commands/FORK"), _event(harness, "/Commands/Confirm")
        harness.run(fork)
        self.assertEqual(harness.view.tree["custom"]["command"]["fromStep"], 4)
        harness.run(confirm)  # no reason given
        self.assertEqual(harness.view.tree["custom"]["command"]["message"],
                         "Give a reason first.")
        harness.view.tree["custom"]["command"].update(fromStep=2.0, reason="re-mix")
        harness.run(confirm)  # 2.0: as the numeric field gives it
        forked = harness.perspective.calls[-1][1].split("/")[-1]
        self.assertEqual(tuple(self.gw.sql("SELECT forked_from, forked_at_step FROM "
                                           "workflows.workflow_runs WHERE workflow_id = ?",
                                           forked)[0]), (original, 2))
        self.assertEqual(self.engine.runToEnd(forked), ["SUCCESS"])
        shown = perspective.Harness(BASE + "RunDetails", params={"workflowId": forked})
        self.assertEqual(_withoutChildren(shown.runAll()), [])
        link = shown.view.getChild("Summary/ForkedField/ForkedFrom")
        self.assertEqual(link.tree["props"]["text"], "%s at step 2" % original)
        self.assertIn(("navigate", "/workflows/run/" + original),
                      [tuple(c[:2]) for c in shown.perspective.calls])

    def test_change_delay_gives_a_delayed_run_another_start(self):
        workflowId = self.engine.enqueue("three_steps", delaySeconds=3600)
        harness = perspective.Harness(BASE + "RunDetails", params={"workflowId": workflowId})
        self.assertEqual(_withoutChildren(harness.runAll()), [])
        self.assertTrue(harness.view.tree["custom"]["details"]["commands"]["CHANGE_DELAY"])
        delay, confirm = [[s for s in perspective.scriptsOf(harness.definition)
                           if s.kind == "event" and s.owner.endswith(suffix)][0]
                          for suffix in ("/Commands/ChangeDelay", "/Commands/Confirm")]
        harness.run(delay)
        harness.view.tree["custom"]["command"].update(reason="line ready early",
                                                      delaySeconds=0)
        harness.run(confirm)
        self.assertIn((confirm.label(), "exchange.workflows.api.consoledetails.command",
                       "DELAY_CHANGED"), [a[:3] for a in harness.envelopes.answers])
        self.assertEqual(self.engine.runToEnd(workflowId), ["SUCCESS"])

    def test_a_command_the_session_may_not_give_shows_the_refusal(self):
        assert self.engine.admin.configure(commandRoles=["Supervisor"])["ok"]
        self.addCleanup(self.engine.admin.configure, commandRoles=[])
        workflowId = self.engine.enqueue("asks_operator")
        self.engine.runUntil(lambda: self.engine.status(workflowId) == "WAITING")
        harness = perspective.Harness(BASE + "RunDetails", params={"workflowId": workflowId},
                                      session=perspective.Session("bob", roles=["Viewer"]))
        self.assertEqual(_withoutChildren(harness.runAll()), [])
        self.assertTrue(harness.view.tree["custom"]["details"]["commands"]["HOLD"])
        harness.view.tree["custom"]["command"].update(name="HOLD", reason="shift change")
        confirm = [s for s in perspective.scriptsOf(harness.definition)
                   if s.kind == "event" and s.owner.endswith("/Commands/Confirm")]
        harness.run(confirm[0])
        self.assertIn("needs one of the roles Supervisor",  # the refusal, shown as it is
                      harness.view.tree["custom"]["command"]["message"])
        self.assertIn((confirm[0].label(), "exchange.workflows.api.consoledetails.command",
                       "NOT_AUTHORIZED"), [a[:3] for a in harness.envelopes.answers])
        self.assertEqual(self.engine.status(workflowId), "WAITING")

    def test_every_view_is_a_page_the_navigation_or_the_form_field(self):
        self.assertEqual(sorted(perspective.viewPaths()),
                         sorted(BASE + name for name in PAGES + ["Nav", "Field"]))
        self.assertEqual(sorted(perspective.routes().values()),
                         sorted(BASE + name for name in PAGES))


class _Fake(object):
    """A tiny stand-in library for the harness's own tests."""

    def __init__(self, **attributes):
        self.__dict__.update(attributes)


def _fakeLibrary():
    page = lambda **kwargs: {"ok": True, "code": "OK", "message": "", "data": {"rows": [1]}}
    act = lambda value=None: {"ok": False, "code": "MISSING_ARGUMENT", "message": "value",
                              "data": None}
    return _Fake(workflows=_Fake(api=_Fake(consolefake=_Fake(page=page, act=act))))


def _table(columns, rows, script="\tself.view.custom.picked = event.value['id']"):
    """A fake view whose Table shows ``view.custom.rows`` and picks a row on click."""
    view = _view("\treturn value")
    view["custom"].update(rows=rows, picked=None)
    view["propConfig"] = {}
    view["root"]["children"].append(
        {"meta": {"name": "Table"}, "type": "ia.display.table",
         "props": {"columns": [{"field": field} for field in columns]},
         "propConfig": {"props.data": {"binding": {"type": "property",
                                                   "config": {"path": "view.custom.rows"}}}},
         "events": {"component": {"onRowClick": {"type": "script", "scope": "G",
                                                 "config": {"script": script}}}}})
    return view


def _bind(view, prop, expression, transforms=()):
    """Bind the Button's ``prop`` to an expression (with optional transforms)."""
    view["root"]["children"][0]["propConfig"] = {prop: {"binding": {
        "type": "expr", "config": {"expression": expression}, "transforms": list(transforms)}}}
    return view


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

    def runFake(self, view, **scenario):
        harness = perspective.Harness("Fake", view, library=_fakeLibrary(), **scenario)
        return harness, harness.runAll()

    def test_a_failing_envelope_fails_unless_the_scenario_expects_it(self):
        view = _view("\treturn exchange.workflows.api.consolefake.act()")
        self.assertIn("answered MISSING_ARGUMENT", self.runFake(view)[1][0][1])
        label = "transform (view) custom.rows"
        self.assertEqual(self.runFake(view, expect={label: "MISSING_ARGUMENT"})[1], [])
        good = _view("\treturn exchange.workflows.api.consolefake.page()")
        self.assertIn("expects MISSING_ARGUMENT, no call answered it",
                      self.runFake(good, expect={label: "MISSING_ARGUMENT"})[1][0][1])

    def test_a_row_event_needs_rows_and_columns_name_keys_of_the_rows(self):
        harness, failures = self.runFake(_table(["id"], [{"id": 7}]))
        self.assertEqual(failures, [])
        self.assertEqual(harness.view.tree["custom"]["picked"], 7)
        self.assertIn("but no rows", self.runFake(_table(["id"], []))[1][0][1])
        failures = self.runFake(_table(["id"], [{"deadLetterId": 7}], "\tpass"))[1]
        self.assertEqual([f[0] for f in failures], ["columns root/Table"])
        self.assertIn("'id' is not a key", failures[0][1])

    def test_every_reference_of_an_expression_resolves_and_the_subset_evaluates(self):
        view = _bind(_view("\treturn [1, 2]"), "props.text",
                     "'Rows: ' + len({view.custom.rows}) + ' ' + toStr({this.props.text})")
        harness, failures = self.runFake(view)
        self.assertEqual(failures, [])
        self.assertEqual(harness.view.getChild("Button").tree["props"]["text"], "Rows: 2 Go")
        missing = _bind(_view("\treturn 1"), "props.enabled",
                        "len({view.custom.rows}) > 0 || {view.custom.nothing}")
        self.assertIn("'nothing'", self.runFake(missing)[1][0][1])
        unknown = _bind(_view("\treturn 1"), "props.text", "dateFormat(now(0), 'HH')")
        self.assertIn("dateFormat", self.runFake(unknown)[1][0][1])

    def test_the_expression_subset(self):
        evaluate = lambda text, values=None: perspective_expressions.evaluate(
            text, lambda path: (values or {})[path])
        self.assertEqual(evaluate("1 + 2 * 3 > 6 && !false"), True)
        self.assertEqual(evaluate("'a' + {x} + toStr(null, '-')", {"x": 3}), "a3-")
        self.assertEqual(evaluate("if({x} == 'on', 1, 2)", {"x": "off"}), 2)
        self.assertEqual(evaluate("coalesce(null, 4) - (1)"), 3)
        with self.assertRaises(perspective_expressions.Unsupported):
            evaluate("{x} ? 1 : 2", {"x": 1})

    def test_transforms_change_scripts_and_actions_it_cannot_run_fail(self):
        view = _bind(_view("\treturn 1"), "props.text", "{view.custom.rows}",
                     [{"type": "expression", "expression": "'n=' + {value}"},
                      {"type": "script", "code": "\treturn value + '!'"}])
        harness, failures = self.runFake(view)
        self.assertEqual(failures, [])
        self.assertEqual(harness.view.getChild("Button").tree["props"]["text"], "n=1!")
        mapped = _bind(_view("\treturn 1"), "props.text", "1", [{"type": "map"}])
        self.assertIn("map", self.runFake(mapped)[1][0][1])
        for action in ({"type": "script", "scope": "C", "config": {"script": "\tpass"}},
                       {"type": "navigation", "scope": "C", "config": {"page": "/x"}}):
            view = _view("\treturn 1")
            view["root"]["children"][0]["events"]["component"]["onActionPerformed"] = action
            self.assertIn("is not run by the harness", self.runFake(view)[1][0][1])

    def test_change_scripts_run_with_the_current_value(self):
        view = _view("\treturn [5]")
        view["propConfig"]["custom.rows"]["onChange"] = {"enabled": None, "script":
                                                         "\tself.custom.seen = currentValue.value"}
        harness, failures = self.runFake(view)
        self.assertEqual(failures, [])
        self.assertEqual(harness.view.tree["custom"]["seen"], [5])
        view["propConfig"]["custom.rows"]["onChange"]["script"] = "\tpreviousValue.value.x"
        self.assertIn("AttributeError", self.runFake(view)[1][0][1])

    def test_handlers_get_the_scenario_payload_and_methods_its_arguments(self):
        view = _view("\treturn 1")
        view["root"]["scripts"] = {
            "messageHandlers": [{"messageType": "pick", "script":
                                 "\tself.view.custom.picked = payload['id']"}],
            "customMethods": [{"name": "add", "params": ["a", "b"],
                               "script": "\tself.view.custom.sum = a + b"}]}
        harness, failures = self.runFake(view, payloads={"pick": {"id": 3}},
                                     arguments={"add": [1, 2]})
        self.assertEqual(failures, [])
        self.assertEqual((harness.view.tree["custom"]["picked"],
                          harness.view.tree["custom"]["sum"]), (3, 3))
        failures = self.runFake(view, arguments={"add": [1, 2]})[1]
        self.assertIn("no payload", failures[0][1])

    def test_every_script_is_found(self):
        kinds = [s.kind for s in perspective.scriptsOf(_view("\treturn 1"))]
        self.assertEqual(kinds, ["transform", "event"])
        admin = perspective.scriptsOf(perspective.loadView(BASE + "Admin"))
        self.assertEqual(len([s for s in admin if s.kind == "method"]), 9)

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
        self.assertEqual(found, len(PAGES) + 2 + 2)  # views, page-config, stylesheet
