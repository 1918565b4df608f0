"""A process that only loads the library and calls the API (a script off the gateway; a
Designer Script Console and a Vision client are JVMs of their own in the same way) writes
requests, answers and commands, leaves no executor row and runs nothing; the executor
process runs the work. CPython, real processes."""
from __future__ import absolute_import, division, print_function

import json
import os
import subprocess
import sys

import pytest

from executors import FIXTURE_PROJECT, TESTS, Executor, assertAlive
from helpers import waitFor

# The client: what a script off the gateway does. It loads the script library and the
# workflow module (enqueue checks inputs against the workflow's signature), then only calls
# the API. Its in-memory requests reach the database through its own dispatch() call.
CLIENT = r'''
import json, sys, time
sys.path.insert(0, %(gateway)r)
from simulator import gateway, loader
loader.install([loader.engineRoot(), loader.projectRoot(%(project)r)])
gateway.addDatabase("WorkflowsDB", %(dsn)r)
gateway.setDefaultDatabase("WorkflowsDB")
import exchange.workflows.api.admin as admin
import exchange.workflows.api.messages as messages
import exchange.workflows.api.prompts as prompts
import exchange.workflows.api.service as service

def until(check, what):
    deadline = time.time() + 60
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise SystemExit("client: timed out waiting for " + what)

def status(wf):
    return service.getStatus(wf)["data"]["status"]

out = {}
assert admin.registerWorkflowModules(["testing.flows"])["ok"]
out["plain"] = service.enqueue("three_steps")["data"]["workflowId"]
out["inMemory"] = service.enqueueInMemory("three_steps")["data"]["workflowId"]
out["flushed"] = service.dispatch()["code"]
out["asks"] = service.enqueue("asks_operator", inputs={"question": "Label on?"})["data"]["workflowId"]
pending = until(lambda: prompts.listPrompts(workflowId=out["asks"])["data"]["prompts"], "a prompt")
out["answer"] = prompts.respondToPrompt(pending[0]["promptId"], "yes", user="pat")["code"]
out["mailbox"] = service.enqueue("mailbox", inputs={"count": 1, "timeoutSeconds": 60})["data"]["workflowId"]
out["sent"] = messages.send(out["mailbox"], "hello", topic="t")["code"]
out["sleeper"] = service.enqueue("sleeper", inputs={"seconds": 3})["data"]["workflowId"]
until(lambda: status(out["sleeper"]) == "WAITING", "the sleeper to wait")
out["hold"] = service.sendCommand(out["sleeper"], "HOLD", user="pat")["code"]
until(lambda: status(out["sleeper"]) == "HELD", "the sleeper to be held")
out["resume"] = service.sendCommand(out["sleeper"], "RESUME", user="pat")["code"]
print("RESULT " + json.dumps(out))
'''


# A Designer Script Console's `print exchange.workflows.api.admin.selfTest()`: no startup
# script ran here, so no pool, no executor row; the executor runs the self-test's workflow
# without the client (or the executor's command line) naming it.
SELF_TEST = r'''
import json, sys
sys.path.insert(0, %(gateway)r)
from simulator import gateway, loader
loader.install([loader.engineRoot()])
gateway.addDatabase("WorkflowsDB", %(dsn)r)
gateway.setDefaultDatabase("WorkflowsDB")
import exchange.workflows.api.admin as admin
print("RESULT " + json.dumps(admin.selfTest(user="pat")))
'''


@pytest.fixture
def engine(client):
    return client


def runClient(gw, template=CLIENT):
    script = template % {"gateway": os.path.join(TESTS, "gateway"), "project": FIXTURE_PROJECT,
                         "dsn": gw.dsn}
    done = subprocess.run([sys.executable, "-c", script], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=180)
    lines = [l for l in done.stdout.decode().splitlines() if l.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stderr.decode()[-3000:]
    return json.loads(lines[0][len("RESULT "):])


def test_a_client_process_writes_and_the_executor_runs_everything(engine):
    gw = engine.gw
    executor = Executor(gw.dsn, threads=4, periodSeconds=0.2, leaseSeconds=2.0)
    gw.addCleanup(executor.stop)
    out = runClient(gw)
    assert (out["flushed"], out["answer"], out["sent"], out["hold"], out["resume"]) == \
        ("FLUSHED", "PROMPT_ANSWERED", "MESSAGE_SENT", "HOLD_REQUESTED", "RESUMED"), out
    runs = [out[k] for k in ("plain", "inMemory", "asks", "mailbox", "sleeper")]
    waitFor(lambda: gw.sql("SELECT count(*) FROM workflows.workflow_runs WHERE status = "
                           "'SUCCESS' AND workflow_id = ANY(?)", runs)[0][0] == len(runs),
            60, 0.05, "the executor ran every run the client started")
    assertAlive([executor])
    assert gw.sql("SELECT executor_id FROM workflows.executors") == [(executor.executorId,)]
    ran = gw.sql("SELECT DISTINCT executor_id FROM workflows.step_outputs "
                 "WHERE workflow_id = ANY(?)", runs)
    assert ran == [(executor.executorId,)]


def test_the_self_test_from_a_client_runs_its_workflow_on_the_executor(engine):
    gw = engine.gw
    executor = Executor(gw.dsn, threads=2, periodSeconds=0.2, leaseSeconds=2.0)
    gw.addCleanup(executor.stop)
    result = runClient(gw, SELF_TEST)
    checks = result["data"].get("checks", [])
    assert result["code"] == "SELF_TEST_PASSED", [c for c in checks if c["ok"] is not True]
    data = result["data"]
    assert data["executor"] is False and data["ranOn"] == executor.executorId
    pool = [c["detail"] for c in checks if c["name"] == "pool runs a task"][0]
    assert pool.startswith("a temporary pool (this JVM runs no workflows)"), pool
    assertAlive([executor])
    assert gw.sql("SELECT executor_id FROM workflows.executors") == [(executor.executorId,)]
    assert gw.sql("SELECT count(*) FROM workflows.workflow_runs")[0][0] == 0
    assert gw.sql("SELECT actor, outcome FROM workflows.journal WHERE action = 'SELF_TEST'") == \
        [("pat", "SELF_TEST_PASSED")]
