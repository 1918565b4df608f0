"""The peer part of ``make bench``: DBOS Transact on the bench's workloads, in the same run.

    .venv/bin/python tests/bench/peers/run.py [--json PATH] [--quick] [--peers dbos]
        [--poll S] [--worker-concurrency N] [--pool N]

Installs DBOS Transact (the versions pinned in ``requirements-dbos.txt``) into a venv of its
own, ``.venv-peers/dbos`` (git-ignored; made on first use, remade when the pins change), so
nothing of it reaches the project's venv. Then creates a throwaway system database on
``$WORKFLOWS_DSN``'s server (else on an embedded PostgreSQL, durability off, as bench.py
does), runs ``dbos_workload.py`` in that venv against it, drops the database and writes the
bench contract's JSON (part "peers"): figures "peer A", "peer B", "peer C" (and "peer B
statements") whose ``engine`` is DBOS's value and whose ``compareTo`` names the core part's
figure (4, 5, 3) that report.py pairs them with; ratios are left to report.py.
"""
import argparse
import hashlib
import json
import os
import platform as pyplatform
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
TESTS = os.path.dirname(BENCH)
REPO = os.path.dirname(TESTS)
sys.path[:0] = [os.path.join(TESTS, "gateway"), TESTS]

from simulator import pgserver  # noqa: E402

PEERS = ("dbos",)
VENVS = os.path.join(REPO, ".venv-peers")
REQUIREMENTS = os.path.join(HERE, "requirements-dbos.txt")
WORKLOAD = os.path.join(HERE, "dbos_workload.py")
STAMP = ".installed"   # in the venv: the hash of the requirements it was made from


def parseArgs(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", default=None,
                        help="where to write the part's JSON (default "
                             "tests/bench/results/latest/peers-<interpreter>.json)")
    parser.add_argument("--quick", action="store_true", help="every count divided by 10")
    parser.add_argument("--peers", default=os.environ.get("BENCH_PEERS") or "dbos",
                        help="comma-separated peers to run (only 'dbos' exists)")
    parser.add_argument("--only", default="A,B,C", help="workloads to run")
    # DBOS's settings; the defaults are the best of a sweep on 2 cores (README.md)
    parser.add_argument("--poll", type=float, default=0.01,
                        help="the queue's polling_interval_sec")
    parser.add_argument("--worker-concurrency", type=int, default=32,
                        help="the queue's worker_concurrency")
    parser.add_argument("--pool", type=int, default=40, help="DBOS's sys_db_pool_size")
    args = parser.parse_args(argv)
    args.peers = [p.strip().lower() for p in args.peers.split(",") if p.strip()]
    unknown = [p for p in args.peers if p not in PEERS]
    if unknown:
        parser.error("unknown peer(s) %s; known: %s" % (", ".join(unknown), ", ".join(PEERS)))
    return args


# ---------------------------------------------------------------------------------------
# the peer's venv
# ---------------------------------------------------------------------------------------
def venvPython(venv):
    return os.path.join(venv, "Scripts" if os.name == "nt" else "bin", "python")


def ensureVenv(venv, requirements):
    """The venv's python, made (or remade) from ``requirements`` unless its stamp says it
    already was. Raises RuntimeError with pip's own words when the install fails."""
    with open(requirements, "rb") as handle:
        wanted = hashlib.sha256(handle.read()).hexdigest()
    stamp = os.path.join(venv, STAMP)
    try:
        with open(stamp) as handle:
            if handle.read().strip() == wanted and os.path.exists(venvPython(venv)):
                return venvPython(venv)
    except (IOError, OSError):
        pass
    print("installing the peer into %s (from %s)" % (os.path.relpath(venv, REPO),
                                                     os.path.relpath(requirements, REPO)))
    sys.stdout.flush()
    # the base interpreter, not this venv's, so the peer's venv does not nest in ours
    base = getattr(sys, "_base_executable", None) or sys.executable
    steps = [[base, "-m", "venv", "--clear", venv],
             [venvPython(venv), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
              "-r", requirements]]
    for command in steps:
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if done.returncode != 0:
            text = done.stdout.decode("utf-8", "replace")
            lines = [line for line in text.splitlines() if not line.startswith("WARNING: Location")]
            raise RuntimeError("%s failed (exit %d):\n%s" % (" ".join(command[-3:]),
                                                             done.returncode,
                                                             "\n".join(lines[-20:])))
    with open(stamp, "w") as handle:
        handle.write(wanted + "\n")
    return venvPython(venv)


