"""Maintenance against the real database: drain stops claiming, cancel mode cancels the
work in scope, swap replaces this executor's pools only once it is drained, and every
action is journaled."""
from __future__ import absolute_import, division, print_function

from support import EngineCase
from test_guards_and_limits import gate


class MaintenanceTest(EngineCase):

    def journal(self, action=None):
        import exchange.workflows.api.journal as journal
        entries = journal.listJournal(action=action)["data"]["entries"]
        return [(e["action"], e["outcome"]) for e in reversed(entries)]

    def test_drain_stops_claims_swap_waits_for_the_drain_and_exit_lets_work_run(self):
        engine, admin = self.engine, self.engine.admin
        release = gate("gate.swap")
        running = engine.enqueue("gated", inputs={"gateName": "gate.swap"})
        engine.runUntil(lambda: engine.status(running) == "RUNNING")
        entered = admin.enterMaintenance("drain", reason="deploy v2", user="eng")
        assert entered["code"] == "MAINTENANCE_ENTERED" and entered["data"]["enabled"], entered
        queued = [engine.enqueue("three_steps") for _ in range(3)]  # still accepted
        for _ in range(5):
            assert engine.service.dispatch()["data"]["claimed"] == 0
        assert [engine.status(w) for w in queued] == ["ENQUEUED"] * 3
        early = admin.swapIfDrained(user="eng")
        assert (early["ok"], early["code"], early["data"]["inFlight"]) == \
            (False, "NOT_DRAINED", 1), early
        status = admin.getMaintenanceStatus()["data"]
        me = [e for e in status["executors"] if e["executorId"] == status["executorId"]][0]
        assert (me["inFlight"], me["drained"]) == (1, False)
        release.set()
        engine.runToEnd(running)
        engine.waitIdle()
        swapped = admin.swapIfDrained(user="eng")
        assert swapped["code"] == "SWAPPED", swapped
        assert swapped["data"]["generation"] == swapped["data"]["previousGeneration"] + 1
        assert admin.getEngineInfo()["data"]["generation"] == swapped["data"]["generation"]
        assert admin.exitMaintenance(user="eng")["code"] == "MAINTENANCE_EXITED"
        assert admin.exitMaintenance(user="eng")["code"] == "NOT_IN_MAINTENANCE"
        assert engine.runToEnd(*queued) == ["SUCCESS"] * 3  # on the new pool
        assert self.journal() == [("MAINTENANCE_ENTER", "MAINTENANCE_ENTERED"),
                                  ("SWAP", "NOT_DRAINED"), ("SWAP", "SWAPPED"),
                                  ("MAINTENANCE_EXIT", "MAINTENANCE_EXITED"),
                                  ("MAINTENANCE_EXIT", "NOT_IN_MAINTENANCE")]

    def test_swap_is_refused_outside_maintenance(self):
        refused = self.engine.admin.swapIfDrained()
        assert (refused["ok"], refused["code"]) == (False, "MAINTENANCE_REQUIRED"), refused

    def test_cancel_mode_cancels_the_work_of_its_queue_only(self):
        engine, admin = self.engine, self.engine.admin
        engine.startOnlyOnDispatch()
        mixing = [engine.enqueue("three_steps", queueName="mixing") for _ in range(3)]
        held = engine.enqueue("three_steps", queueName="mixing")
        assert engine.service.sendCommand(held, "HOLD")["code"] == "HELD"
        packing = engine.enqueue("three_steps", queueName="packing")
        entered = admin.enterMaintenance("cancel", reason="line 2 down", queueName="mixing")
        assert entered["data"]["cancelled"] == {"ENQUEUED": 3, "HELD": 1}, entered
        assert [engine.status(w) for w in mixing + [held]] == ["CANCELLED"] * 4
        late = engine.enqueue("three_steps", queueName="mixing")
        assert engine.runToEnd(packing) == ["SUCCESS"]  # another queue is not in scope
        assert engine.status(late) == "ENQUEUED"
        assert admin.exitMaintenance(queueName="mixing")["ok"]
        assert engine.runToEnd(late) == ["SUCCESS"]

    def test_admin_roles_guard_maintenance_and_refusals_are_journaled(self):
        admin = self.engine.admin
        assert admin.configure(adminRoles=["Engineer"])["ok"]
        self.addCleanup(admin.configure, adminRoles=[])
        refused = admin.enterMaintenance("drain", user="op", roles=["Operator"])
        assert (refused["ok"], refused["code"]) == (False, "NOT_AUTHORIZED"), refused
        assert not admin.getMaintenanceStatus()["data"]["enabled"]
        bad = admin.enterMaintenance("pause", user="eng", roles=["Engineer"])
        assert (bad["ok"], bad["code"]) == (False, "INVALID_ARGUMENT"), bad
        assert admin.enterMaintenance("drain", user="eng", roles=["Engineer"])["ok"]
        assert admin.exitMaintenance(user="eng", roles=["Engineer"])["ok"]
        assert self.journal() == [("MAINTENANCE_ENTER", "NOT_AUTHORIZED"),
                                  ("MAINTENANCE_ENTER", "MAINTENANCE_ENTERED"),
                                  ("MAINTENANCE_EXIT", "MAINTENANCE_EXITED")]
