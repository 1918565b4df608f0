"""Operators in control: HOLD, RESUME, STOP and cancel through the state/command matrix,
hold and stop handlers, the journal and the role check, against the real database.

A run waits at a gate (testing.flows._gate) while the test sends its command, so the
command lands at a known step boundary; the test then opens the gate and drives dispatch
as the gateway timer would."""
from __future__ import absolute_import, division, print_function

import time

from helpers import waitFor
from support import EngineCase
from test_guards_and_limits import gate


class FakeSession(object):
    """What a Perspective view passes as ``self.session``: props.auth.user."""

    def __init__(self, userName, roles):
        class User(object):
            pass

        class Auth(object):
            pass

        class Props(object):
            pass
        user, auth, props = User(), Auth(), Props()
        user.userName, user.roles = userName, roles
        auth.user, props.auth = user, auth
        self.props = props


class OperatorCommandsTest(EngineCase):

    def steps(self, wf):
        return [s["name"] for s in self.engine.service.listSteps(wf)["data"]["steps"]]

    def journal(self, wf):
        import exchange.workflows.api.journal as journal
        listed = journal.listJournal(workflowId=wf)
        assert listed["ok"], listed
        return [(e["action"], e["outcome"], e["accepted"]) for e in
                reversed(listed["data"]["entries"])]

    def startAtTheGate(self, gateName, **inputs):
        """A supervised run waiting at its gate after phase 1; (workflowId, its gate)."""
        release = gate(gateName)
        inputs["gateName"] = gateName
        wf = self.engine.enqueue("supervised", inputs=inputs)
        self.engine.runUntil(lambda: self.engine.sideEffects(wf, "phase:1") == 1)
        self.engine.waitsAtGate(wf)
        return wf, release

    def command(self, wf, cmd, **kwargs):
        return self.engine.service.sendCommand(wf, cmd, **kwargs)

    def poolActive(self):
        from exchange.workflows.engine import kernel
        return kernel.getKernel().poolActive()

    def test_hold_then_resume_sent_10_ms_apart_ends_success_and_loses_no_command(self):
        engine = self.engine
        release = gate("gate.hr")
        wf = engine.enqueue("supervised_in_step", inputs={"gateName": "gate.hr"})
        engine.runUntil(lambda: engine.sideEffects(wf, "gated_phase") == 1)
        held = self.command(wf, "HOLD", reason="valve sticks", user="alice")
        time.sleep(0.01)  # the scenario: the second command 10 ms after the first
        resumed = self.command(wf, "RESUME", reason="checked", user="alice")
        assert (held["code"], resumed["code"]) == ("HOLD_REQUESTED", "HOLD_WITHDRAWN"), \
            (held, resumed)
        release.set()
        assert engine.runToEnd(wf) == ["SUCCESS"]
        assert self.journal(wf) == [("HOLD", "HOLD_REQUESTED", True),
                                    ("RESUME", "HOLD_WITHDRAWN", True)]

    def test_a_held_run_holds_no_thread_runs_its_hold_handler_and_resume_repeats_nothing(self):
        engine = self.engine
        wf, release = self.startAtTheGate("gate.hold", unit="R7")
        assert self.command(wf, "HOLD", user="bob")["code"] == "HOLD_REQUESTED"
        assert engine.service.getStatus(wf)["data"]["pendingCommand"] == "HOLD"
        release.set()
        engine.runUntil(lambda: engine.status(wf) == "HELD", message="held at the boundary")
        waitFor(lambda: self.poolActive() == 0, 10, 0.01, "the held run's thread released")
        assert engine.sideEffects(wf) == ["phase:1", "safe:hold:R7"]
        assert self.steps(wf) == ["phase", "<hold>", "safe_state"]
        status = engine.service.getStatus(wf)["data"]
        assert (status["executorId"], status["pendingCommand"]) == (None, None)
        refused = self.command(wf, "HOLD")
        assert (refused["ok"], refused["code"]) == (False, "ALREADY_HELD")
        assert self.command(wf, "RESUME", user="bob")["code"] == "RESUMED"
        assert engine.runToEnd(wf) == ["SUCCESS"]
        assert engine.sideEffects(wf) == ["phase:1", "safe:hold:R7", "phase:2", "phase:3"]
        assert engine.service.getResult(wf, 0)["data"]["output"] == [1, 2, 3]
        assert self.journal(wf) == [("HOLD", "HOLD_REQUESTED", True),
                                    ("HOLD", "ALREADY_HELD", False),
                                    ("RESUME", "RESUMED", True)]

    def test_stop_runs_the_stop_handler_and_ends_stopped(self):
        engine = self.engine
        wf, release = self.startAtTheGate("gate.stop", unit="R2")
        assert self.command(wf, "STOP", reason="end of shift")["code"] == "STOP_REQUESTED"
        refused = self.command(wf, "HOLD")
        assert (refused["ok"], refused["code"]) == (False, "STOP_PENDING")
        release.set()
        assert engine.runToEnd(wf) == ["STOPPED"]
        assert engine.sideEffects(wf) == ["phase:1", "safe:stop:R2"]
        result = engine.service.getResult(wf, 0)
        assert (result["ok"], result["code"]) == (False, "WORKFLOW_STOPPED")
        assert result["data"]["output"] == {"stopped": "R2"}
        assert result["data"]["error"]["type"] == "Stopped"
        finished = self.command(wf, "RESUME")
        assert (finished["ok"], finished["code"]) == (False, "NOT_RESUMABLE")

    def test_a_stop_reaching_a_held_run_runs_the_stop_handler_after_the_hold(self):
        engine = self.engine
        wf, release = self.startAtTheGate("gate.hs")
        self.command(wf, "HOLD")
        release.set()
        engine.runUntil(lambda: engine.status(wf) == "HELD")
        assert self.command(wf, "STOP")["code"] == "STOP_REQUESTED"
        assert engine.runToEnd(wf) == ["STOPPED"]
        assert engine.sideEffects(wf) == ["phase:1", "safe:hold:R1", "safe:stop:R1"]
        assert self.steps(wf) == ["phase", "<hold>", "safe_state", "<stop>", "safe_state"]

    def test_commands_on_queued_and_finished_runs_follow_the_matrix(self):
        engine = self.engine
        engine.startOnlyOnDispatch()
        queued = engine.enqueue("three_steps")
        assert self.command(queued, "RESUME")["code"] == "NOT_HELD"
        assert self.command(queued, "HOLD")["code"] == "HELD"  # no thread: held at once
        engine.runUntil(lambda: engine.service.dispatch()["data"]["claimed"] == 0)
        assert engine.status(queued) == "HELD"  # never claimed while held
        assert self.command(queued, "RESUME")["code"] == "RESUMED"
        assert engine.runToEnd(queued) == ["SUCCESS"]
        for cmd, code in (("HOLD", "WORKFLOW_FINISHED"), ("STOP", "WORKFLOW_FINISHED"),
                          ("RESUME", "NOT_RESUMABLE"), ("CANCEL", "NOT_CANCELLABLE")):
            refused = self.command(queued, cmd)
            assert (refused["ok"], refused["code"]) == (False, code), refused
        never = engine.enqueue("three_steps")
        stopped = self.command(never, "STOP")
        assert (stopped["ok"], stopped["code"]) == (True, "STOPPED")  # nothing to make safe
        assert engine.status(never) == "STOPPED" and engine.sideEffects(never) == []
        unknown = self.command(never, "ABORT")
        assert (unknown["ok"], unknown["code"]) == (False, "UNKNOWN_COMMAND")
        missing = self.command("no-such-run", "HOLD")
        assert (missing["ok"], missing["code"]) == (False, "WORKFLOW_NOT_FOUND")
        assert self.command(never, "hold")["code"] == "WORKFLOW_FINISHED"  # any case

    def test_cancel_then_resume_completes_without_rerunning_finished_steps(self):
        engine = self.engine
        wf, release = self.startAtTheGate("gate.cr")
        assert engine.service.cancel(wf, reason="wrong recipe")["code"] == "CANCEL_REQUESTED"
        early = engine.service.resume(wf)
        assert (early["ok"], early["code"]) == (False, "STILL_RUNNING"), early
        release.set()  # the thread reaches its next boundary, stops and lets go
        waitFor(lambda: engine.service.getStatus(wf)["data"]["executorId"] is None, 10, 0.01,
                "the cancelled run's thread let go")
        assert engine.service.resume(wf, reason="recipe fixed")["code"] == "WORKFLOW_RESUMED"
        assert engine.runToEnd(wf) == ["SUCCESS"]
        assert engine.sideEffects(wf) == ["phase:1", "phase:2", "phase:3"]
        assert [a for a, _, _ in self.journal(wf)] == ["CANCEL", "RESUME", "RESUME"]

    def test_a_resume_whose_deduplication_id_another_run_holds_is_refused_and_journaled(self):
        engine = self.engine
        engine.startOnlyOnDispatch()
        first = engine.enqueue("three_steps", deduplicationId="batch-7")
        assert engine.service.cancel(first, user="ann")["code"] == "CANCEL_REQUESTED"
        second = engine.enqueue("three_steps", deduplicationId="batch-7")  # the id is free
        refused = engine.service.resume(first, reason="retry", user="ann")
        assert (refused["ok"], refused["code"], refused["data"]["status"],
                refused["data"]["actor"]) == (False, "RESUME_CONFLICT", "CANCELLED", "ann"), \
            refused
        assert engine.status(first) == "CANCELLED"
        assert self.journal(first) == [("CANCEL", "CANCEL_REQUESTED", True),
                                       ("RESUME", "RESUME_CONFLICT", False)]
        assert engine.runToEnd(second) == ["SUCCESS"]
        assert engine.service.resume(first, user="ann")["code"] == "WORKFLOW_RESUMED"
        assert engine.runToEnd(first) == ["SUCCESS"]

    def test_role_check_guards_commands_and_takes_the_actor_from_the_session(self):
        engine = self.engine
        engine.startOnlyOnDispatch()
        configured = engine.admin.configure(commandRoles=["Operator", "Supervisor"])
        assert configured["ok"], configured
        self.addCleanup(engine.admin.configure, commandRoles=[])
        wf = engine.enqueue("three_steps")
        refused = self.command(wf, "HOLD", user="visitor")
        assert (refused["ok"], refused["code"]) == (False, "NOT_AUTHORIZED"), refused
        assert engine.status(wf) == "ENQUEUED"
        accepted = self.command(wf, "HOLD", session=FakeSession("carol", ["Operator"]))
        assert accepted["code"] == "HELD" and accepted["data"]["actor"] == "carol"
        import exchange.workflows.api.journal as journal
        entries = journal.listJournal(workflowId=wf)["data"]["entries"]
        assert [(e["actor"], e["outcome"]) for e in reversed(entries)] == \
            [("visitor", "NOT_AUTHORIZED"), ("carol", "HELD")]

    def test_a_failing_hold_handler_ends_the_run_in_error_whatever_the_workflow_catches(self):
        engine = self.engine
        release = gate("gate.unsafe")
        wf = engine.enqueue("unsafe_hold", inputs={"gateName": "gate.unsafe"})
        engine.runUntil(lambda: engine.sideEffects(wf, "phase:1") == 1)
        self.engine.waitsAtGate(wf)
        assert self.command(wf, "HOLD")["code"] == "HOLD_REQUESTED"
        release.set()
        assert engine.runToEnd(wf) == ["ERROR"]
        error = engine.service.getStatus(wf)["data"]["error"]
        assert (error["type"], error["code"]) == ("HandlerFailed", "HANDLER_FAILED"), error
        assert "valve V-12 does not close" in error["message"]
        assert engine.sideEffects(wf) == ["phase:1", "safe:hold:R1"]  # phase 2 never ran


