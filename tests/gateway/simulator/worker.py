"""A headless executor: the gateway simulator running the dispatch timer loop.

What a gateway does with its startup script and its 1 s fixed-delay timer script, as a
process of its own: any number of these (and gateways) may share one system database. Run
it as

    python tests/gateway/simulator/worker.py --dsn "host=... dbname=..." \\
        --project tests/example_project --module demo.workflows.mixing --name mixer-worker-1

It registers as an executor (``--name``: a restarted worker of the same name takes its runs
back at once; without it each process is host:pid and its runs wait for its lease), prints
``EXECUTOR <executorId>`` on its first line of output, and on SIGTERM or Ctrl-C stops
claiming, lets running workflows finish for up to ``--grace`` seconds, then retires: what is
still running goes back to its queue for the other executors at once.
"""
from __future__ import absolute_import, division, print_function

import argparse  # novm
import logging
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from simulator import gateway, loader  # noqa: E402


def boot(dsn, projects=(), modules=(), dbName="WorkflowsDB", workerThreads=None, name=None,
         leaseSeconds=None, idlePollMs=None):
    """Make this process a gateway: datasource, script libraries, then what a gateway's
    startup script does (schema, user modules, executor registration); the envelope of
    onStartup."""
    loader.install([loader.engineRoot()] + [loader.projectRoot(p) for p in projects])
    gateway.addDatabase(dbName, dsn)
    gateway.setDefaultDatabase(dbName)
    import exchange.workflows.api.admin as admin
    import exchange.workflows.api.lifecycle as lifecycle
    if workerThreads:
        _check(admin.configure(workerThreads=workerThreads))
    if leaseSeconds:
        _check(admin.configure(leaseSeconds=leaseSeconds))
    if idlePollMs is not None:
        _check(admin.configure(idlePollMs=idlePollMs))
    started = lifecycle.onStartup(list(modules) or None, dbName=dbName, executorName=name)
    if not started["ok"] and (started.get("data") or {}).get("executorId"):
        lifecycle.retire(0, dbName=dbName)  # exiting: leave no live executor row behind
    return _check(started)


LOG_LEVELS = ("trace", "debug", "info", "warn", "error")


def _check(envelope):
    if not envelope["ok"]:
        raise SystemExit("%s: %s%s" % (envelope["code"], envelope["message"],
                                       _problems(envelope)))
    return envelope


def _problems(envelope):
    """What onStartup could not do, one line each, with the modules a project offers when a
    module could not be imported (a misspelled --module)."""
    problems = (envelope.get("data") or {}).get("problems") or {}
    lines = ["\n  %s: %s" % item for item in sorted(problems.items())]
    if "modules" in problems:
        offered = sorted(_modulesOf(root) for root in loader.roots()[1:])
        lines.append("\n  modules the --project folders offer: %s"
                     % (", ".join(name for names in offered for name in names) or "none"))
    return "".join(lines)


def _modulesOf(root):
    """The dotted names of the script modules under a script-python folder."""
    names = []
    for folder, _, files in os.walk(root):
        if "code.py" in files:
            names.append(os.path.relpath(folder, root).replace(os.sep, "."))
    return names


def checkProject(folder):
    """Why ``folder`` is not an Ignition project folder with a script library, or None."""
    if not os.path.isdir(folder):
        return "--project %s: no such folder" % folder
    if not os.path.isdir(loader.projectRoot(folder)):
        return ("--project %s: not an Ignition project with a script library (no %s)"
                % (folder, os.path.join("ignition", "script-python")))
    return None


def configureLogging(level):
    """Engine log lines to stderr from ``level`` up (trace, debug, info, warn, error)."""
    from system import util
    logging.basicConfig(stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: "
                                                  "%(message)s")
    util.setLoggingLevel("exchange.workflows", level)


class HeadlessExecutor(object):
    """Calls ``dispatch()`` with a fixed delay between calls, like the gateway timer."""

    def __init__(self, periodSeconds=1.0, dbName=None):
        self.periodSeconds = periodSeconds
        self.dbName = dbName
        self.stopping = threading.Event()
        self.ticks = 0

    def tick(self):
        """One timer event: the one-line timer script of a gateway."""
        import exchange.workflows.api.service as service
        self.ticks += 1
        return service.dispatch(dbName=self.dbName)

    def run(self, until=None):
        """Tick until ``until()`` is true or ``stop()`` is called."""
        while not self.stopping.is_set():
            result = self.tick()
            if not result["ok"]:
                print("dispatch: %s %s" % (result["code"], result["message"]), file=sys.stderr)
            if until is not None and until():
                return True
            self.stopping.wait(self.periodSeconds)
        return False

    def stop(self):
        self.stopping.set()


def shutDown(graceSeconds, dbName=None):
    """Leave cleanly: store in-memory requests, claim nothing more, let running workflows
    finish for up to ``graceSeconds`` (renewing the lease), then retire (what still runs
    goes back to its queue at once)."""
    import exchange.workflows.api.lifecycle as lifecycle
    lifecycle.onShutdown()
    return lifecycle.retire(graceSeconds, dbName=dbName)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dsn", default=os.environ.get("WORKFLOWS_DSN"),
                        help="libpq DSN of the system database (default: $WORKFLOWS_DSN)")
    parser.add_argument("--project", action="append", default=[],
                        help="an Ignition project folder whose script library to load")
    parser.add_argument("--module", action="append", default=[],
                        help="a module that defines workflows (repeatable)")
    parser.add_argument("--period", type=float, default=1.0, help="seconds between dispatches")
    parser.add_argument("--threads", type=int, default=None, help="worker threads")
    parser.add_argument("--name", default=None,
                        help="this executor's stable name (default host:pid)")
    parser.add_argument("--lease", type=float, default=None,
                        help="lease seconds (default 30; keep it >= 3 periods)")
    parser.add_argument("--idle-poll-ms", type=int, default=None,
                        help="how often the idle lookout looks, ms (default 50; 0: off)")
    parser.add_argument("--grace", type=float, default=10.0,
                        help="seconds running workflows get to finish on SIGTERM")
    parser.add_argument("--log-level", default="warn", choices=LOG_LEVELS,
                        help="log lines of the engine shown on stderr (default: warn)")
    args = parser.parse_args(argv)
    if not args.dsn:
        parser.error("--dsn or WORKFLOWS_DSN is required")
    for folder in args.project:
        problem = checkProject(folder)
        if problem:
            parser.error(problem)
    configureLogging(args.log_level)
    started = boot(args.dsn, args.project, args.module, workerThreads=args.threads,
                   name=args.name, leaseSeconds=args.lease, idlePollMs=args.idle_poll_ms)
    executor = HeadlessExecutor(args.period)
    signal.signal(signal.SIGTERM, lambda *_: executor.stop())  # (before anyone knows us)
    print("EXECUTOR %s" % started["data"]["executorId"])
    sys.stdout.flush()
    try:
        executor.run()
    except KeyboardInterrupt:
        executor.stop()
    retired = shutDown(args.grace)
    print("%s: %s" % (retired["code"], retired["message"]), file=sys.stderr)


if __name__ == "__main__":
    main()
