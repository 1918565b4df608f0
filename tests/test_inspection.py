"""Statistics for the console against the real database: counts by status, queue, workflow
and executor, queue wait and run time percentiles, and step statistics of the runs created
in a window (and only of those), through api.statistics and the Insights view model."""
from __future__ import absolute_import, division, print_function

from support import EngineCase

HOUR_MS = 3600000


def percentile(values, fraction):
    """PostgreSQL's percentile_cont: linear interpolation between the closest ranks."""
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class InspectionTest(EngineCase):

    def insertRuns(self, base):
        """Ten runs created at ``base`` + i minutes (i = 0..9): waits of 10 x i ms, run
        times of 100 x (i + 1) ms; i < 6 SUCCESS on queue a by executor x, 6..7 ERROR on
        queue b by x, 8 ENQUEUED (never claimed), 9 SUCCESS of workflow other on queue b by
        y; each ended run has steps 'fetch' (1 attempt, 50 ms) and 'store' (the ERROR runs':
        failed after 3 attempts, 200 ms). One more run outside the window."""
        self.gw.sql("""
            INSERT INTO workflows.workflow_runs (workflow_id, workflow_name, status, queue_name,
                   inputs, output, error, executor_id, created_at_ms, claimed_at_ms,
                   started_at_ms, completed_at_ms)
            SELECT 's' || i, CASE WHEN i = 9 THEN 'other' ELSE 'flow' END,
                   CASE WHEN i IN (6, 7) THEN 'ERROR' WHEN i = 8 THEN 'ENQUEUED'
                        ELSE 'SUCCESS' END,
                   CASE WHEN i < 6 THEN 'a' ELSE 'b' END, '{}',
                   CASE WHEN i NOT IN (6, 7, 8) THEN '1'::jsonb END,
                   CASE WHEN i IN (6, 7) THEN '{"type": "E"}'::jsonb END,
                   CASE WHEN i = 9 THEN 'y' WHEN i <> 8 THEN 'x' END,
                   c, CASE WHEN i <> 8 THEN c + 10 * i END, CASE WHEN i <> 8 THEN c + 10 * i END,
                   CASE WHEN i <> 8 THEN c + 10 * i + 100 * (i + 1) END
              FROM (SELECT i, CAST(? AS bigint) + i * 60000 AS c
                      FROM generate_series(0, 9) AS i) AS g""", base)
        self.gw.sql("""
            INSERT INTO workflows.step_outputs (workflow_id, step_position, step_name, status,
                   output, error, attempts, executor_id, run_attempt, started_at_ms,
                   completed_at_ms)
            SELECT workflow_id, p, CASE WHEN p = 1 THEN 'fetch' ELSE 'store' END,
                   CASE WHEN p = 2 AND status = 'ERROR' THEN 'ERROR' ELSE 'SUCCESS' END,
                   CASE WHEN p = 2 AND status = 'ERROR' THEN NULL ELSE '1'::json END,
                   CASE WHEN p = 2 AND status = 'ERROR' THEN '{"type": "E"}'::json END,
                   CASE WHEN p = 2 AND status = 'ERROR' THEN 3 ELSE 1 END, 'x', 1,
                   started_at_ms, started_at_ms + CASE WHEN p = 1 THEN 50 ELSE 200 END
              FROM workflows.workflow_runs, generate_series(1, 2) AS p
             WHERE status <> 'ENQUEUED'""")
        self.gw.sql("""
            INSERT INTO workflows.workflow_runs (workflow_id, workflow_name, status, queue_name,
                   inputs, output, executor_id, created_at_ms, claimed_at_ms, started_at_ms,
                   completed_at_ms)
            VALUES ('outside', 'flow', 'SUCCESS', 'a', '{}', '1', 'x', ?, ?, ?, ?)""",
                    base - HOUR_MS, base, base, base + 99999)

    def statistics(self, *args, **kwargs):
        from exchange.workflows.api import statistics
        return statistics.getStatistics(*args, **kwargs)

    def test_counts_percentiles_and_steps_of_the_window(self):
        base = 1700000000000
        self.insertRuns(base)
        found = self.statistics(base, base + HOUR_MS)
        assert found["code"] == "STATISTICS", found
        data = found["data"]
        assert data["total"] == 10
        assert data["counts"] == {
            "byStatus": {"SUCCESS": 7, "ERROR": 2, "ENQUEUED": 1},
            "byQueue": {"a": 6, "b": 4}, "byWorkflow": {"flow": 9, "other": 1},
            "byExecutor": {"x": 8, "y": 1, "": 1}}, data["counts"]
        claimed = [i for i in range(10) if i != 8]
        waits = [10.0 * i for i in claimed]
        times = [100.0 * (i + 1) for i in claimed]
        for name, values in (("queueWait", waits), ("runTime", times)):
            measured = data[name]
            assert measured["count"] == 9, measured
            assert abs(measured["meanMs"] - sum(values) / len(values)) < 1e-6, measured
            for key, fraction in (("p50Ms", 0.5), ("p90Ms", 0.9), ("p95Ms", 0.95),
                                  ("p99Ms", 0.99)):
                assert abs(measured[key] - percentile(values, fraction)) < 1e-6, (key, measured)
            assert measured["maxMs"] == max(values), measured
        steps = dict((s["stepName"], s) for s in data["steps"])
        assert (steps["fetch"]["count"], steps["fetch"]["errors"], steps["fetch"]["meanMs"],
                steps["fetch"]["p95Ms"], steps["fetch"]["attempts"],
                steps["fetch"]["maxAttempts"]) == (9, 0, 50.0, 50.0, 9, 1), steps
        assert (steps["store"]["count"], steps["store"]["errors"], steps["store"]["attempts"],
                steps["store"]["maxAttempts"]) == (9, 2, 13, 3), steps
        assert abs(steps["store"]["meanAttempts"] - 13 / 9.0) < 1e-9, steps

    def test_filters_and_the_window_bound(self):
        base = 1700000000000
        self.insertRuns(base)
        onlyB = self.statistics(base, base + HOUR_MS, queueName="b")["data"]
        assert (onlyB["total"], onlyB["counts"]["byStatus"]) == (
            4, {"ERROR": 2, "ENQUEUED": 1, "SUCCESS": 1}), onlyB
        other = self.statistics(base, base + HOUR_MS, workflowName="other")["data"]
        assert (other["total"], other["runTime"]["p50Ms"], len(other["steps"])) == \
            (1, 1000.0, 2), other
        early = self.statistics(base - HOUR_MS, base)["data"]  # toMs is excluded
        assert (early["total"], early["counts"]["byWorkflow"]) == (1, {"flow": 1}), early
        empty = self.statistics(base + 2 * HOUR_MS, base + 3 * HOUR_MS)["data"]
        assert (empty["total"], empty["queueWait"]["count"], empty["queueWait"]["p95Ms"],
                empty["steps"]) == (0, 0, None, []), empty
        from exchange.workflows.api import statistics
        self.addCleanup(setattr, statistics, "RUN_CAP", statistics.RUN_CAP)
        statistics.RUN_CAP = 4  # the newest 4 of the window: i = 6..9
        capped = self.statistics(base, base + HOUR_MS)["data"]
        assert (capped["total"], capped["capped"], capped["counts"]["byStatus"]) == (
            4, True, {"ERROR": 2, "ENQUEUED": 1, "SUCCESS": 1}), capped
        assert self.statistics(base, base + HOUR_MS, workflowName="other")["data"]["capped"] is False
        statistics.RUN_CAP = 100000
        for bad in ((base, base), (base, base + 32 * 24 * HOUR_MS), ("x", base), (base, -1)):
            refused = self.statistics(*bad)
            assert (refused["ok"], refused["code"]) == (False, "INVALID_ARGUMENT"), (bad, refused)

    def test_the_insights_view_model_reads_real_runs(self):
        from exchange.workflows.api import consoleinsights
        engine = self.engine
        done = [engine.enqueue("three_steps"), engine.enqueue("retrying",
                                                              inputs={"failures": 1})]
        assert engine.runToEnd(*done) == ["SUCCESS", "SUCCESS"]
        page = consoleinsights.insights(windowMinutes=15)
        assert page["code"] == "STATISTICS", page
        data = page["data"]
        assert [(r["dimension"], r["key"], r["runs"], r["percent"])
                for r in data["countRows"] if r["dimension"] in ("status", "workflow")] == [
            ("status", "SUCCESS", 2, 100.0), ("workflow", "retrying", 1, 50.0),
            ("workflow", "three_steps", 1, 50.0)], data["countRows"]
        assert [(r["measure"], r["count"]) for r in data["timeRows"]] == [
            ("queue wait", 2), ("run time", 2)], data["timeRows"]
        steps = dict((s["stepName"], s) for s in data["stepRows"])
        assert steps["flaky"]["attempts"] == 2 and steps["flaky"]["errorPercent"] == 0.0, steps
        assert set(steps) >= set(["weigh", "mix", "label", "flaky"]), steps
        assert data["summary"].startswith("2 run(s) created in the last 15 minute(s), 0 failed; "
                                          "p95 queue wait "), data["summary"]
        narrowed = consoleinsights.insights(windowMinutes=15, workflowName="three_steps")
        assert narrowed["data"]["total"] == 1, narrowed
        bad = consoleinsights.insights(windowMinutes=0)
        assert (bad["ok"], bad["code"]) == (False, "INVALID_ARGUMENT"), bad
