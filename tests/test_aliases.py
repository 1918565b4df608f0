"""The names the project we replace documents keep working: getWorkflows() from
exchange.workflows.engine.instance, and api.service.start (docs/api.md, "Names from the
project we replace")."""
from __future__ import absolute_import, division, print_function

import support


class GetWorkflowsTest(support.EngineCase):

    def setUp(self):
        support.EngineCase.setUp(self)
        self.instance = __import__("exchange.workflows.engine.instance", fromlist=["x"])

    def test_the_object_answers_registered_workflows_enqueue_status_and_result(self):
        workflows = self.instance.getWorkflows()
        names = workflows.listRegisteredWorkflows()
        assert names["ok"] and "three_steps" in names["data"]["names"], names
        started = workflows.start("three_steps", inputs={"kg": 2})
        assert started["ok"] and started["code"] == "WORKFLOW_ENQUEUED", started
        workflowId = started["data"]["workflowId"]
        assert self.engine.runToEnd(workflowId) == ["SUCCESS"]
        status = workflows.getStatus(workflowId)
        assert status["ok"] and status["data"]["status"] == "SUCCESS", status
        result = workflows.getResult(workflowId, timeoutSeconds=1)
        assert result["code"] == "WORKFLOW_SUCCEEDED", result
        listed = workflows.listWorkflows(workflowName="three_steps")
        assert [r["workflowId"] for r in listed["data"]["workflows"]] == [workflowId], listed

    def test_refusals_come_back_as_the_api_answers_them(self):
        workflows = self.instance.getWorkflows()
        unknown = workflows.start("no_such_workflow")
        assert not unknown["ok"] and unknown["code"] == "UNKNOWN_WORKFLOW", unknown
        assert workflows.getStatus("missing")["code"] == "WORKFLOW_NOT_FOUND"

    def test_service_start_is_enqueue(self):
        service = self.engine.service
        assert service.start is service.enqueue
        started = service.start("three_steps", inputs={"kg": 1})
        assert started["ok"], started
        assert self.engine.runToEnd(started["data"]["workflowId"]) == ["SUCCESS"]
