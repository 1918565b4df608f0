"""The simulator and the library, held to Ignition's published scripting API.

The API is ``ignition-api-stubs`` 8.1 and 8.3 (tests/ignition_stubs.py reads the versions
``make stubs`` installs), the library's uses of ``system`` are found by
tests/system_uses.py. A gateway defect the simulator would hide fails here:

* (a) every ``system.<module>.<function>`` the library (and the example project users copy)
  names exists in 8.1 and in 8.3, unless it is in OPTIONAL: reached only through
  ``compat.optionalSystemFunction`` (None where the scope or version lacks it), published
  in at least one version, and with tests of both outcomes;
* (b) every call passes only keywords the function takes, no more positional arguments
  than it has and every argument without a default, in both versions; and what the
  library does with a returned object (``len()``, ``[i]``, iteration, ``.attr``) the class
  the stubs name allows (a plain Dataset has no ``len()``);
* (c) each public function of the simulator's ``system`` modules has the stubs' signature
  (parameter names, order, which have defaults); where 8.1 and 8.3 differ it has one of
  the two (the library's calls must fit both, (b)); it defines no public function neither
  version has (simulator-only functions are ``sim*``);
* (d) what the simulator returns for each function the library uses is the kind the stubs
  name: the same class (BasicDataset is not a PyDataSet) offering nothing the stubs' class
  lacks, text, a number, a list of the named elements.

Default values are not in the stubs (``= ...``); the ones that matter are pinned by
behaviour tests (``runPrepUpdate(skipAudit=False)``: test_simulator_contract). CPython only.
"""
from __future__ import absolute_import, division, print_function

import ast
import os

import pytest

import ignition_stubs
import system_uses
from ignition_stubs import PROTOCOLS, REPO, VERSIONS

LIBRARY = os.path.join(REPO, "ignition", "ignition", "script-python")
EXAMPLES = os.path.join(REPO, "tests", "example_project", "ignition", "script-python")
SIMULATOR = os.path.join(REPO, "tests", "gateway", "system")
TESTS = os.path.join(REPO, "tests")

# The functions the library may reach although a scope or a version lacks them, each with
# the tests that run the library with it present and absent. The Ignition user of a
# Vision client or Designer: system.security in 8.1 (Vision client scope; 8.3 dropped it
# from the published API), system.vision in 8.3; a gateway has neither.
_ACTOR_TESTS = (
    "test_operator_commands.ScopeActorTest.test_a_vision_client_of_8_3_acts_as_its_user",
    "test_operator_commands.ScopeActorTest.test_a_vision_client_or_designer_of_8_1_acts_as_"
    "its_user",
    "test_operator_commands.ScopeActorTest.test_on_a_gateway_the_actor_is_the_executor",
)
OPTIONAL = {
    "vision.getUsername": _ACTOR_TESTS,
    "vision.getRoles": _ACTOR_TESTS,
    "security.getUsername": _ACTOR_TESTS,
    "security.getRoles": _ACTOR_TESTS,
}

# Members Ignition's classes have that the stubs leave out: LoggerEx's trace and warn
# levels (the stubs list only its debug, info and error methods; every Ignition logging
# example calls logger.warn).
STUB_GAPS = {
    "com.inductiveautomation.ignition.common.util.LoggerEx":
        frozenset(["trace", "tracef", "warn", "warnf"]),
}


@pytest.fixture(scope="module")
def stubs():
    return dict((version, ignition_stubs.load(version)) for version in VERSIONS)


@pytest.fixture(scope="module")
def scans():
    """The Scan of every code.py of the library and the example project."""
    found = []
    for root in (LIBRARY, EXAMPLES):
        for path in system_uses.sourceFiles(root):
            found.append(system_uses.scan(path, os.path.relpath(path, REPO)))
    return found


def _uses(scans):
    return [use for s in scans for use in s.uses]


def _usedFunctions(scans):
    return sorted(set(use.function for use in _uses(scans)))


def _allowed(stubs, ref):
    return stubs.members(ref) | STUB_GAPS.get(ref.qualname, frozenset())


# ---------------------------------------------------------------------------------------
# The stubs and the scan themselves
# ---------------------------------------------------------------------------------------
def test_both_published_versions_are_installed(stubs):
    assert stubs["8.1"].version.startswith("8.1."), stubs["8.1"].version
    assert stubs["8.3"].version.startswith("8.3."), stubs["8.3"].version
    for package in stubs.values():
        assert package.function("db.runPrepQuery") is not None, package.root


