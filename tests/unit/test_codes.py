"""The codes the library names and the codes the manual lists are the same set, and every
UPPER_CASE name the library stores is declared once.

The library names a code through ``exchange.workflows.codes``; the manual lists every code
in "All codes" (docs/api.md), and each function's table lists the codes of that function.
Statuses are declared in ``statuses``, commands, journal actions and dead-letter reasons in
``vocabulary``; no other module writes such a name inline (SQL text, in db/, is never one whole
UPPER_CASE string). No database: the library's sources are read with ``ast``, the manual as
text.
"""
from __future__ import absolute_import, division, print_function

import ast
import os
import re
import sys

from exchange.workflows import codes, errors, statuses, vocabulary

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIBRARY = os.path.join(REPO, "ignition", "ignition", "script-python", "exchange", "workflows")
MANUAL = os.path.join(REPO, "docs", "api.md")
INDEX = "## All codes"
CODE = re.compile(r"`([A-Z][A-Z0-9_]*[A-Z0-9])`")
# A string that is one UPPER_CASE name, and the modules that declare such names
UPPER_NAME = re.compile(r"^[A-Z][A-Z0-9_]{2,}$")
DECLARING = {"codes": codes, "statuses": statuses, "vocabulary": vocabulary}
# Calls whose first argument is a code (api.envelope's ok/fail) and the exceptions that
# take one second (errors.WorkflowsError and its subclasses).
ENVELOPE_CALLS = ("ok", "fail")
ERROR_CLASSES = tuple(name for name, value in vars(errors).items()
                      if isinstance(value, type) and hasattr(value, "code"))


def registry():
    return dict((name, value) for name, value in vars(codes).items() if name.isupper())


def sources():
    for folder, _dirs, files in os.walk(LIBRARY):
        if "code.py" in files:
            path = os.path.join(folder, "code.py")
            with open(path) as handle:
                yield os.path.relpath(path, LIBRARY), ast.parse(handle.read(), path)


def _name(node):
    return node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", None)


def _text(node):
    """The value of a string literal node, else None."""
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) \
        else None


def codeArguments(call):
    """The argument nodes of ``call`` that hold a code, by the callee's name."""
    name = _name(call.func)
    found = [k.value for k in call.keywords if k.arg == "code"]
    if name in ENVELOPE_CALLS and call.args:
        found.append(call.args[0])
    if name in ERROR_CLASSES and len(call.args) > 1:
        found.append(call.args[1])
    return found


def codeLiterals():
    """(module, line, text) of each string literal the library passes or declares as a
    code: in api.envelope's ok/fail, in an errors class's call, or as a class's ``code``."""
    for module, tree in sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                candidates = codeArguments(node)
            elif isinstance(node, ast.Assign) and [_name(t) for t in node.targets] == ["code"]:
                candidates = [node.value]
            else:
                continue
            for candidate in candidates:
                if _text(candidate) is not None:
                    yield module, candidate.lineno, _text(candidate)


def registryReferences(declaring="codes"):
    """(module, line, name) of each ``codes.<name>`` (``<declaring>.<name>``) in the
    library."""
    for module, tree in sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and _name(node.value) == declaring:
                yield module, node.lineno, node.attr


def declared(module):
    """{constant: value} of a declaring module's UPPER_CASE constants."""
    return dict((n, v) for n, v in vars(module).items() if n.isupper())


def inlineNames():
    """(module, line, text) of each string literal that is one UPPER_CASE name, outside the
    modules that declare them."""
    for module, tree in sources():
        if module.split(os.sep)[0] in DECLARING:
            continue
        for node in ast.walk(tree):
            text = _text(node)
            if text is not None and UPPER_NAME.match(text):
                yield module, node.lineno, text


def constantsOf(text):
    """Where ``text`` is declared, as ``module.CONSTANT`` (a hint for the fix)."""
    return sorted("%s.%s" % (m, n) for m, module in DECLARING.items()
                  for n, v in declared(module).items() if v == text) or ["none: declare it"]


