"""Database outages: a running workflow pauses at its checkpoint, dispatch backs off and
resumes (CPython only: the tests stop and restart an embedded server, which the Jython run
does not have)."""
from __future__ import absolute_import, division, print_function

import logging
import time
import threading

from helpers import waitFor


class _Captured(logging.Handler):
    def __init__(self):
        logging.Handler.__init__(self)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_a_database_outage_pauses_a_checkpoint_and_nothing_is_lost(engine, embeddedServer):
    import system
    captured = _Captured()
    logging.getLogger().addHandler(captured)
    engine.gw.addCleanup(logging.getLogger().removeHandler, captured)
    opened = threading.Event()
    system.util.getGlobals()["gate.outage"] = opened
    wf = engine.enqueue("outage_tolerant", inputs={"gateName": "gate.outage"})
    engine.runUntil(lambda: engine.status(wf) == "RUNNING")
    embeddedServer.stopServer()
    try:
        opened.set()
        waitFor(lambda: system.util.getGlobals().get("gate.outage.passed"), 10)
        waitFor(lambda: any("not answering" in m for m in captured.messages), 20, 0.05,
                "the checkpoint waits out the outage")
    finally:
        embeddedServer.startServer()
    assert engine.runToEnd(wf) == ["SUCCESS"]
    assert engine.service.getResult(wf, 1)["data"]["output"] == ["quiet", "batch of 2 kg"]
    steps = engine.service.listSteps(wf)["data"]["steps"]
    assert [s["name"] for s in steps] == ["wait_quietly", "label"]


def test_dispatch_reports_the_outage_backs_off_and_resumes_when_the_database_returns(
        engine, ownServer):
    from simulator import gateway, pgserver
    import exchange.workflows.api.admin as admin
    import exchange.workflows.api.service as service
    captured = _Captured()
    logging.getLogger().addHandler(captured)
    engine.gw.addCleanup(logging.getLogger().removeHandler, captured)
    dispatcherLog = logging.getLogger("exchange.workflows.dispatcher")
    engine.gw.addCleanup(dispatcherLog.setLevel, dispatcherLog.level)
    dispatcherLog.setLevel(logging.INFO)
    name, dsn = pgserver.createDatabase(ownServer.dsn(), "wf_outage")
    gateway.addDatabase("OutageDB", dsn)
    engine.gw.addCleanup(gateway.removeDatabase, "OutageDB")
    assert admin.installSchema(dbName="OutageDB")["ok"]
    assert service.dispatch(dbName="OutageDB")["ok"]
    ownServer.stopServer()
    try:
        first = service.dispatch(dbName="OutageDB")
        failedAt = time.time()
        assert first["code"] == "DATABASE_UNAVAILABLE", first
        assert (first["data"]["failedTicks"], first["data"]["retryInMs"]) == (1, 250)
        waiting = service.dispatch(dbName="OutageDB")
        if time.time() - failedAt < 0.25:  # inside the backoff: not even tried
            assert waiting["data"]["failedTicks"] == 1 and "tries again in" in \
                waiting["message"], waiting
        assert waiting["code"] == "DATABASE_UNAVAILABLE", waiting
        second = waitFor(lambda: (lambda r: r if r["data"]["failedTicks"] >= 2 else None)(
            service.dispatch(dbName="OutageDB")), 5, 0.02, "the next try after the backoff")
        assert second["data"]["retryInMs"] >= 500, second  # the backoff grows
        assert sum("OutageDB is unreachable" in m for m in captured.messages) == 1
        # the outage is that connection's: the others dispatch as usual
        assert service.dispatch()["code"] == "DISPATCHED"
        missing = service.dispatch(dbName="NoSuchDB")
        assert missing["code"] == "DATABASE_NOT_FOUND", missing
    finally:
        ownServer.startServer()
    back = waitFor(lambda: (lambda r: r if r["ok"] else None)(
        service.dispatch(dbName="OutageDB")), 15, 0.05, "dispatch works again")
    assert back["code"] == "DISPATCHED"
    assert any("answers again" in m for m in captured.messages)
    wf = service.enqueue("three_steps", dbName="OutageDB")["data"]["workflowId"]
    assert waitFor(lambda: service.getResult(wf, 0, dbName="OutageDB")["ok"], 20, 0.05)
    gateway.removeDatabase("OutageDB")
    pgserver.dropDatabase(ownServer.dsn(), name)
