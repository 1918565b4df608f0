"""Each setting is declared once, as a row of settings.SETTINGS: the engine's getter reads
the row's key and default, and the manual's configure table shows the row's doc.

No database: the configuration map is a fresh one (platform.newConcurrentMap) for each test.
"""
from __future__ import absolute_import, division, print_function

import os
import re

import pytest

from exchange.workflows import platform, settings

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MANUAL = os.path.join(REPO, "docs", "api.md")
LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")

# What the engine reads for each setting, in the units configure and getEngineInfo show it
READ = {"defaultDatabase": lambda: settings.databaseName(),
        "schemaName": lambda: settings.schemaName(),
        "workerThreads": settings.workerThreads,
        "claimBatch": settings.claimBatch,
        "memoryQueueCapacity": settings.memoryQueueCapacity,
        "memoryQueueOverflow": settings.memoryQueueOverflow,
        "startOnEnqueue": settings.startOnEnqueue,
        "idlePollMs": settings.idlePollMs,
        "leaseSeconds": lambda: settings.leaseMs() / 1000.0,
        "executorName": lambda: settings.executorName() or platform.defaultExecutorName(),
        "maxRecoveryAttempts": settings.maxRecoveryAttempts,
        "commandRoles": lambda: settings.requiredRoles("command"),
        "promptRoles": lambda: settings.requiredRoles("prompt"),
        "adminRoles": lambda: settings.requiredRoles("admin"),
        "appVersion": settings.appVersion,
        "compatibleVersions": lambda: settings.runnableVersions()[1:]}
# A value other than the default for each, as configure is given it
OTHER = {"defaultDatabase": "OtherDB", "schemaName": "other_schema", "workerThreads": 3,
         "claimBatch": 5, "memoryQueueCapacity": 7, "memoryQueueOverflow": "dropOldest",
         "startOnEnqueue": False, "idlePollMs": 20, "leaseSeconds": 2.5, "executorName": "mixer-9",
         "maxRecoveryAttempts": 0, "commandRoles": ["A"], "promptRoles": ["B"],
         "adminRoles": ["C"], "appVersion": "2", "compatibleVersions": ["1"]}


@pytest.fixture
def config(monkeypatch):
    fresh = platform.newConcurrentMap()
    monkeypatch.setattr(settings, "_config", lambda: fresh)
    return fresh


def names():
    return sorted(row.name for row in settings.SETTINGS)


def test_on_a_fresh_configuration_every_row_shows_what_the_engine_reads(config):
    assert sorted(READ) == names() == sorted(OTHER), "a setting this test does not read"
    shown = dict((row.name, row.shown()) for row in settings.SETTINGS)
    assert shown == dict((name, read()) for name, read in READ.items())
    assert shown["workerThreads"] == settings.DEFAULT_WORKER_THREADS  # (a fresh map)


def test_a_value_stored_under_a_rows_key_is_what_its_getter_reads(config):
    for row in settings.SETTINGS:
        before = READ[row.name]()
        config.put(row.storedKey(), row.check(OTHER[row.name]))
        assert row.shown() == READ[row.name]() != before, row.name


def configureTable():
    """{parameter: its cell} of the parameter table under "### configure" in the manual."""
    with open(MANUAL) as handle:
        section = handle.read().split(u"\n### configure\n", 1)[1].split(u"\n### ", 1)[0]
    rows = [line.strip(u"|").split(u"|", 1) for line in section.splitlines()
            if line.startswith(u"| `")]
    return dict((name.strip().strip(u"`"), cell.strip().rstrip(u"|").strip())
                for name, cell in rows if cell.count(u"|") == 0)


def plain(cell):
    """A cell as text: links as their text, no backticks."""
    return LINK.sub(r"\1", cell).replace(u"`", u"")


def test_every_row_and_its_doc_is_in_the_manuals_configure_table():
    table = configureTable()
    assert sorted(table) == sorted(names() + ["dbName"])
    for row in settings.SETTINGS:
        assert u"\n" not in row.doc and 20 < len(row.doc) < 100, row.name
        assert row.doc in plain(table[row.name]), (
            "the manual's configure row of %s does not say the row's doc: %r"
            % (row.name, row.doc))
