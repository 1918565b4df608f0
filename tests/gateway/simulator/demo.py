"""``make demo``: the engine for real, headless, on an embedded PostgreSQL by default.

Installs the schema, starts a headless executor (the simulator running the timer loop),
starts example workflows the way a plant would (two batches from a Perspective button, an
alarm response from a tag change script), prints every run's status and steps as they
progress, and exits when all are terminal (``--forever`` keeps the executor running).
Set WORKFLOWS_DSN to use an existing database instead of the embedded server.
"""
from __future__ import absolute_import, division, print_function

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from simulator import loader, pgserver, worker  # noqa: E402

TEMPERATURE = "[default]Plant/Reactor1/Temperature"
MODULES = ["demo.workflows.mixing", "demo.workflows.alarms", "demo.workflows.changeover"]


def onTemperatureChange(tag, tagPath, previousValue, currentValue, initialChange, missedEvents):
    """The tag's Value Changed script, exactly as it would be written in the Designer: the
    in-memory enqueue does no I/O on the tag event thread; the next dispatch stores it."""
    import exchange.workflows.api.service as service
    if currentValue.value > 80 and not initialChange:
        ack = service.enqueueInMemory("respond_to_high_temperature",
                                      inputs={"tagPath": str(tagPath),
                                              "value": currentValue.value})
        print("tag     : %s -> %s" % (ack["code"], ack["data"].get("workflowId")))


def pressStartButton(recipe, batchKg, unit):
    """The onActionPerformed script of a Perspective 'Start batch' button."""
    import exchange.workflows.api.service as service
    result = service.enqueue("mix_batch", inputs={"recipe": recipe, "batchKg": batchKg,
                                                  "unit": unit})
    print("button  : %s -> %s" % (result["code"], result["data"].get("workflowId")))
    return result


class Operator(object):
    """What an operator does from the Perspective console during the changeover: hold the
    line (a jam), resume it, then answer the prompt. Each action is journaled."""

    def __init__(self, workflowId):
        self.workflowId = workflowId
        self.done = set()

    def act(self):
        import exchange.workflows.api.prompts as prompts
        import exchange.workflows.api.service as service
        status = service.getStatus(self.workflowId)["data"]
        steps = service.listSteps(self.workflowId)["data"]["steps"]
        if "hold" not in self.done and any(s["name"] == "purge_line" for s in steps):
            self._say(service.sendCommand(self.workflowId, "HOLD", reason="jam at the filler",
                                          user="operator.anna"))
            self.done.add("hold")
        elif "resume" not in self.done and status["status"] == "HELD":
            self._say(service.sendCommand(self.workflowId, "RESUME", reason="jam cleared",
                                          user="operator.anna"))
            self.done.add("resume")
        elif "answer" not in self.done:
            pending = prompts.listPrompts(workflowId=self.workflowId)["data"]["prompts"]
            if pending:
                print(u"prompt  : %s" % pending[0]["message"])
                self._say(prompts.respondToPrompt(pending[0]["promptId"], "yes",
                                                  user="operator.anna",
                                                  comment="checked both chutes"))
                self.done.add("answer")

    def _say(self, result):
        print(u"operator: %s %s" % (result["code"], result["message"]))

    def journal(self):
        import exchange.workflows.api.journal as journal
        for entry in reversed(journal.listJournal(workflowId=self.workflowId)["data"]["entries"]):
            print(u"journal : %-13s %-16s by %s (%s)" % (entry["action"], entry["outcome"],
                                                          entry["actor"], entry["reason"] or u""))


