"""Only a JVM whose startup script called onStartup runs workflows. Everywhere else (a
Designer Script Console, a Vision client, a script off the gateway, a gateway that only
serves sessions) the API writes requests and commands and runs nothing: no claim, no
executor row, no worker pool. Shared by CPython and Jython (unittest style)."""
from __future__ import absolute_import, division, print_function

import support


def executorRows(gw):
    return gw.sql("SELECT count(*) FROM workflows.executors")[0][0]


def runRow(gw, workflowId):
    return gw.sql("SELECT status, executor_id, attempts FROM workflows.workflow_runs "
                  "WHERE workflow_id = ?", workflowId)[0]


class ClientTest(support.EngineCase):
    executes = False  # this process never ran the startup script

    def test_a_client_writes_requests_and_commands_and_runs_nothing(self):
        engine = self.engine
        from exchange.workflows.engine import kernel
        import exchange.workflows.api.messages as messages
        first = engine.enqueue("three_steps")
        ack = engine.service.enqueueInMemory("three_steps")
        assert ack["code"] == "ACCEPTED_IN_MEMORY", ack
        stored = engine.service.dispatch()  # how a client's in-memory requests get stored
        assert (stored["ok"], stored["code"], stored["data"]["flushed"],
                stored["data"]["claimed"]) == (True, "FLUSHED", 1, 0), stored
        second = ack["data"]["workflowId"]
        assert engine.service.sendCommand(first, "HOLD", user="ann")["code"] == "HELD"
        assert engine.service.sendCommand(first, "RESUME", user="ann")["ok"]
        assert engine.service.cancel(second, user="ann")["code"] == "CANCEL_REQUESTED"
        assert engine.service.resume(second, user="ann")["ok"]
        assert messages.send(second, {"lot": "L1"}, topic="t")["code"] == "MESSAGE_SENT"
        for wf in (first, second):
            assert runRow(self.gw, wf) == ("ENQUEUED", None, 0)
        assert executorRows(self.gw) == 0
        assert kernel.getKernel().existingPool() is None, "a client made a worker pool"
        assert engine.admin.getEngineInfo()["data"]["runsWorkflows"] is False
        for refused in (engine.admin.recoverNow(), engine.admin.swapIfDrained(user="ann")):
            assert (refused["ok"], refused["code"]) == (False, "NOT_AN_EXECUTOR"), refused
        # the startup script makes this JVM an executor: now it runs the work
        import exchange.workflows.api.lifecycle as lifecycle
        assert lifecycle.onStartup(installSchema=False)["code"] == "STARTED"
        assert engine.admin.getEngineInfo()["data"]["runsWorkflows"] is True
        assert engine.runToEnd(first, second) == ["SUCCESS", "SUCCESS"]
        assert executorRows(self.gw) == 1

    def test_a_gateway_that_opts_out_stays_a_client(self):
        engine = self.engine
        import exchange.workflows.api.lifecycle as lifecycle
        started = lifecycle.onStartup(installSchema=False, runWorkflows=False)
        assert (started["ok"], started["code"], started["data"]["runsWorkflows"]) == \
            (True, "CLIENT_STARTED", False), started
        wf = engine.enqueue("three_steps")
        assert engine.service.dispatch()["code"] == "FLUSHED"
        assert runRow(self.gw, wf) == ("ENQUEUED", None, 0)
        assert executorRows(self.gw) == 0
        refused = lifecycle.onStartup(installSchema=False, runWorkflows="no")
        assert (refused["ok"], refused["code"]) == (False, "INVALID_ARGUMENT"), refused
