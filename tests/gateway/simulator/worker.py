"""A headless executor: the gateway simulator running the dispatch timer loop.

What a gateway does with its 1 s fixed-delay timer script, as a process of its own: any
number of these (and gateways) may share one system database. Run it as

    python tests/gateway/simulator/worker.py --dsn "host=... dbname=..." \\
        --project tests/example_project --module demo.workflows.mixing
"""
from __future__ import absolute_import, division, print_function

import argparse  # novm
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from simulator import gateway, loader  # noqa: E402


def boot(dsn, projects=(), modules=(), dbName="WorkflowsDB", workerThreads=None):
    """Make this process a gateway: datasource, script libraries, schema, user modules."""
    loader.install([loader.engineRoot()] + [loader.projectRoot(p) for p in projects])
    gateway.addDatabase(dbName, dsn)
    gateway.setDefaultDatabase(dbName)
    import exchange.workflows.api.admin as admin
    if workerThreads:
        _check(admin.configure(workerThreads=workerThreads))
    _check(admin.installSchema(dbName=dbName))
    if modules:
        _check(admin.registerWorkflowModules(list(modules)))
    return admin


def _check(envelope):
    if not envelope["ok"]:
        raise SystemExit("%s: %s" % (envelope["code"], envelope["message"]))
    return envelope


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
    args = parser.parse_args(argv)
    if not args.dsn:
        parser.error("--dsn or WORKFLOWS_DSN is required")
    boot(args.dsn, args.project, args.module, workerThreads=args.threads)
    executor = HeadlessExecutor(args.period)
    try:
        executor.run()
    except KeyboardInterrupt:
        executor.stop()


if __name__ == "__main__":
    main()
