"""Run the suite under standalone Jython 2.7 with the gateway simulator over pgJDBC.

    jython tests/jython_suite.py [-v|-q] [--log LEVEL] [module | module.Class | module.Class.test ...]

Usually through ``make test-jython`` (tests/tools/with_database.py makes a throwaway
database and sets the environment). Needs:

* ``WORKFLOWS_TEST_DSN_DB``: libpq DSN of a database the tests may create tables in
  (``host=... port=... user=... dbname=...``). Missing -> exit 2, nothing runs.
* pgJDBC: on CLASSPATH, else /usr/share/java/postgresql.jar (Debian package
  libpostgresql-jdbc-java) or $PGJDBC_JAR is added to sys.path.

Sets up what tests/conftest.py sets up for pytest: tests/gateway and tests on sys.path,
the script-library loader with the engine, example and fixture projects, and
``dsnProvider`` of every test module that has one. Runs the unittest modules in SUITE (or
the names given), prints unittest's summary and exits 0 only when every test passed
(and at least one ran). It exits through System.exit so that no stray non-daemon thread
can keep the JVM alive. Python logging is silent unless ``--log LEVEL`` (e.g. WARNING)
sends it to stderr.
"""
from __future__ import print_function

import logging
import os
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no $py.class files beside the sources

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))

# The unittest modules this runner runs by default (module names under tests/).
SUITE = [
    "test_simulator_contract",
    "test_schema_and_dispatch",
    "test_enqueue_and_reading",
    "test_durable_execution",
    "test_kept_checkpoints",
    "test_group_commit",
    "test_pool_turns",
    "test_parallel_steps",
    "test_guards_and_limits",
    "test_gateway_platform",
    "test_operator_commands",
    "test_durable_waits",
    "test_children",
    "test_plant_tags",
    "test_maintenance",
    "test_queues",
    "test_recovery",
    "test_clients",
    "test_caller_mistakes",
    "test_selftest",
    "test_console_runs",
    "test_views",
    "test_console_ops",
    "test_templates",
    "test_console_catalog",
    "test_plant_io",
    "test_aliases",
    "test_schedules",
    "test_fork_and_versions",
    "test_retention_policies",
    "test_inspection",
    "test_debounce",
    "test_lookout",
]

DSN_ENV = "WORKFLOWS_TEST_DSN_DB"
JAR_ENV = "PGJDBC_JAR"
DEFAULT_JAR = "/usr/share/java/postgresql.jar"


def _setUpPaths():
    for path in (TESTS_DIR, os.path.join(TESTS_DIR, "gateway")):
        if path not in sys.path:
            sys.path.insert(0, path)


def _ensureJdbcDriver():
    """pgJDBC importable, from CLASSPATH or by adding the jar to sys.path; else a message."""
    try:
        import org.postgresql.Driver  # noqa: F401  # novm
        return None
    except ImportError:
        pass
    jar = os.environ.get(JAR_ENV) or DEFAULT_JAR
    if not os.path.isfile(jar):
        return ("pgJDBC not found: put its jar on CLASSPATH or set %s (Debian package "
                "libpostgresql-jdbc-java installs %s)" % (JAR_ENV, DEFAULT_JAR))
    sys.path.append(jar)
    try:
        import org.postgresql.Driver  # noqa: F401,F811  # novm
        return None
    except ImportError as e:
        return "pgJDBC jar %s could not be loaded: %s" % (jar, e)


def _installLoader():
    from simulator import loader
    loader.install([loader.engineRoot(),
                    loader.projectRoot(os.path.join(TESTS_DIR, "example_project")),
                    loader.projectRoot(os.path.join(TESTS_DIR, "fixture_project"))])


def _parse(argv):
    """(verbosity, logging level or None, test names) from the command line."""
    verbosity = 1
    logLevel = None
    names = []
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg in ("-v", "--verbose"):
            verbosity = 2
        elif arg in ("-q", "--quiet"):
            verbosity = 0
        elif arg == "--log" and args:
            logLevel = args.pop(0).upper()
        elif arg in ("-h", "--help"):
            print(__doc__)
            raise SystemExit(0)
        elif arg.startswith("-"):
            raise SystemExit("unknown option %s (see --help)" % arg)
        else:
            name = arg[:-3] if arg.endswith(".py") else arg
            name = name.replace("/", ".")
            names.append(name[len("tests."):] if name.startswith("tests.") else name)
    return verbosity, logLevel, names or list(SUITE)


def _load(names, dsn):
    """A TestSuite for the names; each module's ``dsnProvider`` answers ``dsn``."""
    suite = unittest.TestSuite()
    for name in names:
        module = __import__(name.split(".")[0])
        if getattr(module, "dsnProvider", False) is None:
            module.dsnProvider = lambda: dsn
        suite.addTests(unittest.defaultTestLoader.loadTestsFromName(name))
    return suite


def main(argv):
    verbosity, logLevel, names = _parse(argv)
    if logLevel:
        logging.basicConfig(level=logLevel, format="%(levelname)s %(name)s: %(message)s")
    else:
        logging.getLogger().addHandler(logging.NullHandler())  # novm
    _setUpPaths()
    dsn = os.environ.get(DSN_ENV)
    if not dsn:
        print("jython_suite: %s is not set: give it the libpq DSN of a database the tests "
              "may use, or run `make test-jython`" % DSN_ENV, file=sys.stderr)
        return 2
    problem = _ensureJdbcDriver()
    if problem:
        print("jython_suite: " + problem, file=sys.stderr)
        return 2
    _installLoader()
    print("jython_suite: %s on %s, modules: %s" % (sys.version.split()[0], sys.platform,
                                                    " ".join(names)))
    started = time.time()
    result = unittest.TextTestRunner(stream=sys.stderr, verbosity=verbosity).run(
        _load(names, dsn))
    from simulator import gateway
    try:
        gateway.closeAll()
    except Exception:  # the summary above matters more than a failed cleanup
        pass
    ok = result.wasSuccessful() and result.testsRun > 0
    print("jython_suite: %d run, %d failures, %d errors, %d skipped in %.1fs: %s"
          % (result.testsRun, len(result.failures), len(result.errors),
             len(result.skipped), time.time() - started, "OK" if ok else "FAILED"))
    return 0 if ok else 1


def _exit(code):
    """Exit now: flush and System.exit, so lingering non-daemon threads cannot hang us."""
    sys.stdout.flush()
    sys.stderr.flush()
    if sys.platform.startswith("java"):
        from java.lang import System  # novm
        System.exit(code)
    os._exit(code)


if __name__ == "__main__":
    try:
        status = main(sys.argv[1:])
    except SystemExit as e:
        status = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
        if not isinstance(e.code, int) and e.code is not None:
            print(e.code, file=sys.stderr)
    except:  # noqa: E722 - Python and Java errors alike: report, then still exit
        import traceback
        traceback.print_exc()
        status = 1
    _exit(status)