# ---------------------------------------------------------------------------------------
# the contract's JSON
# ---------------------------------------------------------------------------------------
def figure(fid, title, value, unit, higherIsBetter, compareTo, notes, details=None, aim=None,
           aimAt=None):
    """One figure of the part: ``engine`` is the peer's value (the field name is the
    contract's); no baseline and no ratio, report.py pairs it with the core figure
    ``compareTo`` (same unit) and computes engine / peer. ``aimAt``: (figure id, settings),
    the engine's figure measured at the peer's settings, on which report.py judges the aim
    when that figure ran with these settings."""
    entry = {"id": fid, "title": title, "engine": value, "unit": unit,
             "higherIsBetter": higherIsBetter, "baseline": None, "baselineLabel": None,
             "ratio": None, "aim": aim, "met": None, "compareTo": compareTo, "peer": "dbos",
             "notes": notes, "details": details or {}}
    if aimAt:
        entry["aimAt"], entry["aimAtSettings"] = aimAt
    return entry


def dbosFigures(out, settings):
    """The figures of one DBOS run (``out`` as dbos_workload.py wrote it); a workload that
    failed gives its figures a null value and the error as notes."""
    results = out.get("results", {})
    a, b, c = results.get("A", {}), results.get("B", {}), results.get("C", {})
    figures = []

    def value(result, key):
        return None if "error" in result else result.get(key)

    ran = out.get("settings") or {}
    # bench.py's figure 4d: the engine with as many workers on as large a pool
    engineAt = ("4d", {"workers": ran.get("workerConcurrency"), "pool": ran.get("sysDbPoolSize")})
    if a:
        figures.append(figure(
            "peer A", "DBOS %s: end to end three_steps, %s queued"
            % (out["dbos"], format(a.get("runs", 0), ",")),
            value(a, "rate"), "wf/s", True, "4",
            a.get("error") or "enqueued onto a paused Queue, then released (worker_concurrency "
            "set): %d SUCCESS in %.2f s%s; %.2f statements per workflow counted (%.2f on the "
            "executor threads, the rest queue polls); %s"
            % (a["done"], a["elapsed"], " CAPPED" if a["capped"] else "",
               a["statementsPerWorkflow"], a["workflowThreadStatementsPerWorkflow"], settings),
            a, aim="the engine at least 10x DBOS (issue 18)", aimAt=engineAt))
    if b:
        figures.append(figure(
            "peer B", "DBOS %s: per step (noop_steps(10) - noop_steps(0), %d runs each)"
            % (out["dbos"], b.get("runs", 0)), value(b, "wallMsPerStep"), "ms", False, "5",
            b.get("error") or "wall clock (time10 - time0) / (10 M); inside a run (completed_at -"
            " started_at) %.3f ms per step with up to %s runs at once; %s"
            % (b["inRunMsPerStep"], out["settings"]["workerConcurrency"], settings),
            dict((k, v) for k, v in b.items() if k not in ("zero", "ten"))))
        figures.append(figure(
            "peer B statements", "DBOS %s: statements per step" % out["dbos"],
            value(b, "statementsPerStep"), "statements", False, "5",
            b.get("error") or "counted (SQLAlchemy before_cursor_execute on DBOS's system "
            "database engine, executor threads only): (noop_steps(10) - noop_steps(0)) / 10"))
    if c:
        figures.append(figure(
            "peer C", "DBOS %s: durable enqueue per call (Queue.enqueue, one thread, nothing "
            "executing)" % out["dbos"], value(c, "meanMs"), "ms", False, "3",
            c.get("error") or "%d calls onto a paused queue: mean %.3f ms, p50 %.3f ms, p99 "
            "%.3f ms; %.2f statements per call" % (c["calls"], c["meanMs"], c["p50Ms"],
                                                   c["p99Ms"], c["statementsPerCall"]), c))
    return figures


