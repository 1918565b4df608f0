"""Operators and durable waits with real executor processes (run from CPython): a held run
resumes on another executor after its own was killed, a prompt is answered from another
process, send/recv, events, streams and sleep keep their guarantees when the executor is
killed between them, and a drain stops every executor sharing the database."""
from __future__ import absolute_import, division, print_function

import pytest

from executors import Executor, assertAlive
from helpers import waitFor

LEASE_SECONDS = 2.0
PERIOD_SECONDS = 0.2


@pytest.fixture
def engine(client):
    """This test process is a client (it never ran onStartup): it writes requests and
    commands; the executor processes run the work."""
    return client


def start(gw, **options):
    executor = Executor(gw.dsn, threads=4, periodSeconds=PERIOD_SECONDS,
                        leaseSeconds=LEASE_SECONDS, **options)
    gw.addCleanup(executor.stop)
    return executor


def row(gw, wf):
    return gw.sql("SELECT status, executor_id, output::text, completed_at_ms "
                  "FROM workflows.workflow_runs WHERE workflow_id = ?", wf)[0]


def report(title, **figures):
    print("\n[%s] %s" % (title, ", ".join("%s=%s" % item for item in sorted(figures.items()))))


def test_a_held_run_resumes_on_another_executor_when_its_own_died(engine):
    gw = engine.gw
    first = start(gw)
    wf = engine.enqueue("paced", inputs={"phases": 6, "ms": 250, "unit": "R4"})
    waitFor(lambda: engine.sideEffects(wf, "phase:2") == 1, 30, 0.01, "two phases done")
    assert engine.service.sendCommand(wf, "HOLD", reason="valve", user="ann")["ok"]
    waitFor(lambda: row(gw, wf)[0] == "HELD", 30, 0.01, "held at a boundary")
    assert row(gw, wf)[1] is None  # no owner, no thread
    first.kill()
    second = start(gw)
    assert engine.service.sendCommand(wf, "RESUME", user="ann")["code"] == "RESUMED"
    waitFor(lambda: row(gw, wf)[0] == "SUCCESS", 60, 0.02, "finished on the second executor")
    assertAlive([second])
    kinds = engine.sideEffects(wf)
    assert [k for k in kinds if k.startswith("phase:")] == ["phase:%d" % n for n in range(1, 7)]
    assert kinds.count("safe:hold:R4") == 1
    owners = set(r[0] for r in gw.sql("SELECT executor_id FROM workflows.step_outputs "
                                      "WHERE workflow_id = ?", wf))
    assert owners == set([first.executorId, second.executorId])


def test_a_prompt_answered_from_another_process_resumes_the_run(engine):
    gw = engine.gw
    executor = start(gw)
    wf = engine.enqueue("asks_operator", inputs={"question": "Lot label attached?"})
    import exchange.workflows.api.prompts as prompts
    pending = waitFor(lambda: prompts.listPrompts(workflowId=wf)["data"]["prompts"], 30, 0.01,
                      "the prompt is pending")
    # the prompt row is written before the run suspends: wait for the run to let go
    waitFor(lambda: row(gw, wf)[:2] == ("WAITING", None), 30, 0.01, "the run waits, no owner")
    answered = prompts.respondToPrompt(pending[0]["promptId"], "yes", user="pat",
                                       comment="label L77")
    assert answered["ok"], answered
    waitFor(lambda: row(gw, wf)[0] == "SUCCESS", 30, 0.02, "the run resumed with the answer")
    assertAlive([executor])
    output = engine.service.getResult(wf, 0)["data"]["output"]
    assert (output["response"], output["user"], output["comment"]) == ("yes", "pat", "label L77")


