"""Workflows for the behaviour suite, written as a plant engineer would write them.

Each step body records what it did in the table ``side_effects`` (outside the engine's own
writes), so a test can count how often a step really ran, across re-runs and interpreters.
Test controls travel in the inputs (``crash``: where to die the first time) or through
``system.util.getGlobals()`` (gates a test opens to let a step finish).
"""
from __future__ import absolute_import, division, print_function

import time

import system

from exchange.workflows.engine.runtime import ControlSignal, step, workflow

DB = "WorkflowsDB"


class SimulatedCrash(ControlSignal):
    """Stands for the executor dying: nothing after it runs, no verdict is written (the
    engine leaves a run stopped by a control signal as it stands)."""


def note(kind, value=None):
    """Record one side effect of the current workflow."""
    from exchange.workflows.engine.runtime import currentWorkflowId
    system.db.runPrepUpdate(
        "INSERT INTO public.side_effects (workflow_id, kind, value, at_ms) VALUES (?, ?, ?, ?)",
        [currentWorkflowId(), kind, value, int(time.time() * 1000)], DB)


def times(kind):
    """How often the current workflow recorded ``kind``."""
    from exchange.workflows.engine.runtime import currentWorkflowId
    return system.db.runScalarPrepQuery(
        "SELECT count(*) FROM public.side_effects WHERE workflow_id = ? AND kind = ?",
        [currentWorkflowId(), kind], DB)


def crashOnce(crash, where):
    """Die the first time the run reaches ``where`` (when the test asked for it)."""
    if crash == where and times("crash:" + where) == 0:
        note("crash:" + where)
        raise SimulatedCrash(where)


@step
def weigh(material, kg, crash=None):
    note("weigh", material)
    crashOnce(crash, "in-weigh")
    return {"material": material, "kg": kg}


@step
def mix(batch, crash=None):
    note("mix")
    crashOnce(crash, "in-mix")
    return sum(item["kg"] for item in batch)


@step
def label(total):
    note("label")
    return u"batch of %s kg" % total


@workflow
def three_steps(material="flour", kg=10, crash=None):
    first = weigh(material, kg, crash)
    crashOnce(crash, "after-weigh")
    total = mix([first, {"material": "water", "kg": 5}], crash)
    return {"total": total, "label": label(total)}


@step(retriesAllowed=True, maxAttempts=4, intervalSeconds=0.05, backoffRate=2.0)
def flaky(failures):
    note("flaky")
    if times("flaky") <= failures:
        raise IOError("scale not answering (try %d)" % times("flaky"))
    return "read"


@workflow
def retrying(failures=2):
    return flaky(failures)


@step
def once_failing():
    note("once_failing")
    raise ValueError("valve V-101 did not open")


@workflow
def step_fails_then_recovers():
    try:
        once_failing()
    except Exception as error:
        return {"caught": type(error).__name__, "errorType": error.errorType,
                "message": error.errorMessage}
    return {"caught": None}


@workflow
def body_fails():
    weigh("salt", 1)
    raise RuntimeError(u"hopper H-2 not empty \u2013 operator check needed")


@step
def unstorable():
    note("unstorable")
    return object()


@workflow
def bad_step_result():
    try:
        unstorable()
    except Exception as error:
        return {"errorType": error.errorType}
    return {"errorType": None}


@workflow
def bad_result():
    return set([1, 2])


@step
def wait_for_gate(gateName):
    note("gate-wait")
    gate = system.util.getGlobals().get(gateName)
    deadline = time.time() + 20
    while not gate.is_set() and time.time() < deadline:
        gate.wait(0.01)
    note("gate-passed")
    return "passed"


@workflow
def gated(gateName):
    wait_for_gate(gateName)
    return label(1)


@workflow(name="renamed.flow", timeoutSeconds=30)
def with_custom_name(x):
    return x * 2


@step
def step_a():
    note("a")
    return "a"


@step
def step_b():
    note("b")
    return "b"


@workflow
def order_from_globals(crash=None):
    """Calls its steps in an order a test can flip: a replay must notice."""
    if system.util.getGlobals().get("order.swap"):
        result = [step_b(), step_a()]
    else:
        result = [step_a(), step_b()]
    crashOnce(crash, "after-both")
    return result


