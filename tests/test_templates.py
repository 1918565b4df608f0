"""Parameter templates and enums against PostgreSQL: versions and their life cycle, a run
started from a template records its version and overrides, a retired version starts no
run, enum-bound inputs and prompt answers are checked (docs/templates.md)."""
from __future__ import absolute_import, division, print_function

from support import EngineCase

MATERIALS = [{"label": "Sand", "value": "SAND"}, {"label": "Cement", "value": "CEMENT"},
             {"label": "Lime (withdrawn)", "value": "LIME", "disabled": True}]
LAYOUT = {"columns": [{"rows": [
    {"widgets": [{"id": "recipe", "type": "text", "label": "Recipe"}]},
    {"widgets": [{"id": "material", "label": "Material", "enum": "materials"},
                 {"id": "targetKg", "type": "number", "label": "Target (kg)"}]}]}]}
RECIPE = {"recipe": "R-100", "material": "SAND", "targetKg": 500}


def api(name):
    return __import__("exchange.workflows.api." + name, fromlist=["x"])


class TemplateCase(EngineCase):
    def setUp(self):
        EngineCase.setUp(self)
        self.templates, self.enums = api("templates"), api("enums")

    def activeEnum(self, options=MATERIALS):
        created = self.ok(self.enums.createEnumVersion("materials", options, user="eng"),
                          "VERSION_CREATED")
        self.ok(self.enums.activateEnumVersion("materials", created["version"], user="eng"),
                "VERSION_ACTIVATED")
        return created["version"]

    def activeTemplate(self, values=RECIPE, layout=LAYOUT):
        created = self.ok(self.templates.createTemplateVersion(
            "mixing_batch", "recipe-100", values, layout, user="eng"), "VERSION_CREATED")
        self.ok(self.templates.activateTemplateVersion("recipe-100", created["version"],
                                                       user="eng"), "VERSION_ACTIVATED")
        return created["version"]

    def journal(self, action):
        return self.gw.sql("SELECT actor, accepted, outcome, workflow_id, details::text "
                           "FROM workflows.journal WHERE action = ? ORDER BY entry_id", action)