def test_the_scan_sees_every_use_and_nothing_escapes_it(scans):
    problems = [p for s in scans for p in s.problems]
    assert problems == []
    used = _usedFunctions(scans)
    for expected in ("db.runPrepQuery", "db.runPrepUpdate", "db.getConnectionInfo",
                     "db.beginTransaction", "util.getLogger"):
        assert expected in used, used  # a scanner that finds nothing proves nothing
    assert len(scans) > 40


# ---------------------------------------------------------------------------------------
# (a) the functions exist
# ---------------------------------------------------------------------------------------
def test_every_system_function_the_library_names_exists_in_8_1_and_8_3(stubs, scans):
    missing = []
    for use in _uses(scans):
        absent = [v for v in VERSIONS if stubs[v].function(use.function) is None]
        if absent:
            hint = " (reach it through compat.optionalSystemFunction and list it in " \
                   "OPTIONAL)" if len(absent) < len(VERSIONS) else ""
            missing.append("%s: system.%s is not in %s%s"
                           % (use.where(), use.function, " and ".join(absent), hint))
    assert missing == []


def test_optional_functions_are_listed_published_callable_bare_and_both_outcomes_tested(
        stubs, scans):
    looked = [lookup for s in scans for lookup in s.optional]
    unlisted = ["%s: %s" % (lookup.where(), lookup.function) for lookup in looked
                if lookup.function not in OPTIONAL]
    assert unlisted == [], "list each optional function in OPTIONAL with its tests"
    assert sorted(set(lookup.function for lookup in looked)) == sorted(OPTIONAL), \
        "OPTIONAL lists a function the library no longer looks up"
    for function, tests in sorted(OPTIONAL.items()):
        signatures = [stubs[v].function(function) for v in VERSIONS]
        published = [s for s in signatures if s is not None]
        assert published, "system.%s is in neither version" % function
        for signature in published:  # the library calls what the lookup returns bare
            assert all(hasDefault for _, hasDefault in signature.params), signature.text()
        for test in tests:
            assert _testExists(test), "%s (the test of %s) does not exist" % (test, function)


def _testExists(dotted):
    moduleName, className, testName = dotted.split(".")
    path = os.path.join(TESTS, moduleName + ".py")
    if not os.path.isfile(path):
        return False
    with open(path) as handle:
        tree = ast.parse(handle.read())
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == className:
            return any(isinstance(f, ast.FunctionDef) and f.name == testName
                       for f in node.body)
    return False


# ---------------------------------------------------------------------------------------
# (b) the calls fit, and so does what is done with the results
# ---------------------------------------------------------------------------------------
def callProblems(signature, call):
    """What is wrong with ``call`` (an ast.Call) for ``signature``; [] when it fits."""
    problems = []
    names = [name for name, _ in signature.params]
    positional = len(call.args)
    if positional > len(names) and not signature.varargs:
        problems.append("%d positional arguments, %s takes %d"
                        % (positional, signature.name, len(names)))
    given = set(names[:positional])
    for keyword in call.keywords:
        if keyword.arg not in names and not signature.varkw:
            problems.append("keyword %s= is not a parameter of %s"
                            % (keyword.arg, signature.text()))
        elif keyword.arg in given:
            problems.append("%s given twice" % keyword.arg)
        given.add(keyword.arg)
    for name, hasDefault in signature.params:
        if not hasDefault and name not in given:
            problems.append("no value for %s of %s" % (name, signature.text()))
    return problems


def test_every_call_fits_the_signature_of_both_versions(stubs, scans):
    wrong = []
    for use in _uses(scans):
        if use.call is None:
            continue
        for version in VERSIONS:
            signature = stubs[version].function(use.function)
            if signature is not None:
                for problem in callProblems(signature, use.call):
                    wrong.append("%s: system.%s, %s: %s"
                                 % (use.where(), use.function, version, problem))
    assert wrong == []


def test_what_the_library_does_with_a_returned_object_its_class_allows(stubs, scans):
    wrong = []
    for used in [u for s in scans for u in s.objects]:
        for version in VERSIONS:
            package = stubs[version]
            signature = package.function(used.function)
            if signature is None:
                continue
            kind = package.kind(signature)
            if used.item:
                kind = kind.item if kind.sort == "sequence" else None
            if kind is None or kind.sort != "class":
                continue  # Python values, or nothing the stubs say more about
            name = used.what[5:] if used.what.startswith("attr:") else used.what
            if name not in _allowed(package, kind.ref):
                wrong.append("%s: %s on what system.%s returns: %s %s has no %s"
                             % (used.where(), used.what, used.function, version,
                                kind.ref.name, name))
    assert wrong == []


