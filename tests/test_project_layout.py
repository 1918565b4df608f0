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


# The 8.3 gateway event scripts: (folder, file, function, the call it must make, attributes).
EVENT_SCRIPTS = [
    ("startup", "onStartup.py", "onStartup", "exchange.workflows.api.lifecycle.onStartup",
     {"enabled": True}),
    ("shutdown", "onShutdown.py", "onShutdown", "exchange.workflows.api.lifecycle.onShutdown",
     {"enabled": True}),
    (os.path.join("timer", "dispatch"), "handleTimerEvent.py", "handleTimerEvent",
     "exchange.workflows.api.service.dispatch",
     {"enabled": True, "fixedDelay": True, "delay": 1000, "sharedThread": False}),
]


class _Recorder(object):
    """Stands in for the ``exchange`` package: records the dotted call a script makes."""

    def __init__(self, calls, path="exchange"):
        self._calls = calls
        self._path = path

    def __getattr__(self, name):
        return _Recorder(self._calls, self._path + "." + name)

    def __call__(self, *args, **kwargs):
        self._calls.append(self._path)


def test_gateway_event_scripts_are_one_line_calls_into_the_library():
    for folder, filename, function, call, attributes in EVENT_SCRIPTS:
        base = os.path.join(PROJECT, "ignition", folder)
        with open(os.path.join(base, "resource.json")) as handle:
            resource = json.load(handle)
        assert resource["scope"] == "G" and resource["files"] == [filename], folder
        for key, value in attributes.items():
            assert resource["attributes"][key] == value, (folder, key)
        with open(os.path.join(base, filename)) as handle:
            source = handle.read()
        assert source.startswith("def %s():" % function), filename
        calls = []
        namespace = {"exchange": _Recorder(calls)}
        exec(compile(source, filename, "exec"), namespace)
        namespace[function]()
        assert calls == [call], (filename, calls)
        # the library function the script names exists
        module, name = call.rsplit(".", 1)
        path = os.path.join(PROJECT, "ignition", "script-python", *module.split("."))
        with open(os.path.join(path, "code.py")) as handle:
            assert "def %s(" % name in handle.read(), call


DOCS = os.path.join(REPO, "docs")


def readDoc(name):
    with open(os.path.join(DOCS, name)) as handle:
        return handle.read()


def test_the_manual_shows_the_schema_version_the_code_installs():
    import exchange.workflows.db.schema as schema
    shown = re.findall(r"schema workflows is at version (\d+)", readDoc("getting-started.md"))
    assert shown and set(int(v) for v in shown) == set([schema.LATEST_VERSION]), shown
    listed = [int(v) for v in re.findall(r"^- version (\d+), \"", readDoc("architecture.md"),
                                          re.MULTILINE)]
    assert listed == [m[0] for m in schema.MIGRATIONS], listed


def test_the_manual_documents_every_option_of_the_headless_executor():
    with open(os.path.join(REPO, "tests", "gateway", "simulator", "worker.py")) as handle:
        options = set(re.findall(r'add_argument\("(--[a-z-]+)"', handle.read()))
    documented = set(re.findall(r"^\| `(--[a-z-]+)` \|", readDoc("operations.md"),
                                re.MULTILINE))
    assert options and options == documented, (options, documented)
    for doc in ("README.md",) + tuple(n for n in os.listdir(DOCS) if n.endswith(".md")):
        text = open(os.path.join(REPO, doc) if doc == "README.md"
                    else os.path.join(DOCS, doc)).read()
        bare = re.findall(r"(?<![/\w.])python3? tests/gateway/simulator/worker\.py", text)
        assert not bare, "%s runs the worker with a Python that lacks psycopg2" % doc


TOP_LEVEL = ("ignition", "tests", "docs", "docker-compose.yml", "Makefile", "mkdocs.yml",
             "README.md", "LICENSE")


def test_the_repository_top_level_holds_only_the_agreed_entries():
    import subprocess
    try:
        tracked = subprocess.check_output(["git", "-C", REPO, "ls-files"]).decode().split()
    except (OSError, subprocess.CalledProcessError):
        return  # (not a git checkout: an exported copy of the project)
    top = set(path.split("/")[0] for path in tracked)
    stray = sorted(name for name in top if name not in TOP_LEVEL and not name.startswith("."))
    assert stray == [], "not allowed at the top level: %s" % stray


MAX_POSITIONAL = 6


def positionalParameters(function):
    """The parameters a call must fill by position: those without a default (``self`` and
    ``cls`` aside). A parameter with a default is an option, named at the call (the public
    functions' options, as the manual documents them)."""
    names = [arg.arg for arg in function.args.args]
    required = names[:len(names) - len(function.args.defaults)]
    return [name for name in required if name not in ("self", "cls")]


def positionalArguments(call):
    """The arguments a call passes by position (a ``*rest`` aside: the list it spreads is
    built, and read, elsewhere)."""
    import ast
    return [arg for arg in call.args if not isinstance(arg, ast.Starred)]


def test_no_function_takes_or_is_called_with_more_than_six_positional_arguments():
    import ast
    crowded = []
    for _folder, code in modules():
        with open(code) as handle:
            tree = ast.parse(handle.read(), code)
        where = os.path.relpath(code, LIBRARY)
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.Lambda)) and \
                    len(positionalParameters(node)) > MAX_POSITIONAL:
                crowded.append("%s:%d %s%s" % (where, node.lineno,
                                               getattr(node, "name", "lambda"),
                                               tuple(positionalParameters(node))))
            if isinstance(node, ast.Call) and len(positionalArguments(node)) > MAX_POSITIONAL:
                crowded.append("%s:%d a call of %s with %d positional arguments" % (
                    where, node.lineno, ast.unparse(node.func) if hasattr(ast, "unparse")
                    else ast.dump(node.func), len(positionalArguments(node))))
    assert crowded == [], "group what belongs together (a record, named options): %s" % crowded
