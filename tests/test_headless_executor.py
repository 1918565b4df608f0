"""The headless executor (tests/gateway/simulator/worker.py) tells what is wrong with its
command line before it starts, explains a module that does not import, and shows the
engine's log lines from the level asked for. CPython, real processes."""
from __future__ import absolute_import, division, print_function

import os
import subprocess
import sys

import pytest

from executors import FIXTURE_PROJECT, WORKER


@pytest.fixture
def engine(client):
    """This test process is a client: the only executors are the workers it starts."""
    return client


def worker(gw, *options, **kwargs):
    command = [sys.executable, WORKER, "--dsn", gw.dsn, "--period", "0.2"] + list(options)
    return subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=kwargs.get("timeout", 60))


def test_a_misspelled_project_or_module_is_explained(engine):
    gw = engine.gw
    missing = worker(gw, "--project", FIXTURE_PROJECT + "x", "--module", "testing.flows")
    assert missing.returncode == 2
    assert b"--project %sx: no such folder" % FIXTURE_PROJECT.encode() in missing.stderr
    notProject = worker(gw, "--project", os.path.dirname(FIXTURE_PROJECT))
    assert notProject.returncode == 2 and b"not an Ignition project" in notProject.stderr
    misspelled = worker(gw, "--project", FIXTURE_PROJECT, "--module", "testing.flow")
    err = misspelled.stderr.decode()
    assert misspelled.returncode != 0 and b"EXECUTOR" not in misspelled.stdout
    assert "could not import testing.flow (" in err and "No module named" in err, err
    assert "modules the --project folders offer: " in err and "testing.flows" in err, err
    alive = gw.sql("SELECT count(*) FROM workflows.executors WHERE retired_at_ms IS NULL")
    assert alive == [(0,)], "a worker that did not start left a live executor row"


def test_log_level_shows_the_engines_info_lines(engine):
    gw = engine.gw
    process = subprocess.Popen([sys.executable, WORKER, "--dsn", gw.dsn, "--project",
                                FIXTURE_PROJECT, "--module", "testing.flows", "--period",
                                "0.2", "--log-level", "info"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stdout.readline().startswith(b"EXECUTOR ")
    finally:
        process.terminate()
        _, err = process.communicate(timeout=30)
    assert b"INFO exchange.workflows.lifecycle: executor " in err, err
    assert b"started (generation 1" in err and b"retired; 0 run(s) given back" in err, err
    quiet = worker(gw, "--project", FIXTURE_PROJECT, "--log-level", "loud")
    assert quiet.returncode == 2 and b"invalid choice: 'loud'" in quiet.stderr