@step
def long_poll():
    from exchange.workflows.engine.runtime import checkCancelled
    note("poll-start")
    for _ in range(2000):
        checkCancelled()
        time.sleep(0.01)
    return "finished"


@workflow
def cancellable():
    long_poll()
    return label(1)


@step
def big_number():
    note("big")
    return {"reading": 1e16, "nested": [1.5, u"caf\u00e9"]}


@workflow
def replay_fidelity(crash=None):
    first = big_number()
    crashOnce(crash, "after-big")
    return {"seen": first, "type": type(first["reading"]).__name__}


@step
def nul_text():
    note("nul")
    return u"tag\x00value"


@workflow
def nul_result():
    try:
        nul_text()
    except Exception as error:
        return error.errorType
    return None


def _gate(gateName):
    gate = system.util.getGlobals().get(gateName)
    deadline = time.time() + 20
    while not gate.is_set() and time.time() < deadline:
        gate.wait(0.01)


@workflow
def gated_body(gateName):
    """Its last action is not a step: the terminal write is the first write after the gate."""
    _gate(gateName)
    return "body done"


@step
def wait_quietly(gateName):
    """Waits for the gate without touching the database, then says so in memory."""
    _gate(gateName)
    system.util.getGlobals()[gateName + ".passed"] = True
    return "quiet"


@workflow
def outage_tolerant(gateName):
    return [wait_quietly(gateName), label(2)]


@step(retriesAllowed=True, maxAttempts=5, intervalSeconds=1.0, backoffRate=1.0)
def always_failing():
    note("slow")
    raise IOError("valve still closed")


@workflow
def slow_retry():
    return always_failing()


@workflow
def exits():
    import sys
    sys.exit(3)


@step
def nul_message():
    raise ValueError(u"bad\x00byte")


@workflow
def nul_error():
    try:
        nul_message()
    except Exception as error:
        return error.errorMessage
    return None


@step
def hold(ms):
    time.sleep(ms / 1000.0)
    return ms


@workflow
def briefly(ms=30):
    return hold(ms)


@workflow(timeoutSeconds=0.3)
def with_deadline(gateName):
    wait_quietly(gateName)
    return label(3)


def _javaRuntimeError(message):
    """A java.lang.RuntimeException on the JVM; a RuntimeError stand-in elsewhere (the tests
    that need the Java class run under Jython only)."""
    import sys
    if sys.platform.startswith("java"):
        from java.lang import RuntimeException  # novm
        return RuntimeException(message)
    return RuntimeError(message)


@step(retriesAllowed=True, maxAttempts=3, intervalSeconds=0.02, backoffRate=1.0)
def java_flaky(failures):
    note("java_flaky")
    if times("java_flaky") <= failures:
        raise _javaRuntimeError(u"PLC write to FIC-101 timed out")
    return "written"


@workflow
def java_failing_step(failures=1):
    return java_flaky(failures)


@workflow
def java_failing_body():
    raise _javaRuntimeError(u"recipe server refused the download")


@step(retriesAllowed=True, maxAttempts=2, intervalSeconds=0.02, backoffRate=1.0)
def divide_in_database():
    note("divide")
    return system.db.runScalarPrepQuery("SELECT 1 / 0", [], DB)


@workflow
def database_error_step():
    return divide_in_database()


@step
def occupy(ms):
    """Hold a resource for ``ms`` and record the span (this process's clock, epoch ms)."""
    from exchange.workflows.engine.runtime import currentWorkflowId
    started = int(time.time() * 1000)
    time.sleep(ms / 1000.0)
    system.db.runPrepUpdate(
        "INSERT INTO public.side_effects (workflow_id, kind, value, at_ms) VALUES (?, ?, ?, ?)",
        [currentWorkflowId(), "span", str(started), int(time.time() * 1000)], DB)
    return ms


@workflow
def occupied(ms=50):
    return occupy(ms)


# --- recovery (issue 5) -------------------------------------------------------------------

@step
def numbered(position, seed, ms):
    """Step ``position`` of ``chain``: records "begin:<position>", works ``ms``, then records
    "step:<position>", each with the executor that ran it (so a test sees which steps
    started and ran where, and how often)."""
    from exchange.workflows.engine import context
    note("begin:%d" % position, context.current().fence.executorId)
    time.sleep(ms / 1000.0)
    note("step:%d" % position, context.current().fence.executorId)
    return seed * 10 + position


