"""Which PostgreSQL the suite runs on (tests/gateway/simulator/pgserver.py): the DSN of
$WORKFLOWS_TEST_DSN, else a container when a Docker daemon answers, else the embedded
server; WORKFLOWS_TEST_SERVER forces one. The Docker check runs against fake ``docker``
executables (CPython only: it starts embedded servers, which the Jython run does not have).
The container itself runs only where a Docker daemon answers."""
from __future__ import absolute_import, division, print_function

import os
import stat
import time

import psycopg2
import pytest

from simulator import pgserver

# A docker client with no daemon behind it, as `docker` answers then: it knows its own
# version, and every command that asks the daemon fails at once.
CLIENT_ONLY = """#!/bin/sh
if [ "$1" = "--version" ]; then echo "Docker version 28.2.2, build e6534b4"; exit 0; fi
echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock." >&2
exit 1
"""
DAEMON = """#!/bin/sh
echo "28.2.2"
exit 0
"""
HUNG_DAEMON = """#!/bin/sh
exec sleep 600
"""
OWN_DSN = "WF_SERVER_CHOICE_DSN"  # the DSN variable of these tests (not the session's)


@pytest.fixture
def fakeDocker(tmp_path, monkeypatch):
    """Put a ``docker`` with the given script first on PATH."""
    def install(script):
        folder = tmp_path / "bin"
        folder.mkdir(exist_ok=True)
        exe = folder / "docker"
        exe.write_text(script)
        exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        monkeypatch.setenv("PATH", str(folder) + os.pathsep + os.environ.get("PATH", ""))
    return install


@pytest.fixture
def cleanChoice(monkeypatch):
    """No forced choice, no other binaries, no DSN: what a fresh shell has."""
    for var in (pgserver.CHOICE_ENV, pgserver.BIN_ENV, OWN_DSN):
        monkeypatch.delenv(var, raising=False)
    # Where a daemon runs, testcontainers must not find it through the socket either.
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")