class Progress(object):
    """Prints each run's changes (status, new steps) since the last look."""

    def __init__(self):
        self.started = time.time()
        self.seen = {}

    def show(self):
        import exchange.workflows.api.service as service
        runs = service.listWorkflows(limit=1000)["data"]["workflows"]
        for run in reversed(runs):
            key = run["workflowId"]
            steps = service.listSteps(key)["data"]["steps"]
            last = self.seen.get(key, (None, 0))
            if last == (run["status"], len(steps)):
                continue
            for s in steps[last[1]:]:
                mark = "ok " if s["status"] == "SUCCESS" else "ERR"
                self._line(run, u"step %d %-20s %s (attempts %d)"
                           % (s["position"], s["name"], mark, s["attempts"]))
            if last[0] != run["status"]:
                extra = u" (waiting for %s)" % run["waitingFor"] if run["waitingFor"] else u""
                if run["status"] == "SUCCESS":
                    extra = u" -> %s" % _short(run["output"])
                elif run["status"] == "ERROR":
                    extra = u" -> %s" % run["error"]["message"]
                self._line(run, run["status"] + extra)
            self.seen[key] = (run["status"], len(steps))
        return runs

    def _line(self, run, text):
        print(u"[%5.1fs] %-28s %s  %s" % (time.time() - self.started, run["workflowName"],
                                         run["workflowId"][:8], text))


def _short(value):
    text = u"%s" % (value,)
    return text if len(text) < 90 else text[:87] + u"..."


def main(argv=None):
    parser = argparse.ArgumentParser(description="exchange.workflows demo")
    parser.add_argument("--forever", action="store_true",
                        help="keep the executor running after the examples finish")
    parser.add_argument("--period", type=float, default=0.25,
                        help="seconds between dispatches (a gateway timer uses 1.0)")
    args = parser.parse_args(argv)

    dsn, stopServer = pgserver.serverFromEnv("WORKFLOWS_DSN")
    print("database: %s" % ("$WORKFLOWS_DSN" if os.environ.get("WORKFLOWS_DSN")
                            else "embedded PostgreSQL " + dsn))
    try:
        return _run(dsn, args)
    finally:
        stopServer()


def _run(dsn, args):
    import system
    project = os.path.join(loader.repoRoot(), "tests", "example_project")
    started = worker.boot(dsn, [project], MODULES, name="demo-executor")
    print("executor: %s" % started["message"])
    import exchange.workflows.api.admin as admin
    print("schema  : %s" % admin.checkSchema()["message"])
    print("engine  : %s" % admin.getEngineInfo()["message"])

    system.tag.writeBlocking([TEMPERATURE], [65.0])
    system.tag.simWaitForEvents(5)
    system.tag.simAddValueChangeScript(TEMPERATURE, onTemperatureChange)

    import exchange.workflows.api.service as service
    changeover = service.enqueue("changeover", inputs={"line": "Line-2", "toProduct": "P-7"})
    print("button  : %s -> %s" % (changeover["code"], changeover["data"]["workflowId"]))
    operator = Operator(changeover["data"]["workflowId"])
    pressStartButton("R-100", 500, "Mixer-1")
    pressStartButton("R-200", 200, "Mixer-2")
    print("tag     : %s <- 86.5" % TEMPERATURE)
    system.tag.writeBlocking([TEMPERATURE], [86.5])
    system.tag.simWaitForEvents(5)

    progress = Progress()
    executor = worker.HeadlessExecutor(args.period)

    def allTerminal():
        operator.act()
        runs = progress.show()
        return bool(runs) and all(r["status"] in ("SUCCESS", "ERROR", "CANCELLED", "STOPPED")
                                  for r in runs)

    if args.forever:
        print("executor: running until Ctrl-C")
        try:
            executor.run(lambda: progress.show() and False)
        except KeyboardInterrupt:
            pass
        print("executor: %s" % worker.shutDown(10)["message"])
        return 0
    deadline = time.time() + 120
    executor.run(lambda: allTerminal() or time.time() > deadline)
    print("executor: %s" % worker.shutDown(10)["message"])
    runs = progress.show()
    operator.journal()
    failed = [r for r in runs if r["status"] != "SUCCESS"]
    print("done    : %d run(s), %d not successful" % (len(runs), len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
