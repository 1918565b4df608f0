"""Debounced bursts across several executors at once (real processes, CPython only): every
executor's tick fires due bursts, and each burst still starts exactly one run, with its last
call's inputs (docs/debounce.md)."""
from __future__ import absolute_import, division, print_function

import pytest

from executors import assertAlive, startExecutors
from helpers import waitFor

KEYS = 40


@pytest.fixture
def engine(client):
    """This test process is a client: it makes the calls; the executor processes fire."""
    assert client.admin.registerWorkflowModules(["testing.flows",
                                                 "testing.debounceflows"])["ok"]
    return client


def test_three_executors_firing_the_same_due_bursts_start_one_run_each(engine):
    # imported now, not at collection: a test that simulates a project save (a fresh
    # library, a fresh registry) may have run since this module was imported
    debounces = __import__("exchange.workflows.api.debounces", fromlist=["debounce"])
    for call in range(3):
        for n in range(KEYS):
            result = debounces.debounce("tank-%02d" % n, 3600, "settle_level",
                                        {"level": call, "source": "tank-%02d" % n})
            assert result["ok"], result
    processes = startExecutors(engine.gw, 3, threads=4, periodSeconds=0.05,
                               modules=["testing.debounceflows"])
    waitFor(lambda: engine.gw.sql("SELECT count(*) FROM workflows.executors "
                                  "WHERE retired_at_ms IS NULL")[0][0] == 3, 60, 0.05,
            "three executors registered")
    engine.gw.sql("UPDATE workflows.debounces SET fire_at_ms = workflows.now_ms()")

    def done():
        assertAlive(processes)
        return engine.gw.sql("SELECT count(*) FROM workflows.workflow_runs "
                             "WHERE status = 'SUCCESS'")[0][0] >= KEYS
    waitFor(done, 90, 0.05, "every burst ran")
    rows = engine.gw.sql("SELECT workflow_id, output::text FROM workflows.workflow_runs "
                         "ORDER BY workflow_id")
    assert len(rows) == KEYS, rows
    assert [r[0].split(":")[1] for r in rows] == ["tank-%02d" % n for n in range(KEYS)]
    assert all('"level": 2' in r[1] for r in rows), rows
    assert engine.gw.sql("SELECT count(*) FROM workflows.debounces")[0][0] == 0