@workflow
def chain(seed=0, ms=30, steps=3):
    """``steps`` steps in a row; the result tells whether each ran with the right input."""
    return [numbered(i, seed, ms) for i in range(1, steps + 1)]


@workflow(maxRecoveryAttempts=1)
def crashes_until_fixed(fixName):
    """Dies after its first step until the global ``fixName`` is set (a fixed deployment)."""
    first = weigh("salt", 1)
    if not system.util.getGlobals().get(fixName):
        note("crash")
        raise SimulatedCrash("poisoned")
    return [first["kg"], label(1)]


@step
def maybe_take_down_the_executor():
    """With WORKFLOWS_TEST_POISON=1 in its environment, the executor process dies here (an
    out-of-memory kill, a native crash): the poison of the fault tests. Without it, this is
    the fixed version."""
    import os
    note("poison-step", os.environ.get("WORKFLOWS_TEST_POISON", "0"))
    if os.environ.get("WORKFLOWS_TEST_POISON") == "1":
        import signal
        os.kill(os.getpid(), signal.SIGKILL)
    return "fixed"


@workflow(maxRecoveryAttempts=2)
def poison():
    first = weigh("lead", 2)
    return [first["kg"], maybe_take_down_the_executor()]


@workflow
def gate_between_steps(gateName):
    """Waits in its body (not in a step) between two steps."""
    first = weigh("sand", 3)
    _gate(gateName)
    return [first["kg"], label(4)]


@workflow
def gate_then_steps(gateName):
    """Waits at a gate in its body before its first step (a test locks its row meanwhile)."""
    _gate(gateName)
    first = weigh("sand", 3)
    return [first["kg"], label(4)]


@step
def watch_the_clock():
    """A long step that calls checkCancelled() as it works."""
    from exchange.workflows.engine.runtime import checkCancelled
    note("watch-start")
    for _ in range(3000):
        checkCancelled()
        time.sleep(0.01)
    note("watch-end")
    return "never"


@workflow(timeoutSeconds=0.3)
def overrunning():
    return watch_the_clock()


@step
def numbered_to_file(position, seed, ms, path):
    """Like ``numbered``, but records to a file: its log survives a database outage."""
    import os
    from exchange.workflows.engine import context
    time.sleep(ms / 1000.0)
    line = "%s step:%d %s\n" % (context.current().workflowId, position,
                                context.current().fence.executorId)
    handle = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(handle, line.encode("utf-8"))
    finally:
        os.close(handle)
    return seed * 10 + position


@workflow
def chain_to_file(path, seed=0, ms=10, steps=3):
    return [numbered_to_file(i, seed, ms, path) for i in range(1, steps + 1)]


@workflow
def held_per_attempt(gateName):
    """Like gate_between_steps, but each attempt of the run waits at a gate of its own
    ("<gateName>.<attempt>"), so a test can let one attempt go on while another waits."""
    from exchange.workflows.engine import context
    first = weigh("sand", 3)
    _gate("%s.%d" % (gateName, context.current().fence.attempt))
    return [first["kg"], label(4)]


# --- operators: commands, prompts, messages, events, streams, sleep (issue 6) -------------

from exchange.workflows.engine.runtime import (closeStream, getEvent, prompt, recv,  # noqa: E402
                                               send, setEvent, sleep, writeStream)


@step
def phase(n):
    note("phase:%d" % n)
    return n


@step
def safe_state(why):
    """What a hold or stop handler does: close the valves (here: a side effect)."""
    note("safe:%s" % why)
    return why


def bring_to_hold(unit="R1"):
    safe_state("hold:%s" % unit)


def bring_to_stop(unit="R1"):
    safe_state("stop:%s" % unit)
    return {"stopped": unit}


@workflow(onHold=bring_to_hold, onStop=bring_to_stop)
def supervised(gateName, unit="R1", phases=3):
    """Phases with a gate between the first and the rest (a test sends its command while the
    run waits there, so it lands at a known step boundary)."""
    done = [phase(1)]
    _gate(gateName)
    for n in range(2, phases + 1):
        done.append(phase(n))
    return done


@step
def gated_phase(gateName):
    note("gated_phase")
    _gate(gateName)
    return "gated"


@workflow(onHold=bring_to_hold, onStop=bring_to_stop)
def supervised_in_step(gateName, unit="R1"):
    """A command that arrives while the run is inside a step waits for its end."""
    return [gated_phase(gateName), phase(2)]