def codeTables(text):
    """(section, codes) of each table of ``text`` whose first column is headed ``code``:
    the codes written in that column, under the ``## `` heading the table stands in."""
    section, header, found = None, None, []
    for line in text.splitlines() + [""]:
        if line.startswith("## "):
            section = line.strip()
        if not line.startswith("|"):
            if header == "code":
                yield section, found
            header, found = None, []
            continue
        first = line.strip("|").split("|")[0].strip()
        if header is None:
            header = first
        elif header == "code" and not first.startswith("---"):
            found.extend(CODE.findall(first))


def manual():
    with open(MANUAL) as handle:
        return handle.read()


def indexed():
    """The codes listed under "All codes"."""
    return set(c for section, found in codeTables(manual()) if section == INDEX for c in found)


def test_every_constant_of_the_registry_is_its_own_name():
    declared = registry()
    assert len(declared) >= 100
    assert [n for n, v in declared.items() if v != n] == []


def test_every_error_class_carries_a_code_of_the_registry():
    carried = dict((n, getattr(errors, n).code) for n in ERROR_CLASSES)
    assert len(carried) >= 12
    assert dict((n, c) for n, c in carried.items() if c not in registry()) == {}


def test_the_library_names_codes_only_through_the_registry():
    literals = ["%s:%d %s (use codes.%s)" % (m, line, t, t) for m, line, t in codeLiterals()]
    assert literals == []
    unknown = ["%s:%d codes.%s" % found for found in registryReferences()
               if found[2] not in registry()]
    assert unknown == []


def test_every_code_of_the_registry_is_named_where_it_is_returned_or_raised():
    named = set(name for _m, _line, name in registryReferences())
    assert sorted(set(registry()) - named) == []


def test_every_code_the_library_can_return_is_in_the_manual():
    named = set(registry()) | set(t for _m, _line, t in codeLiterals())
    assert sorted(named - indexed()) == []


def test_every_code_the_manual_lists_exists_in_the_library():
    tables = list(codeTables(manual()))
    assert len(tables) >= 40 and len(indexed()) >= 100
    listed = set(c for _section, found in tables for c in found)
    assert sorted(listed - set(registry())) == []


def test_the_library_writes_no_upper_case_name_inline():
    found = ["%s:%d %r (use %s)" % (m, line, t, " or ".join(constantsOf(t)))
             for m, line, t in inlineNames()]
    assert found == [], "UPPER_CASE names written inline:\n" + "\n".join(found)


def test_every_status_and_name_the_library_uses_is_declared():
    for declaring in ("statuses", "vocabulary"):
        unknown = ["%s:%d %s.%s" % (m, line, declaring, n)
                   for m, line, n in registryReferences(declaring)
                   if n not in declared(DECLARING[declaring])]
        assert unknown == []


def test_every_name_is_used_through_its_constant():
    used = set(n for m, _line, n in registryReferences("vocabulary")
               if m.split(os.sep)[0] != "vocabulary")
    assert len(declared(vocabulary)) >= 12
    assert sorted(set(declared(vocabulary)) - used) == []
    words = dict((n, v) for n, v in declared(vocabulary).items() if not isinstance(v, tuple))
    assert [n for n, v in words.items() if v != n and "REASON_" + v != n] == []
    assert set(vocabulary.COMMANDS) == set(["HOLD", "RESUME", "STOP", "CANCEL"])


SAMPLE = u"""
def decide(command):
    if command == vocabulary.HOLD:
        return None, "NEW_CODE"
    return "request", codes.HELD  # "RUNNING" in a comment is no literal
"""


def test_the_scan_finds_an_inline_name(monkeypatch):
    """The scan sees a literal in a module that is not a declaring one, not in one that is."""
    tree = ast.parse(SAMPLE)
    engineModule = os.path.join("engine", "x", "code.py")
    monkeypatch.setattr(sys.modules[__name__], "sources", lambda: iter(
        [(engineModule, tree), (os.path.join("vocabulary", "code.py"), tree)]))
    assert list(inlineNames()) == [(engineModule, 4, "NEW_CODE")]
    assert constantsOf("RUNNING") == ["statuses.RUNNING"]
    assert constantsOf("HOLD") == ["vocabulary.HOLD"]
