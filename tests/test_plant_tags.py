"""The step library's tag steps against the real database and the simulator's tag provider:
write and confirm (a lagging device, a refused write, a tolerance, a bad-quality read, a
timeout), and a long tag wait that releases its thread and is woken by the dispatch tick when
the tag meets its condition, also on another gateway after its own was killed while waiting."""
from __future__ import absolute_import, division, print_function

from helpers import waitFor
from support import EngineCase

LEVEL = "[default]Plant/Tank1/Level"
SETPOINT = "[default]Plant/Tank1/Setpoint"


class PlantTagsTest(EngineCase):

    def setUp(self):
        EngineCase.setUp(self)
        import system
        self.tag = system.tag
        self.tag.simReset()
        self.addCleanup(self.tag.simReset)
        import exchange.workflows.api.admin as admin
        assert admin.registerWorkflowModules(["testing.plantflows"])["ok"]

    def output(self, wf):
        assert self.engine.runToEnd(wf) == ["SUCCESS"]
        return self.engine.service.getResult(wf, 0)["data"]["output"]

    def steps(self, wf):
        return [s["name"] for s in self.engine.service.listSteps(wf)["data"]["steps"]]

    def test_write_and_confirm_waits_for_a_lagging_device_and_is_recorded(self):
        self.tag.simLagWrites(SETPOINT, 0.3)
        wf = self.engine.enqueue("set_and_confirm", inputs={"path": SETPOINT, "value": 42})
        assert self.output(wf) == {"value": 42}
        assert self.steps(wf) == ["writeTag", "confirmTag"]
        assert self.tag.readBlocking([SETPOINT])[0].value == 42

    def test_a_refused_write_is_retried_then_fails_with_its_code(self):
        self.tag.simFailWrites(SETPOINT, "Bad_ReadOnly")
        wf = self.engine.enqueue("set_and_confirm", inputs={"path": SETPOINT, "value": 1})
        assert self.output(wf) == {"code": "TAG_WRITE_FAILED", "type": "TagWriteError",
                                   "attempts": 3}

    def test_write_and_confirm_accepts_a_reading_within_its_tolerance_only(self):
        confirm = {"path": SETPOINT, "value": 5, "confirmPath": LEVEL, "timeoutSeconds": 0.3,
                   "tolerance": 0.05}
        self.tag.writeBlocking([LEVEL], [4.96])
        near = self.engine.enqueue("set_and_confirm", inputs=confirm)
        assert self.output(near) == {"value": 4.96}
        assert self.steps(near) == ["writeTag", "confirmTag"]
        self.tag.writeBlocking([LEVEL], [5.06])
        far = self.engine.enqueue("set_and_confirm", inputs=confirm)
        assert self.output(far) == {"code": "TAG_CONFIRM_TIMEOUT", "type": "TagConfirmTimeout",
                                    "attempts": 1}

    def test_a_confirm_timeout_and_a_bad_quality_read_fail_without_retry(self):
        wf = self.engine.enqueue("set_and_confirm", inputs={
            "path": SETPOINT, "value": 5, "confirmPath": LEVEL, "timeoutSeconds": 0.3})
        self.tag.writeBlocking([LEVEL], [1])
        assert self.output(wf) == {"code": "TAG_CONFIRM_TIMEOUT", "type": "TagConfirmTimeout",
                                   "attempts": 1}
        self.tag.simSetQuality(LEVEL, "Bad_Stale", 5)
        bad = self.engine.enqueue("set_and_confirm", inputs={
            "path": SETPOINT, "value": 5, "confirmPath": LEVEL, "timeoutSeconds": 0.3})
        assert self.output(bad) == {"code": "TAG_BAD_QUALITY", "type": "TagQualityError",
                                    "attempts": 1}
        read = self.engine.enqueue("read_tag", inputs={"path": LEVEL})
        assert self.output(read) == {"code": "TAG_BAD_QUALITY", "attempts": 3}

    def waitsWithoutAThread(self, wf):
        self.engine.runUntil(lambda: self.engine.status(wf) == "WAITING",
                             message="%s waits without a thread" % wf)
        from exchange.workflows import platform
        from exchange.workflows.engine import kernel
        k = kernel.getKernel()
        waitFor(lambda: platform.activeCount(k.existingPool()) == 0 and k.inFlight.get() == 0,
                10, 0.01, "no thread waits on the tag")
        channel = self.gw.sql("SELECT waiting_for FROM workflows.workflow_runs "
                              "WHERE workflow_id = ?", wf)[0][0]
        assert channel.startswith("tag:%s:" % wf), channel

    def test_a_long_tag_wait_releases_its_thread_and_wakes_when_the_level_holds(self):
        self.tag.writeBlocking([LEVEL], [10.0])
        wf = self.engine.enqueue("wait_for_level", inputs={
            "path": LEVEL, "low": 48, "high": 52, "forSeconds": 0.5})
        self.waitsWithoutAThread(wf)
        for _ in range(3):
            self.engine.service.dispatch()
        assert self.engine.status(wf) == "WAITING"  # the tick looked: not there yet
        self.tag.writeBlocking([LEVEL], [50.5])
        output = self.output(wf)
        assert (output["met"], output["value"], output["timedOut"]) == (True, 50.5, False)
        assert self.steps(wf) == ["<waitForTag.spec>", "<waitForTag>"]

    def test_a_tag_wait_times_out_durably(self):
        self.tag.writeBlocking([LEVEL], [10.0])
        wf = self.engine.enqueue("wait_for_level", inputs={
            "path": LEVEL, "low": 48, "high": 52, "timeoutSeconds": 1.5})
        self.waitsWithoutAThread(wf)
        output = self.output(wf)
        assert (output["met"], output["value"], output["timedOut"]) == (False, 10.0, True)

    def test_a_short_tag_wait_polls_on_its_thread(self):
        self.tag.simLagWrites(LEVEL, 0.3)
        self.tag.writeBlocking([LEVEL], [50])
        wf = self.engine.enqueue("wait_for_level", inputs={
            "path": LEVEL, "low": 48, "high": 52, "timeoutSeconds": 0.9})
        assert self.output(wf)["met"] is True
        assert self.gw.sql("SELECT count(*) FROM workflows.workflow_runs "
                           "WHERE waiting_for IS NOT NULL")[0][0] == 0

    def killThisGateway(self):
        """kill -9 of this gateway's JVM while its run waits without a thread: its (idle)
        pool and all its kernel held (executor id, the tag holds it counted) are gone, its
        executor row just stops beating. Another gateway starts: a new executor."""
        from simulator import gateway
        from exchange.workflows import platform
        from exchange.workflows.engine import kernel
        import exchange.workflows.api.lifecycle as lifecycle
        killed = kernel.getKernel().executorId
        platform.shutdownPool(kernel.getKernel().existingPool())
        gateway.resetGlobals()
        started = lifecycle.onStartup(workflowModules=["testing.flows", "testing.plantflows"],
                                      installSchema=False, executorName="standby")
        assert started["ok"], started
        assert kernel.getKernel().executorId != killed
        return killed, kernel.getKernel().executorId

    def test_a_long_tag_wait_survives_its_executor_killed_while_waiting(self):
        self.tag.writeBlocking([LEVEL], [10.0])
        wf = self.engine.enqueue("fill_until_level", inputs={
            "setpoint": SETPOINT, "level": LEVEL, "low": 48, "high": 52, "forSeconds": 0.3})
        self.waitsWithoutAThread(wf)
        self.tag.writeBlocking([LEVEL], [50.0])
        self.engine.service.dispatch()  # the killed one starts counting the hold: lost
        killed, standby = self.killThisGateway()
        self.tag.writeBlocking([LEVEL], [30.0])
        for _ in range(3):
            self.engine.service.dispatch()
        assert self.engine.status(wf) == "WAITING"  # the standby's tick looked: not there
        self.tag.writeBlocking([LEVEL], [49.5])
        output = self.output(wf)
        assert (output["met"], output["value"], output["timedOut"]) == (True, 49.5, False)
        assert self.tag.readBlocking([SETPOINT])[0].value == 0
        recorded = self.gw.sql("SELECT step_name, executor_id, attempts FROM "
                               "workflows.step_outputs WHERE workflow_id = ? "
                               "ORDER BY step_position", wf)
        assert recorded == [("writeTag", killed, 1), ("<waitForTag.spec>", killed, 1),
                            ("<waitForTag>", standby, 1), ("writeTag", standby, 1)], recorded
        assert self.gw.sql("SELECT executor_id FROM workflows.workflow_runs "
                           "WHERE workflow_id = ?", wf) == [(standby,)]