@workflow
def asks_operator(question="Hopper empty?", timeoutSeconds=None, roles=None):
    answer = prompt(question, options=["yes", "no"], timeoutSeconds=timeoutSeconds,
                    roles=roles)
    phase(1)
    return answer


@workflow
def asks_for_lot():
    answer = prompt("Enter the lot number", schema={"type": "string", "pattern": "^L[0-9]{4}$"})
    return answer["response"]


@workflow
def mailbox(topic="t", timeoutSeconds=30, count=2):
    got = []
    for _ in range(count):
        got.append(recv(topic, timeoutSeconds))
        phase(len(got))
    return got


@workflow
def sleeper(seconds=2.0):
    phase(1)
    sleep(seconds)
    phase(2)
    return "rested"


@workflow
def publisher(values=3):
    setEvent("phase", "filling")
    for n in range(values):
        writeStream("log", {"n": n})
        phase(n)
    closeStream("log")
    setEvent("phase", "done")
    return values


@workflow
def event_waiter(target, timeoutSeconds=30):
    return getEvent(target, "phase", timeoutSeconds)


@step
def crash_point(crash, where):
    """Dies (kill -9 of its own process) the first time, when the test asks for it."""
    if crash == where and times("crash:" + where) == 0:
        note("crash:" + where)
        import os
        import signal
        os.kill(os.getpid(), signal.SIGKILL)
    return where


@workflow
def durable_chain(peer, crash=None):
    """Every durable operation, with a kill of the executor between them (``crash``)."""
    go = recv("go", 60)
    crash_point(crash, "after-recv")
    send(peer, {"from": "chain", "go": go}, topic="t")
    crash_point(crash, "after-send")
    setEvent("phase", "sent")
    writeStream("log", 1)
    crash_point(crash, "mid-stream")
    writeStream("log", 2)
    closeStream("log")
    sleep(2.5)
    crash_point(crash, "after-sleep")
    return go


@workflow(onHold=bring_to_hold, onStop=bring_to_stop)
def paced(phases=6, ms=300, unit="R1"):
    """Phases a few hundred milliseconds apart (for commands sent from another process)."""
    done = []
    for n in range(1, phases + 1):
        done.append(phase(n))
        hold(ms)
    return done


def valve_will_not_close(unit="R1"):
    safe_state("hold:%s" % unit)
    raise RuntimeError("valve V-12 does not close")


@workflow(onHold=valve_will_not_close)
def unsafe_hold(gateName):
    """Its hold handler fails: the run must end in ERROR, not carry on or hold."""
    done = [phase(1)]
    _gate(gateName)
    try:
        done.append(phase(2))
    except Exception:  # a workflow's own except must not swallow the handler's failure
        done.append("swallowed")
    return done


@workflow(timeoutSeconds=1.5)
def oversleeps():
    sleep(30)
    return "woke"


@workflow
def asks_with_unsupported_schema():
    return prompt("Operator e-mail?", schema={"type": "string", "format": "email"})


@workflow(onHold=bring_to_hold, onStop=bring_to_stop)
def long_rest(seconds=600):
    phase(1)
    sleep(seconds)
    phase(2)
    return "rested"


@workflow(onHold=bring_to_hold)
def holds_twice(gateName):
    phase(1)
    _gate(gateName)  # the first HOLD lands at the boundary after this
    phase(2)
    got = recv("go", 30)  # the second one while the run waits here
    phase(3)
    return got


@workflow
def tidy_waiter():
    try:
        return recv("x", 30)
    finally:  # must run once, when the run really ends; not when the wait suspends it
        safe_state("finally")


@workflow
def sends_to_missing(target):
    try:
        send(target, "hello")
        sent = True
    except Exception:  # the refusal is recorded: a replay takes this branch again
        sent = False
    sleep(1.5)
    return sent


# --- templates and enums (issue 16) ---------------------------------------------------------

@workflow
def mixing_batch(recipe, material, targetKg, mixSeconds=60):
    """A mixing batch started from an approved recipe (a template) with a material enum."""
    return {"recipe": recipe, "material": material, "targetKg": targetKg,
            "mixSeconds": mixSeconds}


@workflow
def asks_for_material():
    """A prompt whose options are the enum ``materials``."""
    return prompt("Which material is loaded?", enum="materials")["response"]
