"""Queue limits and partitions across several executors at once (real processes, CPython
only): global concurrency, worker concurrency and the rate limit hold at every instant, and
partitions never run twice at once while none waits behind another's backlog."""
from __future__ import absolute_import, division, print_function

import pytest

import exchange.workflows.api.queues as queues
from executors import assertAlive, startExecutors
from helpers import waitFor
from test_queues import peakOverlap


@pytest.fixture
def engine(client):
    """This test process is a client (it never ran onStartup): it writes requests and
    commands; the executor processes run the work."""
    return client


def _runAll(engine, processes, ids, timeoutSeconds=90):
    def done():
        assertAlive(processes)
        rows = engine.gw.sql("SELECT count(*) FROM workflows.workflow_runs WHERE status = "
                             "'SUCCESS' AND workflow_id = ANY(%s)", list(ids))
        return rows[0][0] == len(ids)
    waitFor(done, timeoutSeconds, 0.05, "all %d runs succeeded" % len(ids))


def _spans(engine):
    return engine.gw.sql(
        "SELECT r.queue_name, r.executor_id, r.partition_key, CAST(s.value AS bigint), s.at_ms, "
        "r.workflow_id FROM public.side_effects s JOIN workflows.workflow_runs r "
        "USING (workflow_id) WHERE s.kind = 'span'")


def test_global_and_worker_concurrency_hold_at_every_instant_across_three_executors(engine):
    assert queues.declareQueue("downloads", concurrency=3)["ok"]
    assert queues.declareQueue("scales", workerConcurrency=2)["ok"]
    processes = startExecutors(engine.gw, 3, threads=6)
    ids = [engine.enqueue("occupied", inputs={"ms": 60}, queueName=q)
           for _ in range(24) for q in ("downloads", "scales")]
    _runAll(engine, processes, ids)
    spans = _spans(engine)
    downloads = [(s, e) for q, _, _, s, e, _ in spans if q == "downloads"]
    assert len(downloads) == 24 and peakOverlap(downloads) == 3, peakOverlap(downloads)
    executors = set(x for q, x, _, _, _, _ in spans if q == "scales")
    assert len(executors) >= 2, "the work was shared: %s" % executors
    for executor in executors:
        mine = [(s, e) for q, x, _, s, e, _ in spans if q == "scales" and x == executor]
        assert peakOverlap(mine) <= 2, (executor, peakOverlap(mine))
    assert peakOverlap([(s, e) for q, _, _, s, e, _ in spans if q == "scales"]) > 2, \
        "worker concurrency is per executor: together they ran more than 2"


def test_rate_limit_holds_across_three_executors(engine):
    assert queues.declareQueue("starts", rateLimit=3, ratePeriodSeconds=1)["ok"]
    processes = startExecutors(engine.gw, 3, threads=4, periodSeconds=0.1)
    ids = [engine.enqueue("three_steps", queueName="starts") for _ in range(10)]
    _runAll(engine, processes, ids)
    starts = [r[0] for r in engine.gw.sql("SELECT claimed_at_ms FROM workflows.workflow_runs "
                                          "ORDER BY 1")]
    gaps = [starts[i + 3] - starts[i] for i in range(len(starts) - 3)]
    assert min(gaps) >= 1000, starts


def test_partitions_never_overlap_and_none_waits_behind_another_backlog(engine):
    processes = startExecutors(engine.gw, 4, threads=4)
    # unit-0 has a long backlog enqueued first; units 1..19 have 5 runs each behind it
    ids = [engine.enqueue("occupied", inputs={"ms": 15}, queueName="units",
                          partitionKey="unit-0") for _ in range(405)]
    ids += [engine.enqueue("occupied", inputs={"ms": 15}, queueName="units",
                           partitionKey="unit-%d" % (1 + i % 19)) for i in range(95)]
    _runAll(engine, processes, ids, timeoutSeconds=180)
    spans = _spans(engine)
    assert len(spans) == 500
    byUnit = {}
    for _, _, unit, start, end, _ in spans:
        byUnit.setdefault(unit, []).append((start, end))
    for unit, intervals in byUnit.items():
        assert peakOverlap(intervals) == 1, "two runs of %s at once" % unit
    assert len(set(x for _, x, _, _, _, _ in spans)) >= 2, "the work was shared"
    others = max(end for unit, ivs in byUnit.items() if unit != "unit-0" for _, end in ivs)
    backlogDone = sorted(end for _, end in byUnit["unit-0"])
    assert others < backlogDone[100], "the small partitions waited behind unit-0's backlog"
    # and FIFO held within each partition: each run's step began no earlier than the step of
    # the run enqueued before it. (The steps' own spans: a run's started_at_ms is its claim
    # statement's timestamp, taken when the statement arrived, which on a loaded machine
    # can come before the snapshot that saw the previous run finish.)
    startOf = dict((wf, start) for _, _, _, start, _, wf in spans)
    unitOf = dict((wf, unit) for _, _, unit, _, _, wf in spans)
    for unit in byUnit:
        starts = [startOf[wf] for wf in ids if unitOf[wf] == unit]  # (ids: enqueue order)
        assert starts == sorted(starts), "%s did not start in FIFO order" % unit