def test_no_docker_on_the_path_means_no_daemon(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert pgserver.dockerAnswers() is False


def test_a_docker_client_without_a_daemon_is_not_a_daemon(fakeDocker):
    fakeDocker(CLIENT_ONLY)
    assert pgserver.dockerAnswers() is False


def test_a_daemon_that_answers_is_seen(fakeDocker):
    fakeDocker(DAEMON)
    assert pgserver.dockerAnswers() is True


def test_a_daemon_that_does_not_answer_is_given_up_on(fakeDocker):
    fakeDocker(HUNG_DAEMON)
    began = time.time()
    assert pgserver.dockerAnswers(timeout=0.5) is False
    assert time.time() - began < 60, "the check waited for the hung daemon"


def _choose(environ, docker=True, container=True):
    asked = []

    def check():
        asked.append(True)
        return docker
    kind, why = pgserver.chooseServer(OWN_DSN, container, environ, check)
    return kind, why, bool(asked)


def test_a_dsn_wins_over_everything():
    environ = {OWN_DSN: "host=db", pgserver.CHOICE_ENV: "container",
               pgserver.BIN_ENV: "/opt/pg14/bin"}
    assert _choose(environ) == ("dsn", "$" + OWN_DSN, False)


def test_without_a_dsn_a_container_when_docker_answers_else_embedded():
    assert _choose({}, docker=True) == ("container", "a Docker daemon answered", True)
    assert _choose({}, docker=False) == ("embedded", "no Docker daemon answered", True)
    assert _choose({pgserver.CHOICE_ENV: "auto"}, docker=True)[0] == "container"


def test_the_choice_can_be_forced_without_asking_docker():
    forced = pgserver.CHOICE_ENV + "="
    assert _choose({pgserver.CHOICE_ENV: "embedded"}, docker=True) == (
        "embedded", forced + "embedded", False)
    assert _choose({pgserver.CHOICE_ENV: " Container "}, docker=False) == (
        "container", forced + "container", False)


def test_other_binaries_choose_the_embedded_server():
    kind, why, asked = _choose({pgserver.BIN_ENV: "/opt/pg14/bin"}, docker=True)
    assert (kind, asked) == ("embedded", False)
    assert pgserver.BIN_ENV in why


def test_a_caller_that_allows_no_container_gets_the_embedded_server():
    environ = {pgserver.CHOICE_ENV: "container"}
    assert _choose(environ, docker=True, container=False)[:2] == (
        "embedded", "$%s is unset" % OWN_DSN)


def test_an_unknown_choice_is_refused():
    with pytest.raises(ValueError) as raised:
        _choose({pgserver.CHOICE_ENV: "podman"})
    assert pgserver.CHOICE_ENV in str(raised.value)


def _answers(dsn):
    try:
        psycopg2.connect(dsn, connect_timeout=5).close()
        return True
    except psycopg2.OperationalError:
        return False


def test_a_container_that_does_not_start_falls_back_to_the_embedded_server(
        fakeDocker, cleanChoice):
    # The CLI says a daemon answers; testcontainers cannot reach one (DOCKER_HOST).
    fakeDocker(DAEMON)
    dsn, stopper = pgserver.serverFromEnv(OWN_DSN, container=True)
    try:
        assert isinstance(stopper.server, pgserver.EmbeddedPostgres)
        assert stopper.server.running
        assert "embedded (the container did not start: " in stopper.description
        assert stopper.description.startswith(
            "PostgreSQL %s " % pgserver.serverVersion(dsn))
        name, dbDsn = pgserver.createDatabase(dsn, "wf_choice")
        pgserver.dropDatabase(dsn, name)
    finally:
        stopper()
    assert not _answers(dsn)


def test_a_forced_container_that_does_not_start_is_an_error(cleanChoice, monkeypatch):
    monkeypatch.setenv(pgserver.CHOICE_ENV, "container")
    started = []
    monkeypatch.setattr(pgserver, "EmbeddedPostgres",
                        lambda *a, **k: started.append(True))
    with pytest.raises(Exception):  # testcontainers' own error: no daemon at DOCKER_HOST
        pgserver.serverFromEnv(OWN_DSN, container=True)
    assert started == []


def test_no_daemon_gives_the_embedded_server(fakeDocker, cleanChoice):
    fakeDocker(CLIENT_ONLY)
    dsn, stopper = pgserver.serverFromEnv(OWN_DSN, container=True)
    try:
        assert stopper.server is not None and _answers(dsn)
        assert stopper.description.endswith("embedded (no Docker daemon answered)")
    finally:
        stopper()


def test_a_dsn_is_used_as_it_is_and_left_running(pgServer, cleanChoice, monkeypatch):
    monkeypatch.setenv(OWN_DSN, pgServer)
    dsn, stopper = pgserver.serverFromEnv(OWN_DSN, container=True)
    assert dsn == pgServer and stopper.server is None
    assert stopper.description == "PostgreSQL %s at $%s" % (
        pgserver.serverVersion(pgServer), OWN_DSN)
    stopper()
    assert _answers(pgServer)


@pytest.mark.skipif(not pgserver.dockerAnswers(), reason="no Docker daemon answers here")
def test_the_container_runs_the_recommended_version_and_is_removed(monkeypatch):
    for var in (pgserver.BIN_ENV, OWN_DSN):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv(pgserver.CHOICE_ENV, "container")
    dsn, stopper = pgserver.serverFromEnv(OWN_DSN, container=True)
    try:
        assert stopper.server is None and "Docker container" in stopper.description
        major = pgserver.POSTGRES_IMAGE.split(":")[1].split(".")[0]
        assert pgserver.serverVersion(dsn).split(".")[0] == major
        name, dbDsn = pgserver.createDatabase(dsn, "wf_choice")
        assert _answers(dbDsn)
        pgserver.dropDatabase(dsn, name)
    finally:
        stopper()
    assert not _answers(dsn)
