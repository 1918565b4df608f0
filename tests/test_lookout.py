"""The lookout (engine.lookout): an idle executor notices, without a timer tick, a run that
was only written to the database (a client's enqueue) and the runs of a peer whose lease
ran out; an idle tick costs a few statements. Runs on CPython and Jython. No timing is
asserted: each test polls with a deadline."""
from __future__ import absolute_import, division, print_function

import support
from helpers import waitFor
from test_recovery import addExecutor, claimedBy, inContactForALease

# statements an idle tick may send (a claim, a promote, the due debounces, the due
# schedules): the lookout, the heartbeat and retention are not on every tick
IDLE_TICK_STATEMENTS = 4


class LookoutTest(support.EngineCase):
    def setUp(self):
        support.EngineCase.setUp(self)
        self.engine.startOnlyOnDispatch()  # an enqueue here only writes its row, as a client's

    def lookoutOn(self):
        from exchange.workflows.engine import lookout
        assert self.engine.admin.configure(idlePollMs=20)["ok"]
        assert lookout.ensure()

    def test_a_run_only_written_to_the_database_starts_without_a_tick(self):
        self.lookoutOn()
        wf = self.engine.enqueue("three_steps")  # no dispatch is called from here on
        waitFor(lambda: self.engine.status(wf) == "SUCCESS", 20, 0.01, "the run done")

    def test_with_the_setting_at_zero_the_lookout_stops_and_nothing_starts_it(self):
        from exchange.workflows.engine import kernel, lookout
        self.lookoutOn()
        assert self.engine.admin.configure(idlePollMs=0)["ok"]
        waitFor(lambda: not kernel.getKernel().lookoutRuns(), 10, 0.01, "the lookout stopped")
        assert not lookout.ensure()

    def test_a_lookout_whose_interpreter_a_project_save_replaced_stops_itself(self):
        from exchange.workflows import platform
        from exchange.workflows.engine import kernel
        self.lookoutOn()
        k = kernel.getKernel()
        scheduler = k.lookout()
        token = k.sharedMap().get("interpreter")
        k.sharedMap().put("interpreter", "a newer interpreter")  # what its onStartup does
        try:
            waitFor(lambda: platform.isShutdown(scheduler), 10, 0.01, "the old lookout over")
            assert k.lookout() is None
        finally:
            k.sharedMap().put("interpreter", token)

    def test_a_lapsed_peers_runs_are_recovered_and_run_without_a_tick(self):
        engine = self.engine
        addExecutor(engine.gw, "ghost", heartbeatAgoMs=60000, leaseMs=30000)
        ids = claimedBy(engine, "ghost", 3)
        inContactForALease(engine)
        self.lookoutOn()
        for wf in ids:
            waitFor(lambda: engine.status(wf) == "SUCCESS", 20, 0.01, "%s done" % wf)
        assert [engine.recoveryAttempts(wf) for wf in ids] == [1, 1, 1]

    def test_a_look_with_nothing_arrived_is_one_statement(self):
        from exchange.workflows.engine import kernel, lookout
        assert self.engine.service.dispatch()["ok"]  # registered, and the claim saw nothing
        counted = support.CountedDb(self)
        k = kernel.getKernel()
        assert lookout.lookEverywhere(k)["looks"] == 1  # the first look claims once
        del counted.sent[:]
        assert lookout.lookEverywhere(k) == {"looks": 1, "recovered": 0, "promoted": 0,
                                             "claimed": 0}
        assert len(counted.sent) == 1, counted.sent

    def test_an_idle_tick_sends_few_statements_and_no_transaction(self):
        assert self.engine.service.dispatch()["ok"]  # registers, beats, asks for retention
        counted = support.CountedDb(self)
        assert self.engine.service.dispatch()["ok"]
        assert "beginTransaction" not in counted.calls(), counted.sent
        assert len(counted.sent) <= IDLE_TICK_STATEMENTS, counted.sent


class ClientLookoutTest(support.EngineCase):
    executes = False  # a Script Console, a Vision client: onStartup never ran here

    def test_no_lookout_runs_where_the_engine_does_not(self):
        from exchange.workflows.engine import kernel, lookout
        assert self.engine.admin.configure(idlePollMs=20)["ok"]
        assert self.engine.service.dispatch()["ok"]  # (a tick calls ensure)
        assert not lookout.ensure()
        assert kernel.getKernel().lookout() is None