class ScopeActorTest(EngineCase):
    """Without a session or a user, the actor is the Ignition user of the calling scope
    where it has one, else this executor. Each test gives the simulator's ``system`` what
    that scope has: a Vision client or Designer of 8.1 has system.security.getUsername and
    getRoles (and a system.vision without them), a Vision client of 8.3 has them in
    system.vision, a gateway has neither."""

    def scope(self, moduleName, user=None, roles=()):
        """Install ``system.<moduleName>`` (with getUsername/getRoles when ``user``)."""
        import types
        import system
        module = types.ModuleType("system." + moduleName)
        if user is not None:
            module.getUsername = lambda: user
            module.getRoles = lambda: tuple(roles)  # a tuple, as the stubs name it
        setattr(system, moduleName, module)
        self.addCleanup(delattr, system, moduleName)

    def holdAs(self, **kwargs):
        """HOLD a queued run with only ``kwargs`` naming who acts; the answer."""
        self.engine.startOnlyOnDispatch()
        return self.engine.service.sendCommand(self.engine.enqueue("three_steps"), "HOLD",
                                               **kwargs)

    def requireOperators(self):
        configured = self.engine.admin.configure(commandRoles=["Operator"])
        assert configured["ok"], configured
        self.addCleanup(self.engine.admin.configure, commandRoles=[])

    def test_a_vision_client_or_designer_of_8_1_acts_as_its_user(self):
        self.scope("vision")  # 8.1 has a system.vision, without the user functions
        self.scope("security", "ann", ["Operator"])
        self.requireOperators()
        held = self.holdAs()
        assert (held["code"], held["data"]["actor"]) == ("HELD", "ann"), held

    def test_a_vision_client_of_8_3_acts_as_its_user(self):
        self.scope("vision", "bob", ["Viewer"])
        self.requireOperators()
        refused = self.holdAs()
        assert refused["code"] == "NOT_AUTHORIZED" and refused["data"]["actor"] == "bob", \
            refused  # bob's roles came from system.vision.getRoles
        self.engine.admin.configure(commandRoles=[])
        assert self.holdAs()["data"]["actor"] == "bob"

    def test_on_a_gateway_the_actor_is_the_executor(self):
        from exchange.workflows.engine import kernel
        held = self.holdAs()
        assert held["data"]["actor"] == "gateway:%s" % kernel.getKernel().executorId, held
        assert self.holdAs(user="dave")["data"]["actor"] == "dave"  # a script names it
