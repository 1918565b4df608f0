"""The console's view models of the Runs, Run details and Prompts pages
(api/consoleruns, consoledetails, consoleprompts): the shapes and the values the
Perspective views read, against the database, on both interpreters."""
from __future__ import absolute_import, division, print_function

import json
import time

import support


def _api(name):
    return __import__("exchange.workflows.api." + name, fromlist=["x"])


def _data(result, code):
    assert result["ok"] and result["code"] == code, result
    return result["data"]


class RunsPageTest(support.EngineCase):
    def setUp(self):
        support.EngineCase.setUp(self)
        self.runs = _api("consoleruns")
        self.fromMs = int(time.time() * 1000) - 1000
        self.done = [self.engine.enqueue("three_steps", inputs={"kg": kg}) for kg in (1, 2)]
        self.engine.runToEnd(*self.done)
        self.engine.startOnlyOnDispatch()
        self.queued = self.engine.enqueue("three_steps", queueName="line-2",
                                          partitionKey="P1")

    def test_a_page_has_its_rows_counts_and_colours(self):
        common = _api("consolecommon")
        page = _data(self.runs.runsPage(), "RUNS_PAGE")
        assert page["total"] == 3 and page["counts"] == {"SUCCESS": 2, "ENQUEUED": 1}, page
        assert page["capped"] is False
        assert [r["workflowId"] for r in page["rows"]] == [self.queued] + self.done[::-1]
        queued, ended = page["rows"][0], page["rows"][1]
        assert queued["colour"] == common.STATUS_COLOURS["ENQUEUED"]
        assert (queued["queueName"], queued["partitionKey"]) == ("line-2", "P1")
        assert queued["startedMs"] is None and queued["waitMs"] is None
        assert ended["status"] == "SUCCESS" and ended["colour"] == "#43A047"
        assert ended["durationMs"] == ended["endedMs"] - ended["startedMs"] >= 0
        assert ended["waitMs"] == ended["startedMs"] - ended["createdMs"] >= 0
        assert ended["attempts"] == 1 and ended["pendingCommand"] is None
        assert ended["statusCell"] == {"value": "SUCCESS", "style": {
            "backgroundColor": "#43A047", "color": common.CELL_TEXT_COLOUR}}
        assert set(queued) == set(["workflowId", "workflowName", "queueName", "partitionKey",
                                   "status", "colour", "statusCell", "createdMs", "startedMs", "endedMs",
                                   "durationMs", "waitMs", "attempts", "pendingCommand",
                                   "parentWorkflowId"])

    def test_every_filter_narrows_the_page(self):
        page = self.runs.runsPage
        only = _data(page(status="ENQUEUED"), "RUNS_PAGE")
        assert [r["workflowId"] for r in only["rows"]] == [self.queued] and only["total"] == 1
        assert only["counts"]["SUCCESS"] == 2  # the live counts ignore the status filter
        both = _data(page(status=["ENQUEUED", "SUCCESS"], limit=1, offset=1), "RUNS_PAGE")
        assert [r["workflowId"] for r in both["rows"]] == [self.done[1]] and both["total"] == 3
        assert [r["workflowId"] for r in _data(page(partitionKey="P1"), "RUNS_PAGE")["rows"]] \
            == [self.queued]
        assert _data(page(queueName="line-2"), "RUNS_PAGE")["total"] == 1
        assert _data(page(workflowName="other"), "RUNS_PAGE")["rows"] == []
        assert _data(page(fromMs=self.fromMs + 10 ** 7), "RUNS_PAGE")["total"] == 0
        assert page(status="DONE")["code"] == "INVALID_ARGUMENT"
        assert page(limit=-1)["code"] == "INVALID_ARGUMENT"

    def test_the_chart_counts_runs_by_bucket_and_status_with_median_times(self):
        toMs = int(time.time() * 1000) + 1000
        chart = _data(self.runs.runsChart(fromMs=self.fromMs, toMs=toMs, buckets=4),
                      "RUNS_CHART")
        assert chart["bucketMs"] == -(-(toMs - self.fromMs) // 4)
        assert [p["t"] for p in chart["series"]] == \
            [self.fromMs + i * chart["bucketMs"] for i in range(4)]
        assert sum(p["SUCCESS"] for p in chart["series"]) == 2
        assert sum(p["ENQUEUED"] for p in chart["series"]) == 1
        assert all(p["ERROR"] == 0 for p in chart["series"])
        timed = [t for t in chart["timings"] if t["runMsP50"] is not None]
        assert timed and all(t["waitMsP50"] >= 0 and t["runMsP50"] >= 0 for t in timed)
        narrowed = _data(self.runs.runsChart(fromMs=self.fromMs, toMs=toMs, buckets=1,
                                             queueName="line-2"), "RUNS_CHART")
        assert narrowed["series"][0]["ENQUEUED"] == 1 and narrowed["series"][0]["SUCCESS"] == 0
        assert self.runs.runsChart(fromMs=toMs, toMs=self.fromMs)["code"] == "INVALID_ARGUMENT"

    def test_filter_options_and_the_start_form(self):
        options = _data(self.runs.filterOptions(), "FILTER_OPTIONS")
        assert "HELD" in options["statuses"] and "three_steps" in options["workflows"]
        assert "default" in options["queues"] and options["partitions"] == ["P1"]
        assert {"label": "SUCCESS", "value": "SUCCESS"} in options["statusOptions"]
        assert len(options["workflowOptions"]) == len(options["workflows"])
        form = _data(self.runs.workflowForm("three_steps"), "WORKFLOW_FORM")
        assert form["fields"] == [
            {"name": "material", "required": False, "default": "flour", "type": "text"},
            {"name": "kg", "required": False, "default": 10, "type": "number"},
            {"name": "crash", "required": False, "default": None, "type": "text"}]
        assert json.loads(form["inputs"]) == {"material": "flour", "kg": 10, "crash": None}
        assert [(i["name"], i["type"], i["value"]) for i in form["instances"]] == [
            ("material", "string", "flour"), ("kg", "integer", 10), ("crash", "string", "")]
        assert _data(self.runs.workflowForm("event_waiter"), "WORKFLOW_FORM")["fields"][0] \
            == {"name": "target", "required": True, "default": None, "type": "text"}
        assert self.runs.workflowForm("nope")["code"] == "UNKNOWN_WORKFLOW"

    def test_a_start_from_the_form_is_an_enqueue_as_the_user(self):
        started = _data(self.runs.startWorkflow("three_steps", {"kg": 3}, queueName="line-2",
                                                user="alice"), "WORKFLOW_ENQUEUED")
        assert started["startedBy"] == "alice"
        assert self.engine.gw.sql("SELECT queue_name, inputs::text FROM workflows.workflow_runs"
                                  " WHERE workflow_id = ?", started["workflowId"])[0][0] \
            == "line-2"
        assert self.runs.startWorkflow("three_steps", {"bad": 1}, user="alice")["code"] == \
            "INVALID_INPUTS"
        typed = _data(self.runs.startWorkflow("three_steps", '{"kg": 4}', user="alice"),
                      "WORKFLOW_ENQUEUED")  # the form's JSON text
        assert self.engine.gw.sql("SELECT inputs::text FROM workflows.workflow_runs WHERE "
                                  "workflow_id = ?", typed["workflowId"])[0][0] == '{"kg": 4}'
        instances = _data(self.runs.workflowForm("three_steps"), "WORKFLOW_FORM")["instances"]
        instances[1]["value"] = 5  # the form filled in, its values as the inputs
        inputs = _data(_api("consoleforms").values(instances), "FORM_VALUES")
        formed = _data(self.runs.startWorkflow("three_steps", inputs, user="alice"),
                       "WORKFLOW_ENQUEUED")
        assert json.loads(self.engine.gw.sql("SELECT inputs::text FROM workflows.workflow_runs "
                                             "WHERE workflow_id = ?", formed["workflowId"])
                          [0][0]) == {"kg": 5, "material": "flour"}
        broken = self.runs.startWorkflow("three_steps", '{"kg": 4', user="alice")
        assert (broken["ok"], broken["code"]) == (False, "INVALID_INPUTS"), broken
        assert broken["message"].startswith("the inputs are not valid JSON"), broken
        self.engine.admin.configure(commandRoles=["Operator"])
        refused = self.runs.startWorkflow("three_steps", user="bob", roles=["Viewer"])
        assert refused["code"] == "NOT_AUTHORIZED", refused

    def test_a_start_from_a_template_records_its_version_and_only_the_changed_values(self):
        templates = _api("templates")
        for name, kg in (("small", 2), ("draft", 9)):
            _data(templates.createTemplateVersion("three_steps", name, {"kg": kg,
                                                  "material": "rye"}, user="eng"),
                  "VERSION_CREATED")
        _data(templates.activateTemplateVersion("small", 1, user="eng"), "VERSION_ACTIVATED")
        offered = _data(self.runs.templateOptions("three_steps"), "TEMPLATES_LISTED")["options"]
        assert offered == [{"label": "small v1", "value": "small", "version": 1,
                            "values": {"kg": 2, "material": "rye"}}]  # not the draft
        instances = _data(self.runs.workflowForm("three_steps", templateName="small"),
                          "WORKFLOW_FORM")["instances"]
        assert [(i["name"], i["value"]) for i in instances] == [
            ("material", "rye"), ("kg", 2), ("crash", "")]
        instances[1]["value"] = 4  # the operator changes kg only
        started = _data(self.runs.startFromForm("three_steps", instances, templateName="small",
                                                version=1, user="alice"), "WORKFLOW_ENQUEUED")
        recorded = _data(templates.getRunTemplate(started["workflowId"]),
                         "WORKFLOW_FOUND")["template"]
        assert (recorded["templateName"], recorded["version"], recorded["overrides"]) == \
            ("small", 1, {"kg": 4})
        assert json.loads(self.engine.gw.sql("SELECT inputs::text FROM workflows.workflow_runs "
                                             "WHERE workflow_id = ?", started["workflowId"])
                          [0][0]) == {"kg": 4, "material": "rye"}
        plain = _data(self.runs.startFromForm("three_steps", instances, user="alice"),
                      "WORKFLOW_ENQUEUED")
        assert _data(templates.getRunTemplate(plain["workflowId"]),
                     "WORKFLOW_FOUND")["template"] is None
        assert self.runs.startFromForm("three_steps", instances, templateName="draft",
                                       user="alice")["code"] == "TEMPLATE_NOT_ACTIVE"
        instances[1]["value"] = "ten"
        assert self.runs.startFromForm("three_steps", instances)["code"] == "INVALID_INPUTS"


class RunDetailsTest(support.EngineCase):
    def setUp(self):
        support.EngineCase.setUp(self)
        self.details = _api("consoledetails")

    def test_details_and_the_buttons_of_each_state(self):
        done = self.engine.enqueue("three_steps")
        self.engine.runToEnd(done)
        shown = _data(self.details.runDetails(done), "RUN_DETAILS")
        run = shown["run"]
        assert run["status"] == "SUCCESS" and run["colour"] == "#43A047"
        assert run["inputs"] == {} and run["output"]["total"] == 15 and run["error"] is None
        assert run["endedMs"] >= run["startedMs"] >= run["createdMs"]
        assert (run["attempts"], run["recoveryAttempts"], run["pendingCommand"]) == (1, 0, None)
        assert shown["commands"] == {"HOLD": False, "RESUME": False, "STOP": False,
                                     "CANCEL": False, "RESUME_TERMINAL": False,
                                     "CHANGE_DELAY": False}
        self.engine.startOnlyOnDispatch()
        queued = self.engine.enqueue("three_steps")
        assert _data(self.details.runDetails(queued), "RUN_DETAILS")["commands"] == \
            {"HOLD": True, "RESUME": False, "STOP": True, "CANCEL": True,
             "RESUME_TERMINAL": False, "CHANGE_DELAY": False}
        _data(self.details.command(queued, "HOLD", "check the scale", user="ann"), "HELD")
        assert _data(self.details.runDetails(queued), "RUN_DETAILS")["commands"] == \
            {"HOLD": False, "RESUME": True, "STOP": True, "CANCEL": True,
             "RESUME_TERMINAL": False, "CHANGE_DELAY": False}
        _data(self.details.command(queued, "CANCEL", "wrong batch", user="ann"),
              "CANCEL_REQUESTED")
        assert _data(self.details.runDetails(queued), "RUN_DETAILS")["commands"] == \
            {"HOLD": False, "RESUME": False, "STOP": False, "CANCEL": False,
             "RESUME_TERMINAL": True, "CHANGE_DELAY": False}
        _data(self.details.command(queued, "RESUME_TERMINAL", "right batch after all",
                                   user="ann"), "WORKFLOW_RESUMED")
        assert self.details.command(queued, "PAUSE", "x")["code"] == "UNKNOWN_COMMAND"
        assert self.details.command(queued, "HOLD", None)["code"] == "MISSING_ARGUMENT"
        assert self.details.runDetails("missing")["code"] == "WORKFLOW_NOT_FOUND"
        delayed = self.engine.enqueue("three_steps", delaySeconds=3600)
        assert _data(self.details.runDetails(delayed), "RUN_DETAILS")["commands"] == \
            {"HOLD": True, "RESUME": False, "STOP": True, "CANCEL": True,
             "RESUME_TERMINAL": False, "CHANGE_DELAY": True}
        _data(self.details.command(delayed, "CHANGE_DELAY", "line ready", user="ann",
                                   delaySeconds=5), "DELAY_CHANGED")

    def test_the_fork_button_forks_from_the_first_failure_or_after_the_last_position(self):
        done = self.engine.enqueue("three_steps")
        self.engine.runToEnd(done)
        assert _data(self.details.runTimeline(done), "RUN_TIMELINE")["forkFrom"] == 4
        rows = [{"position": p, "status": s} for p, s in
                ((1, "SUCCESS"), (None, "RECOVERED"), (3, "ERROR"), (2, "ERROR"))]
        assert self.details.forkDefault(rows) == 2
        assert self.details.forkDefault([]) == 1
        forked = _data(self.details.command(done, "FORK", "again", user="ann", fromStep=2.0),
                       "WORKFLOW_FORKED")
        shown = _data(self.details.runDetails(forked["workflowId"]), "RUN_DETAILS")["run"]
        assert (shown["forkedFrom"], shown["forkedAtStep"]) == (done, 2)
        assert self.details.command(done, "FORK", "x", fromStep=9)["code"] == \
            "FORK_STEP_OUT_OF_RANGE"
        assert self.details.command(done, "FORK", None, fromStep=2)["code"] == \
            "MISSING_ARGUMENT"

    def test_the_timeline_has_steps_holds_and_recoveries(self):
        done = self.engine.enqueue("three_steps")
        self.engine.runToEnd(done)
        timeline = _data(self.details.runTimeline(done), "RUN_TIMELINE")
        assert [(r["name"], r["kind"], r["status"], r["position"]) for r in timeline["rows"]] \
            == [("weigh", "step", "SUCCESS", 1), ("mix", "step", "SUCCESS", 2),
                ("label", "step", "SUCCESS", 3)]
        last = timeline["rows"][-1]
        assert last["output"] == "batch of 15 kg" and last["error"] is None
        assert last["durationMs"] == last["endedMs"] - last["startedMs"] >= 0
        assert last["attempts"] == 1 and last["colour"] == "#43A047"
        assert [g["label"] for g in timeline["gantt"]] == ["#1 weigh", "#2 mix", "#3 label"]
        assert last["statusCell"]["value"] == "SUCCESS"
        assert timeline["gantt"][0]["endMs"] == timeline["rows"][0]["endedMs"]
        self.engine.startOnlyOnDispatch()
        held = self.engine.enqueue("three_steps")
        _data(self.details.command(held, "HOLD", "hold it", user="ann"), "HELD")
        live = _data(self.details.runTimeline(held), "RUN_TIMELINE")
        assert [(r["kind"], r["status"], r["endedMs"]) for r in live["rows"]] == \
            [("hold", "HELD", None)]
        assert live["gantt"][0]["endMs"] >= live["gantt"][0]["startMs"]
        self.engine.gw.sql("INSERT INTO workflows.journal (actor, action, workflow_id, reason, "
                           "accepted, outcome) VALUES ('gateway:x', 'RECOVER', ?, "
                           "'executor lapsed', true, 'RECOVERED') RETURNING entry_id", held)
        recovered = _data(self.details.runTimeline(held), "RUN_TIMELINE")["rows"]
        assert ("recovery", "executor lapsed", "RECOVERED") in \
            [(r["kind"], r["name"], r["status"]) for r in recovered]
        assert self.details.runTimeline("missing")["code"] == "WORKFLOW_NOT_FOUND"

    def test_activity_has_events_streams_journal_and_prompts(self):
        published = self.engine.enqueue("publisher", inputs={"values": 2})
        self.engine.runToEnd(published)
        activity = _data(self.details.runActivity(published), "RUN_ACTIVITY")
        assert [(e["key"], e["value"], e["version"]) for e in activity["events"]] == \
            [("phase", "done", 2)]
        assert [(s["key"], s["values"], s["closed"]) for s in activity["streams"]] == \
            [("log", 2, True)]
        assert activity["journal"] == [] and activity["prompts"] == []
        asking = self.engine.enqueue("asks_operator")
        self.engine.runUntil(lambda: self.engine.status(asking) == "WAITING")
        self.details.command(asking, "HOLD", "shift change", user="ann")
        activity = _data(self.details.runActivity(asking), "RUN_ACTIVITY")
        assert [(j["action"], j["actor"], j["reason"]) for j in activity["journal"]] == \
            [("HOLD", "ann", "shift change")]
        assert [(p["message"], p["status"]) for p in activity["prompts"]] == \
            [("Hopper empty?", "PENDING")]
        assert self.details.runActivity("missing")["code"] == "WORKFLOW_NOT_FOUND"


class PromptsPageTest(support.EngineCase):
    def test_a_prompt_naming_an_enum_offers_its_enabled_options(self):
        enums = _api("enums")
        made = enums.createEnumVersion("materials", [
            {"label": "Sand", "value": "SAND"},
            {"label": "Lime", "value": "LIME", "disabled": True}], user="eng")
        enums.activateEnumVersion("materials", made["data"]["version"], user="eng")
        asking = self.engine.enqueue("asks_for_material")
        self.engine.runUntil(lambda: self.engine.status(asking) == "WAITING")
        rows = _data(_api("consoleprompts").inbox(user="bob", roles=["Operator"]),
                     "PROMPT_INBOX")["rows"]
        row = [r for r in rows if r["workflowId"] == asking][0]
        assert row["options"] == ["SAND"], row
        assert row["choices"] == [{"label": "Sand", "value": "SAND"}], row

    def test_the_inbox_holds_what_the_user_may_answer_and_the_history_the_answers(self):
        prompts = _api("consoleprompts")
        anyone = self.engine.enqueue("asks_operator")
        guarded = self.engine.enqueue("asks_operator", inputs={"roles": ["Supervisor"]})
        lot = self.engine.enqueue("asks_for_lot")
        self.engine.runUntil(lambda: all(self.engine.status(w) == "WAITING"
                                         for w in (anyone, guarded, lot)))
        mine = _data(prompts.inbox(user="bob", roles=["Operator"]), "PROMPT_INBOX")
        assert sorted(r["workflowId"] for r in mine["rows"]) == sorted([anyone, lot])
        assert mine["user"] == "bob"
        boss = _data(prompts.inbox(user="sue", roles=["Supervisor"]), "PROMPT_INBOX")["rows"]
        row = [r for r in boss if r["workflowId"] == guarded][0]
        assert row["options"] == ["yes", "no"] and row["form"] == []
        assert row["choices"] == [{"label": "yes", "value": "yes"},
                                  {"label": "no", "value": "no"}]
        assert row["message"] == "Hopper empty?" and row["workflowName"] == "asks_operator"
        assert row["createdMs"] > 0 and row["expiresMs"] is None
        form = [r for r in boss if r["workflowId"] == lot][0]["form"]
        assert form == [{"name": None, "type": "string", "required": True, "enum": None}]
        instances = [r for r in boss if r["workflowId"] == lot][0]["instances"]
        assert instances == [{"name": None, "type": "string", "required": True,
                              "options": [], "value": ""}]
        answered = _data(prompts.answer(row["promptId"], "yes", comment="checked",
                                        user="sue", roles=["Supervisor"]), "PROMPT_ANSWERED")
        assert answered["user"] == "sue"
        assert prompts.answer(row["promptId"], "no", user="sue", roles=["Supervisor"])["code"] == \
            "PROMPT_ALREADY_ANSWERED"
        history = _data(prompts.history(), "PROMPT_HISTORY")["rows"]
        assert [(h["promptId"], h["status"], h["answeredBy"], h["response"], h["comment"])
                for h in history] == [(row["promptId"], "ANSWERED", "sue", "yes", "checked")]
        assert history[0]["colour"] == "#43A047" and history[0]["answeredMs"] > 0
        assert prompts.history(limit=0)["code"] == "INVALID_ARGUMENT"

    def test_a_form_follows_an_object_schema(self):
        prompts = _api("consoleprompts")
        assert prompts.formOf({"type": "object", "required": ["lot"], "properties": {
            "lot": {"type": "string"}, "grade": {"type": "string", "enum": ["A", "B"]}}}) == [
            {"name": "grade", "type": "string", "required": False, "enum": ["A", "B"]},
            {"name": "lot", "type": "string", "required": True, "enum": None}]
        assert prompts.formOf(None) == []
