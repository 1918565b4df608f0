"""Fixtures for engine tests: a clean system schema, the test workflows, a dispatch driver."""
from __future__ import absolute_import, division, print_function

import pytest

from helpers import waitFor

SIDE_EFFECTS = """CREATE TABLE IF NOT EXISTS public.side_effects (
    id bigserial PRIMARY KEY, workflow_id text, kind text, value text, at_ms bigint)"""


class Engine(object):
    """The public API plus the means to drive it the way the gateway timer would."""

    def __init__(self, gw):
        import exchange.workflows.api.service as service
        import exchange.workflows.api.admin as admin
        self.gw = gw
        self.service = service
        self.admin = admin

    def enqueue(self, name, **kwargs):
        """Enqueue and insist it worked; the workflow id."""
        result = self.service.enqueue(name, **kwargs)
        assert result["ok"], result
        return result["data"]["workflowId"]

    def status(self, workflowId):
        return self.gw.sql("SELECT status FROM workflows.workflow_runs WHERE workflow_id = %s",
                           workflowId)[0][0]

    def runUntil(self, predicate, timeoutSeconds=20, message="condition"):
        """Call dispatch (as the timer does) until ``predicate()`` holds."""
        def tick():
            result = self.service.dispatch()
            assert result["ok"], result
            return predicate()
        return waitFor(tick, timeoutSeconds, 0.005, message)

    def runToEnd(self, *workflowIds):
        """Dispatch until every run is terminal; their statuses."""
        def done():
            statuses = [self.status(w) for w in workflowIds]
            return statuses if all(s in ("SUCCESS", "ERROR", "CANCELLED") for s in statuses) \
                else None
        return self.runUntil(done, message="runs %s terminal" % (workflowIds,))

    def sideEffects(self, workflowId, kind=None):
        rows = self.gw.sql("SELECT kind FROM public.side_effects WHERE workflow_id = %s "
                           "ORDER BY id", workflowId)
        kinds = [r[0] for r in rows]
        return kinds if kind is None else kinds.count(kind)

    def runUntilCrashed(self, workflowId, where):
        """Dispatch until the run "dies" at ``where`` (see testing.flows.crashOnce)."""
        self.runUntil(lambda: self.sideEffects(workflowId, "crash:" + where) == 1)
        self.waitIdle()

    def simulateCrashRecovery(self, workflowId):
        """What recovery does for a dead executor's run: back to the queue, owner cleared."""
        self.gw.sql("UPDATE workflows.workflow_runs SET status = 'ENQUEUED', executor_id = NULL "
                    "WHERE workflow_id = %s AND status IN ('PENDING', 'RUNNING')", workflowId)

    def waitIdle(self):
        """Wait until no workflow runs on this executor."""
        from exchange.workflows.engine import kernel
        waitFor(lambda: kernel.getKernel().inFlight.get() == 0, 20, 0.005, "executor idle")

    def stop(self):
        """End of test: let running work finish, then stop this executor's pool."""
        from exchange.workflows.engine import kernel, platform
        self.waitIdle()
        pool = kernel.getKernel().state.get("pool")
        if pool is not None:
            platform.shutdownPool(pool)


@pytest.fixture
def engine(gw):
    """A fresh system schema and the test workflows registered."""
    gw.sql(SIDE_EFFECTS)
    import exchange.workflows.api.admin as admin
    installed = admin.installSchema()
    assert installed["ok"], installed
    gw.sql("TRUNCATE workflows.workflow_runs, workflows.step_outputs, public.side_effects")
    registered = admin.registerWorkflowModules(["testing.flows"])
    assert registered["ok"], registered
    eng = Engine(gw)
    gw.addCleanup(eng.stop)
    return eng
