"""The repository is an importable Ignition project, and the library keeps its own rules."""
from __future__ import absolute_import, division, print_function

import json
import os
import re

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROJECT = os.path.join(REPO, "ignition")
LIBRARY = os.path.join(PROJECT, "ignition", "script-python", "exchange", "workflows")


def modules():
    for folder, _dirs, files in os.walk(LIBRARY):
        if "code.py" in files:
            yield folder, os.path.join(folder, "code.py")


def test_project_json_describes_an_ignition_project():
    with open(os.path.join(PROJECT, "project.json")) as handle:
        project = json.load(handle)
    assert project["title"] and project["enabled"] is True and project["parent"] == ""


def test_library_has_the_four_packages():
    for package in ("api", "engine", "db", "maintenance"):
        assert os.path.isdir(os.path.join(LIBRARY, package)), package


def test_every_module_is_a_script_resource():
    found = 0
    for folder, _code in modules():
        found += 1
        with open(os.path.join(folder, "resource.json")) as handle:
            resource = json.load(handle)
        assert resource["scope"] == "A" and resource["files"] == ["code.py"], folder
        assert os.path.basename(folder) != "__init__", "Ignition has no package initialisers"
    assert found >= 15
    for folder, _dirs, files in os.walk(LIBRARY):
        if "resource.json" in files:
            assert "code.py" in files, "resource without code: " + folder


def test_every_module_says_why_it_exists():
    for _folder, code in modules():
        with open(code) as handle:
            text = handle.read()
        assert text.lstrip().startswith('"""'), code + " has no module docstring"
        assert "from __future__ import absolute_import" in text, code


SQL = re.compile(r"\b(INSERT\s+INTO|DELETE\s+FROM|UPDATE\s+\{schema\}|SELECT\s+[\w*(].*\bFROM\b)")


def test_every_sql_statement_of_the_system_database_lives_in_db():
    for folder, code in modules():
        if os.sep + "db" + os.sep in folder + os.sep:
            continue
        with open(code) as handle:
            text = handle.read()
        assert not SQL.search(text), code + " contains SQL; it belongs in db/"