class LifeCycleTest(TemplateCase):
    def test_versions_are_appended_and_one_is_active(self):
        t = self.templates
        first = self.activeTemplate()
        second = self.ok(t.createTemplateVersion("mixing_batch", "recipe-100",
                                                 dict(RECIPE, targetKg=600), LAYOUT, user="eng"),
                         "VERSION_CREATED")["version"]
        assert (first, second) == (1, 2)
        got = self.ok(t.getTemplate("recipe-100"), "TEMPLATE_FOUND")
        assert [v["status"] for v in got["versions"]] == ["ACTIVE", "DRAFT"]
        self.ok(t.activateTemplateVersion("recipe-100", 2, user="eng"), "VERSION_ACTIVATED")
        got = self.ok(t.getTemplate("recipe-100"), "TEMPLATE_FOUND")
        assert [v["status"] for v in got["versions"]] == ["RETIRED", "ACTIVE"]
        assert got["active"]["values"]["targetKg"] == 600 and got["workflowName"] == \
            "mixing_batch"
        self.refused(t.activateTemplateVersion("recipe-100", 1, user="eng"), "VERSION_NOT_DRAFT")
        self.refused(t.activateTemplateVersion("recipe-100", 9, user="eng"), "VERSION_NOT_FOUND")
        self.ok(t.retireTemplateVersion("recipe-100", 2, user="eng"), "VERSION_RETIRED")
        self.refused(t.retireTemplateVersion("recipe-100", 2, user="eng"),
                     "VERSION_ALREADY_RETIRED")
        listed = self.ok(t.listTemplates(workflowName="mixing_batch"), "TEMPLATES_LISTED")
        assert listed["templates"] == [{"name": "recipe-100", "workflowName": "mixing_batch",
                                        "latestVersion": 2, "activeVersion": None}]
        assert [(a, ok, o) for a, ok, o, _, _ in self.journal("TEMPLATE_VERSION_ACTIVATE")] == [
            ("eng", True, "VERSION_ACTIVATED"), ("eng", True, "VERSION_ACTIVATED"),
            ("eng", False, "VERSION_NOT_DRAFT"), ("eng", False, "VERSION_NOT_FOUND")]

    def test_a_template_belongs_to_one_registered_workflow_and_admins_change_it(self):
        t = self.templates
        self.activeTemplate()
        self.refused(t.createTemplateVersion("three_steps", "recipe-100", {}, user="eng"),
                     "TEMPLATE_WORKFLOW_MISMATCH")
        self.refused(t.createTemplateVersion("no_such_flow", "x", {}, user="eng"),
                     "UNKNOWN_WORKFLOW")
        self.refused(t.createTemplateVersion("mixing_batch", "x", {}, {"columns": 3},
                                             user="eng"), "INVALID_TEMPLATE")
        assert self.engine.admin.configure(adminRoles=["Engineer"])["ok"]
        self.addCleanup(self.engine.admin.configure, adminRoles=[])
        self.refused(t.retireTemplateVersion("recipe-100", 1, user="op", roles=["Operator"]),
                     "NOT_AUTHORIZED")
        self.ok(t.retireTemplateVersion("recipe-100", 1, user="eng", roles=["Engineer"]),
                "VERSION_RETIRED")

    def test_enum_versions_validate_their_options(self):
        e = self.enums
        self.refused(e.createEnumVersion("materials", [], user="eng"), "INVALID_ENUM")
        self.refused(e.createEnumVersion("materials", [{"value": "A"}, {"value": "A"}],
                                         user="eng"), "INVALID_ENUM")
        self.activeEnum()
        got = self.ok(e.getEnum("materials"), "ENUM_FOUND")
        assert got["active"]["options"][2] == {"label": "Lime (withdrawn)", "value": "LIME",
                                               "disabled": True}
        self.refused(e.getEnum("colours"), "ENUM_NOT_FOUND")
        assert self.ok(e.listEnums(), "ENUMS_LISTED")["enums"] == [
            {"name": "materials", "latestVersion": 1, "activeVersion": 1}]