def runDbos(args, adminDsn):
    """Install, run and clean up DBOS; returns (workload output, settings text)."""
    python = ensureVenv(os.path.join(VENVS, "dbos"), REQUIREMENTS)
    name, dsn = pgserver.createDatabase(adminDsn, "wf_peer_dbos")
    handle, outPath = tempfile.mkstemp(prefix="peer-dbos-", suffix=".json")
    os.close(handle)
    try:
        command = [python, WORKLOAD, "--dsn", dsn, "--out", outPath, "--only", args.only,
                   "--poll", str(args.poll), "--worker-concurrency", str(args.worker_concurrency),
                   "--pool", str(args.pool)] + (["--quick"] if args.quick else [])
        child = subprocess.Popen(command, stderr=subprocess.PIPE)
        last = ""
        for line in child.stderr:  # passed on as it comes; its last line names the error
            text = line.decode("utf-8", "replace")
            sys.stderr.write(text)
            last = text.strip() or last
        if child.wait() != 0:
            raise RuntimeError("dbos_workload.py exited %d: %s" % (child.returncode, last))
        with open(outPath) as handle:
            out = json.load(handle)
    finally:
        os.unlink(outPath)
        pgserver.dropDatabase(adminDsn, name)
    settings = ("queue polling_interval_sec=%g, worker_concurrency=%d, sys_db_pool_size=%d, "
                "max_executor_threads unbounded, log_level WARNING"
                % (args.poll, args.worker_concurrency, args.pool))
    return out, settings


def main(argv=None):
    args = parseArgs(sys.argv[1:] if argv is None else argv)
    begun = time.time()
    print("DBOS Transact peer (%s)" % ("--quick: counts / 10" if args.quick else "full counts"))
    adminDsn, stop = pgserver.serverFromEnv("WORKFLOWS_DSN")
    part = {"part": "peers", "interpreter": None, "quick": args.quick,
            "machine": {"cpus": os.cpu_count(), "postgres": None,
                        "platform": pyplatform.platform(terse=True)},
            "server": stop.description, "peers": {}, "figures": []}
    failed = None
    try:
        part["machine"]["postgres"] = pgserver.serverVersion(adminDsn)
        print("  database: %s" % stop.description)
        out, settings = runDbos(args, adminDsn)
        part["interpreter"] = out["python"]
        part["peers"]["dbos"] = {"version": out["dbos"], "settings": out["settings"],
                                 "seconds": out["seconds"]}
        part["figures"].extend(dbosFigures(out, settings))
    except Exception as error:  # noqa: B902
        failed = "%s: %s" % (type(error).__name__, error)
        print("the DBOS peer failed: %s" % failed)
        part["error"] = failed
        part["figures"] = [figure(fid, "DBOS: " + what, None, unit, higher, to, failed)
                           for fid, what, unit, higher, to in (
                               ("peer A", "end to end three_steps", "wf/s", True, "4"),
                               ("peer B", "per step", "ms", False, "5"),
                               ("peer C", "durable enqueue per call", "ms", False, "3"))]
    finally:
        stop()
    interpreter = (part["interpreter"] or "cpython").split()[0]
    path = args.json or os.path.join(BENCH, "results", "latest", "peers-%s.json" % interpreter)
    if os.path.dirname(path) and not os.path.isdir(os.path.dirname(path)):
        os.makedirs(os.path.dirname(path))
    with open(path, "w") as handle:
        json.dump(part, handle, indent=2, sort_keys=True)
    print("  figures :")
    for fig in part["figures"]:
        shown = "failed" if fig["engine"] is None else "%.3f %s" % (fig["engine"], fig["unit"])
        print("    %-18s %-16s (pairs with the engine's figure %s)" % (fig["id"], shown,
                                                                    fig["compareTo"]))
    print("  wrote %s in %.0f s" % (path, time.time() - begun))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