@pytest.mark.parametrize("call, fits", [
    ("f(1)", False),  # query and args have no default
    ("f(1, [])", True),
    ("f(1, [], 'db', None, True, True)", True),
    ("f(1, [], 'db', None, True, True, 7)", False),
    ("f(1, [], skipAudit=True)", True),
    ("f(1, [], skipaudit=True)", False),
    ("f(1, [], 'db', database='db')", False),
])
def test_the_call_check_tells_a_fitting_call_from_a_wrong_one(stubs, call, fits):
    signature = stubs["8.1"].function("db.runPrepUpdate")
    assert (callProblems(signature, ast.parse(call).body[0].value) == []) is fits


def test_the_object_check_finds_len_of_a_plain_dataset(tmp_path):
    source = tmp_path / "code.py"
    source.write_text("import system\n\ndef exists(name):\n"
                      "    info = system.db.getConnectionInfo(name)\n"
                      "    return len(info) > 0 and info.getRowCount() > 0\n")
    found = system_uses.scan(str(source))
    assert [(u.function, u.what) for u in found.objects] == \
        [("db.getConnectionInfo", "__len__"), ("db.getConnectionInfo", "attr:getRowCount")]
    package = ignition_stubs.load("8.3")
    ref = package.kind(package.function("db.getConnectionInfo")).ref
    assert "__len__" not in _allowed(package, ref) and "getRowCount" in _allowed(package, ref)


# ---------------------------------------------------------------------------------------
# (c) the simulator's signatures
# ---------------------------------------------------------------------------------------
def simulatorModules():
    """{module name: [public def nodes]} of the simulator's system package (functions
    defined at module level, also under if/try: the Jython variants count too)."""
    modules = {}
    for entry in sorted(os.listdir(SIMULATOR)):
        if not entry.endswith(".py") or entry.startswith("_"):
            continue
        with open(os.path.join(SIMULATOR, entry)) as handle:
            tree = ast.parse(handle.read(), entry)
        modules[entry[:-3]] = [node for node in _definitions(tree.body)
                               if not node.name.startswith(("_", "sim"))]
    return modules


def _definitions(body):
    for node in body:
        if isinstance(node, ast.FunctionDef):
            yield node
        elif isinstance(node, (ast.If, ast.Try)):
            for block in [node.body, node.orelse] + [h.body for h in
                                                     getattr(node, "handlers", [])]:
                for found in _definitions(block):
                    yield found


def test_the_simulator_has_only_modules_and_functions_ignition_has(stubs):
    modules = simulatorModules()
    assert sorted(modules) == ["date", "db", "net", "tag", "util"], sorted(modules)
    extra = []
    for module, definitions in sorted(modules.items()):
        for node in definitions:
            if all(stubs[v].function("%s.%s" % (module, node.name)) is None for v in VERSIONS):
                extra.append("system.%s.%s (line %d) is in neither 8.1 nor 8.3: name it "
                             "sim* if it is the simulator's own" % (module, node.name,
                                                                     node.lineno))
    assert extra == []


def test_the_simulator_functions_have_the_published_signatures(stubs):
    wrong = []
    for module, definitions in sorted(simulatorModules().items()):
        for node in definitions:
            path = "%s.%s" % (module, node.name)
            published = [stubs[v].function(path) for v in VERSIONS]
            shapes = [s.shape() for s in published if s is not None]
            mine = ignition_stubs.signatureOf(node)
            if shapes and mine.shape() not in shapes:
                wrong.append("system.%s (line %d) is %s; %s" % (
                    path, node.lineno, mine.text(), "; ".join(
                        "%s: %s" % (v, s.text()) for v, s in zip(VERSIONS, published)
                        if s is not None)))
    assert wrong == []