class StartTest(TemplateCase):
    def test_a_run_records_its_template_version_and_overrides(self):
        self.activeEnum()
        self.activeTemplate()
        started = self.ok(self.templates.startWithTemplate(
            "mixing_batch", "recipe-100", overrides={"targetKg": 450}, version=1,
            user="olga"), "WORKFLOW_ENQUEUED")
        wf = started["workflowId"]
        assert started["templateVersion"] == 1
        assert self.engine.runToEnd(wf) == ["SUCCESS"]
        output = self.engine.service.getStatus(wf)["data"]["output"]
        assert output == {"recipe": "R-100", "material": "SAND", "targetKg": 450,
                          "mixSeconds": 60}, output
        record = self.ok(self.templates.getRunTemplate(wf), "WORKFLOW_FOUND")["template"]
        assert record == {"templateName": "recipe-100", "version": 1,
                          "overrides": {"targetKg": 450}, "startedBy": "olga"}, record
        (actor, accepted, outcome, journaled, details), = self.journal("TEMPLATE_START")
        assert (actor, accepted, outcome, journaled) == ("olga", True, "WORKFLOW_ENQUEUED", wf)
        assert '"overrides": {"targetKg": 450}' in details, details
        plain = self.engine.enqueue("three_steps")
        assert self.templates.getRunTemplate(plain)["data"]["template"] is None
        details = api("consoledetails")
        assert self.ok(details.runDetails(wf), "RUN_DETAILS")["template"] == {
            "name": "recipe-100", "version": 1, "overrides": {"targetKg": 450}}
        assert self.ok(details.runDetails(plain), "RUN_DETAILS")["template"] is None

    def test_a_retired_version_starts_no_run(self):
        self.activeEnum()
        self.activeTemplate()
        self.ok(self.templates.createTemplateVersion("mixing_batch", "recipe-100", RECIPE,
                                                     LAYOUT, user="eng"), "VERSION_CREATED")
        self.ok(self.templates.activateTemplateVersion("recipe-100", 2, user="eng"),
                "VERSION_ACTIVATED")
        refused = self.refused(self.templates.startWithTemplate(
            "mixing_batch", "recipe-100", version=1, user="olga"), "TEMPLATE_NOT_ACTIVE")
        assert refused["activeVersion"] == 2
        self.ok(self.templates.retireTemplateVersion("recipe-100", 2, user="eng"),
                "VERSION_RETIRED")
        self.refused(self.templates.startWithTemplate("mixing_batch", "recipe-100",
                                                      user="olga"), "TEMPLATE_NOT_ACTIVE")
        self.refused(self.templates.startWithTemplate("three_steps", "recipe-100",
                                                      user="olga"),
                     "TEMPLATE_WORKFLOW_MISMATCH")
        assert self.gw.sql("SELECT count(*) FROM workflows.workflow_runs")[0][0] == 0
        assert [o for _, _, o, _, _ in self.journal("TEMPLATE_START")] == [
            "TEMPLATE_NOT_ACTIVE", "TEMPLATE_NOT_ACTIVE", "TEMPLATE_WORKFLOW_MISMATCH"]

    def test_enum_bound_inputs_and_the_signature_are_checked(self):
        self.activeEnum()
        self.activeTemplate()
        start = self.templates.startWithTemplate
        for material in ("LIME", "GRAVEL"):  # disabled; unknown
            result = start("mixing_batch", "recipe-100", overrides={"material": material},
                           user="olga")
            self.refused(result, "INVALID_INPUTS")
            assert "input material" in result["message"], result
        self.refused(start("mixing_batch", "recipe-100", overrides={"colour": "red"},
                           user="olga"), "INVALID_INPUTS")
        self.ok(start("mixing_batch", "recipe-100", overrides={"material": "CEMENT"},
                      user="olga"), "WORKFLOW_ENQUEUED")

    def test_the_form_expands_enum_options_and_delete_waits_for_active_runs(self):
        self.activeEnum()
        self.activeTemplate()
        form = self.ok(self.templates.templateForm("recipe-100"), "TEMPLATE_FORM")
        material = form["columns"][0]["rows"][1]["widgets"][0]
        assert material["type"] == "dropdown"
        assert material["dropdown"]["options"] == [{"label": "Sand", "value": "SAND"},
                                                   {"label": "Cement", "value": "CEMENT"}]
        assert form["data"] == RECIPE and form["version"] == 1
        self.engine.startOnlyOnDispatch()
        wf = self.ok(self.templates.startWithTemplate("mixing_batch", "recipe-100",
                                                      user="olga"),
                     "WORKFLOW_ENQUEUED")["workflowId"]
        self.refused(self.templates.deleteTemplate("recipe-100", user="eng"), "TEMPLATE_IN_USE")
        assert self.engine.runToEnd(wf) == ["SUCCESS"]
        self.ok(self.templates.deleteTemplate("recipe-100", user="eng"), "TEMPLATE_DELETED")
        self.refused(self.templates.getTemplate("recipe-100"), "TEMPLATE_NOT_FOUND")
        assert self.templates.getRunTemplate(wf)["data"]["template"]["version"] == 1


class EnumPromptTest(TemplateCase):
    def test_a_prompt_answer_must_be_an_enabled_value_of_its_enum(self):
        self.activeEnum()
        prompts = api("prompts")
        wf = self.engine.enqueue("asks_for_material")
        self.engine.runUntil(lambda: prompts.listPrompts(workflowId=wf)["data"]["count"] == 1)
        pending = prompts.listPrompts(workflowId=wf)["data"]["prompts"][0]
        assert pending["options"] == {"enum": "materials"}
        for wrong in ("LIME", "GRAVEL"):
            self.refused(prompts.respondToPrompt(pending["promptId"], wrong, user="olga"),
                         "INVALID_RESPONSE")
        self.ok(prompts.respondToPrompt(pending["promptId"], "CEMENT", user="olga"),
                "PROMPT_ANSWERED")
        assert self.engine.runToEnd(wf) == ["SUCCESS"]
        assert self.engine.service.getStatus(wf)["data"]["output"] == "CEMENT"
