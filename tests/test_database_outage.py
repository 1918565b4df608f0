"""A database outage under a running workflow (CPython only: the test stops and restarts the
embedded server it owns, which the Jython run does not have)."""
from __future__ import absolute_import, division, print_function

import logging
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