@pytest.mark.parametrize("where", ["after-recv", "after-send", "mid-stream", "after-sleep"])
def test_messages_events_streams_and_sleep_survive_a_killed_executor(engine, where):
    gw = engine.gw
    executors = [start(gw), start(gw)]
    peer = engine.enqueue("mailbox", inputs={"topic": "t", "timeoutSeconds": 60, "count": 1})
    chain = engine.enqueue("durable_chain", inputs={"peer": peer, "crash": where})
    waitFor(lambda: row(gw, chain)[0] == "WAITING", 30, 0.01, "the chain waits for go")
    import exchange.workflows.api.messages as messages
    assert messages.send(chain, "go-1", topic="go")["code"] == "MESSAGE_SENT"
    waitFor(lambda: gw.sql("SELECT count(*) FROM public.side_effects WHERE workflow_id = ? "
                           "AND kind = ?", chain, "crash:" + where)[0][0] == 1, 30, 0.01,
            "the executor running the chain killed itself at %s" % where)
    waitFor(lambda: row(gw, chain)[0] == "WAITING" and gw.sql(
        "SELECT waiting_for FROM workflows.workflow_runs WHERE workflow_id = ?",
        chain)[0][0].startswith("sleep:") or row(gw, chain)[0] == "SUCCESS", 60, 0.02,
        "the chain sleeps (or is done)")
    if row(gw, chain)[0] == "WAITING":
        alive = [e for e in executors if e.alive()]
        if len(alive) == 2:  # nobody owns a sleeping run: killing one changes nothing
            alive[0].kill()
    waitFor(lambda: row(gw, chain)[0] == "SUCCESS" and row(gw, peer)[0] == "SUCCESS", 60,
            0.02, "chain and peer done")
    import json
    assert json.loads(row(gw, chain)[2]) == "go-1"
    assert json.loads(row(gw, peer)[2]) == [{"from": "chain", "go": "go-1"}]
    assert gw.sql("SELECT count(*) FROM workflows.messages WHERE workflow_id = ?",
                  peer)[0][0] == 1  # sent once
    assert gw.sql("SELECT count(*) FROM workflows.messages WHERE workflow_id = ? AND "
                  "consumed_at_ms IS NULL", chain)[0][0] == 0  # received once
    assert gw.sql("SELECT value::text, version FROM workflows.events WHERE workflow_id = ?",
                  chain) == [('"sent"', 1)]
    assert messages.readStream(chain, "log")["data"]["values"] == [1, 2]
    assert gw.sql("SELECT stream_offset, closed FROM workflows.streams WHERE workflow_id = ? "
                  "ORDER BY 1", chain) == [(0, False), (1, False), (2, True)]
    sleeps = gw.sql("SELECT output::text FROM workflows.step_outputs WHERE workflow_id = ? "
                    "AND step_name = '<sleep>'", chain)
    assert len(sleeps) == 1
    wakeAtMs = json.loads(sleeps[0][0])["wakeAtMs"]
    lateMs = row(gw, chain)[3] - wakeAtMs
    report("durable ops, kill at %s" % where, sleptPastWakeMs=lateMs,
           executorsAlive=len([e for e in executors if e.alive()]))
    assert lateMs >= 0
    if where != "after-sleep":  # (there the lease of the killed executor comes first)
        assert lateMs < 2000, lateMs  # woken by dispatch: it slept only what was left


def test_drain_stops_claims_on_every_executor_sharing_the_database(engine):
    gw = engine.gw
    executors = [start(gw), start(gw)]
    assert engine.admin.enterMaintenance("drain", reason="cutover", user="eng")["ok"]
    enteredAtMs = gw.sql("SELECT workflows.now_ms()")[0][0]
    ids = [engine.enqueue("three_steps") for _ in range(6)]

    def bothTickedSince():
        assertAlive(executors)
        beats = dict(gw.sql("SELECT executor_id, heartbeat_at_ms FROM workflows.executors"))
        return all(beats.get(e.executorId, 0) > enteredAtMs + 1000 for e in executors)
    waitFor(bothTickedSince, 30, 0.02, "both executors dispatched a second after the drain")
    assert [engine.status(w) for w in ids] == ["ENQUEUED"] * 6
    status = engine.admin.getMaintenanceStatus()["data"]
    listed = dict((e["executorId"], e["inFlight"]) for e in status["executors"])
    assert all(listed.get(e.executorId) == 0 for e in executors), status
    assert engine.admin.exitMaintenance(user="eng")["ok"]
    waitFor(lambda: all(engine.status(w) == "SUCCESS" for w in ids), 30, 0.02, "work resumes")
    ran = set(r[0] for r in gw.sql("SELECT DISTINCT executor_id FROM workflows.step_outputs "
                                   "WHERE workflow_id = ANY(?)", ids))
    assert ran <= set(e.executorId for e in executors)