# ---------------------------------------------------------------------------------------
# (d) what the simulator returns
# ---------------------------------------------------------------------------------------
def _samples(gw):
    """One real call of each function the library and the example project use (and
    getConnections)."""
    import system
    db = gw.dbName

    def inTransaction(action):
        tx = system.db.beginTransaction(db)
        try:
            return action(tx)
        finally:
            system.db.closeTransaction(tx)

    def closed():
        return system.db.closeTransaction(system.db.beginTransaction(db))

    return {
        "db.runPrepQuery": lambda: system.db.runPrepQuery("SELECT 1 AS one", [], db),
        "db.runPrepUpdate": lambda: system.db.runPrepUpdate("DO $$ BEGIN END $$", [], db,
                                                            skipAudit=True),
        "db.runScalarPrepQuery": lambda: system.db.runScalarPrepQuery("SELECT 1", [], db),
        "db.beginTransaction": lambda: inTransaction(lambda tx: tx),
        "db.commitTransaction": lambda: inTransaction(system.db.commitTransaction),
        "db.rollbackTransaction": lambda: inTransaction(system.db.rollbackTransaction),
        "db.closeTransaction": closed,
        "db.getConnectionInfo": lambda: system.db.getConnectionInfo(db),
        "db.getConnections": system.db.getConnections,
        "util.getGlobals": system.util.getGlobals,
        "util.getLogger": lambda: system.util.getLogger("exchange.workflows.published"),
        "tag.readBlocking": lambda: system.tag.readBlocking(["[System]Gateway/SystemName"]),
        "tag.writeBlocking": lambda: system.tag.writeBlocking(["[default]published/x"], [1]),
        "net.httpClient": system.net.httpClient,
    }


def kindProblems(package, kind, value):
    """Why ``value`` is not of ``kind`` (a Kind of ``package``); [] when it is."""
    sort = kind.sort
    if sort == "any":
        return []
    if sort == "none":
        return [] if value is None else ["%r is not None" % (value,)]
    if sort == "text":
        return [] if isinstance(value, str) else ["%r is not text" % (value,)]
    if sort == "value":
        python = {"int": int, "long": int, "float": float, "bool": bool}.get(kind.python)
        if python is None or not isinstance(value, python) or \
                (python is int and isinstance(value, bool)):
            return ["%r is not %s" % (value, kind.text)]
        return []
    if sort == "mapping":
        return [] if isinstance(value, dict) else ["%r is not a mapping" % (value,)]
    if sort == "sequence":
        if not isinstance(value, (list, tuple)):
            return ["%r is not a list" % (value,)]
        return [p for item in value for p in kindProblems(package, kind.item, item)]
    if sort == "class":
        ref = kind.ref
        if type(value).__name__ != ref.name:
            return ["a %s, the stubs name %s" % (type(value).__name__, ref.qualname)]
        offered = set(n for n in dir(value) if not n.startswith("_"))
        offered |= set(p for p in PROTOCOLS if hasattr(type(value), p))
        extra = sorted(offered - _allowed(package, ref))
        return ["%s offers %s, which %s has not" % (type(value).__name__, ", ".join(extra),
                                                    ref.qualname)] if extra else []
    return ["no check for the kind %s: teach kindProblems" % (kind.text,)]


def test_the_simulator_returns_what_the_stubs_name(stubs, scans, gw):
    samples = _samples(gw)
    used = [f for f in _usedFunctions(scans) if f not in OPTIONAL]
    assert sorted(set(used) - set(samples)) == [], "add a sample call for each"
    wrong = []
    for function, sample in sorted(samples.items()):
        value = sample()
        for version in VERSIONS:
            package = stubs[version]
            for problem in kindProblems(package, package.kind(package.function(function)),
                                        value):
                wrong.append("system.%s, %s: %s" % (function, version, problem))
    assert wrong == []


def test_the_simulator_objects_have_what_the_library_uses_on_them(scans, gw):
    samples = _samples(gw)
    missing = []
    for used in [u for s in scans for u in s.objects]:
        value = samples[used.function]()
        if used.item:
            value = value[0]
        name = used.what[5:] if used.what.startswith("attr:") else used.what
        holder = value if used.what.startswith("attr:") else type(value)
        if not hasattr(holder, name):
            missing.append("%s: %s on what system.%s returns" % (used.where(), used.what,
                                                                  used.function))
    assert missing == []


def test_the_kind_check_tells_a_plain_dataset_from_a_pydataset(stubs, gw):
    import system
    package = stubs["8.1"]
    plain = package.kind(package.function("db.getConnectionInfo"))
    rows = package.kind(package.function("db.runPrepQuery"))
    pyDataSet = system.db.runPrepQuery("SELECT 1", [], gw.dbName)
    dataset = system.db.getConnectionInfo(gw.dbName)
    assert kindProblems(package, plain, dataset) == []
    assert kindProblems(package, rows, pyDataSet) == []
    assert kindProblems(package, plain, pyDataSet) != []
    assert kindProblems(package, rows, dataset) != []
