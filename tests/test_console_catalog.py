"""The console's view model of the Templates page against the real database: every template
and enum version with its status (docs/api.md, "Console view models: templates and enums"),
and that its actions activate and retire versions as the caller, under the admin roles,
journaled."""
from __future__ import absolute_import, division, print_function

from test_templates import LAYOUT, MATERIALS, RECIPE, TemplateCase

ROW_KEYS = set(["kind", "name", "workflowName", "version", "status", "active", "createdBy",
                "createdAtMs", "changedAtMs"])


def catalog():
    return __import__("exchange.workflows.api.consolecatalog", fromlist=["x"])


class CatalogPageTest(TemplateCase):

    def rows(self):
        page = catalog().catalogPage()
        assert (page["ok"], page["code"]) == (True, "CATALOG_PAGE"), page
        assert all(set(r) == ROW_KEYS for r in page["data"]["rows"]), page
        return page["data"]

    def test_rows_list_every_version_of_templates_then_enums_with_status(self):
        assert self.rows()["rows"] == []
        self.activeEnum()
        self.activeTemplate()
        self.ok(self.templates.createTemplateVersion("mixing_batch", "recipe-100",
                                                     dict(RECIPE, targetKg=600), LAYOUT,
                                                     user="eng"), "VERSION_CREATED")
        data = self.rows()
        assert [(r["kind"], r["name"], r["workflowName"], r["version"], r["status"],
                 r["active"], r["createdBy"]) for r in data["rows"]] == [
            ("TEMPLATE", "recipe-100", "mixing_batch", 1, "ACTIVE", True, "eng"),
            ("TEMPLATE", "recipe-100", "mixing_batch", 2, "DRAFT", False, "eng"),
            ("ENUM", "materials", None, 1, "ACTIVE", True, "eng")], data
        assert [(t["name"], t["latestVersion"], t["activeVersion"])
                for t in data["templates"]] == [("recipe-100", 2, 1)], data
        assert [(e["name"], e["activeVersion"]) for e in data["enums"]] == \
            [("materials", 1)], data

    def test_actions_activate_and_retire_as_the_caller_under_the_admin_roles(self):
        admin = self.engine.admin
        assert admin.configure(adminRoles=["Engineer"])["ok"]
        self.addCleanup(admin.configure, adminRoles=[])
        eng, op = dict(user="eng", roles=["Engineer"]), dict(user="op", roles=["Operator"])
        self.ok(self.enums.createEnumVersion("materials", MATERIALS, **eng), "VERSION_CREATED")
        act = catalog().versionAction
        self.refused(act("ENUM", "ACTIVATE", "materials", 1, **op), "NOT_AUTHORIZED")
        self.ok(act("ENUM", "ACTIVATE", "materials", 1, **eng), "VERSION_ACTIVATED")
        self.ok(self.templates.createTemplateVersion("mixing_batch", "recipe-100", RECIPE,
                                                     LAYOUT, **eng), "VERSION_CREATED")
        self.ok(act("TEMPLATE", "ACTIVATE", "recipe-100", 1, **eng), "VERSION_ACTIVATED")
        self.ok(act("TEMPLATE", "RETIRE", "recipe-100", 1, **eng), "VERSION_RETIRED")
        self.refused(act("TEMPLATE", "RETIRE", "recipe-100", 1, **eng),
                     "VERSION_ALREADY_RETIRED")
        self.refused(act("TEMPLATE", "PAUSE", "recipe-100", 1, **eng), "INVALID_ARGUMENT")
        self.refused(act("QUEUE", "RETIRE", "recipe-100", 1, **eng), "INVALID_ARGUMENT")
        assert [(r["kind"], r["status"]) for r in self.rows()["rows"]] == \
            [("TEMPLATE", "RETIRED"), ("ENUM", "ACTIVE")]
        assert [(actor, accepted) for actor, accepted, _, _, _ in
                self.gw.sql("SELECT actor, accepted, outcome, workflow_id, details::text "
                            "FROM workflows.journal WHERE actor IN ('eng', 'op') "
                            "AND outcome LIKE 'VERSION_%' OR outcome = 'NOT_AUTHORIZED' "
                            "ORDER BY entry_id")] == [
            ("eng", True), ("op", False), ("eng", True), ("eng", True), ("eng", True),
            ("eng", True), ("eng", False)]
