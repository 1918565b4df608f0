"""The library's layers point one way, and no modules import each other in a circle.

Layers, lowest first: the base (modules directly under exchange/workflows), db, engine,
maintenance, api. A module imports its own layer and the layers below it, never one above;
function-local imports count like the others, and each needs a comment saying why it is
not at the top of the module. A bare ``exchange.workflows.x.y`` path counts as an import of
x.y (Ignition resolves project library paths without an import); an import of the packages
``exchange`` or ``exchange.workflows`` names no module and fails. Imports are read with
``ast``, nothing is imported. Nothing imports by a name computed at run time
(``__import__``, importlib, imp) but the registry, which imports workflow modules by the
names it was given (BUILTIN_MODULES is data, not an import).

``python tests/test_layers.py`` prints the graph: each module and what it imports.
"""
from __future__ import absolute_import, division, print_function

import ast
import io
import os
import re
import tokenize

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIBRARY = os.path.join(REPO, "ignition", "ignition", "script-python", "exchange", "workflows")
ROOT = "exchange.workflows"
PREFIX = ROOT + "."
LAYERS = ("base", "db", "engine", "maintenance", "api")  # lowest first
# tool markers in comments, which say nothing about why
_MARKERS = re.compile(r"\b(novm|novermin|noqa(:\s*[A-Z0-9, ]+)?|pragma:[^#]*|type:[^#]*)")
REASON_WORDS = 3  # "# ok", "# Jython only" say nothing of why an import is in a function
# Imports by a computed name: the built-in, its library modules (Jython 2.7 has imp)
DYNAMIC_IMPORTERS = ("__import__", "importlib", "imp")
# (module, function, importer): the one import by name, of the workflow modules registered
DYNAMIC_IMPORTS_ALLOWED = [("engine.registry", "_import", "__import__")]


def modules():
    """{dotted name below exchange.workflows: path of its code.py}."""
    found = {}
    for folder, _dirs, files in os.walk(LIBRARY):
        if "code.py" in files:
            name = os.path.relpath(folder, LIBRARY).replace(os.sep, ".")
            found[name] = os.path.join(folder, "code.py")
    return found


# Modules whose path another project chose: ranked with the layer of what they call.
# engine.instance is getWorkflows(), the entry point the project we replace documents; it
# answers through the API (api.service, api.admin).
ALIASES = {"engine.instance": "api"}


def layerOf(module):
    if module in ALIASES:
        return ALIASES[module]
    package = module.split(".")[0] if "." in module else "base"
    assert package in LAYERS, "%s is in no layer: add its package to LAYERS" % module
    return package


class Import(object):
    """One imported library module (by an import statement, or a bare exchange.workflows
    path): where (line) and whether inside a function."""

    def __init__(self, target, node, local):
        self.target = target
        self.line = node.lineno
        self.lastLine = getattr(node, "end_lineno", node.lineno)
        self.local = local


def _dotted(node):
    """"a.b.c" for the expression ``a.b.c`` (a name and its attributes), else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return ".".join([node.id] + parts[::-1]) if isinstance(node, ast.Name) else None


def _isPath(node):
    """Whether an expression is a path from the name ``exchange`` (``exchange.workflows...``)."""
    name = _dotted(node)
    return name is not None and name.split(".")[0] == "exchange"


def _named(node):
    """The dotted names an import statement brings in (``from m import n``: m.n, which is a
    module or a name in module m), or the path an expression spells out."""
    if not isinstance(node, (ast.Import, ast.ImportFrom)):
        return [_dotted(node)]
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    assert not node.level, "line %d: a relative import" % node.lineno
    return [node.module + "." + alias.name for alias in node.names]


def _resolve(name, known):
    """The library module a dotted name is, or is in (None: not the library's; "": the
    package exchange or exchange.workflows, or under it but in no module)."""
    parts = name.split(".")
    if parts[0] != "exchange":
        return None
    if len(parts) == 1 or parts[1] == "*" or name == ROOT:
        return ""  # a package: it reaches every module, whatever the layer
    if not name.startswith(PREFIX):
        return None
    parts = name[len(PREFIX):].split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in known:
            return ".".join(parts[:end])
    return ""  # under exchange.workflows, but no module: a package, or a typo


def _statements(tree):
    """(node, inside a function) for every import statement of a module, and every path
    from the name ``exchange`` (the longest: ``exchange.workflows.api.envelope.ok``)."""
    found = []

    def visit(node, local):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)) or _isPath(child):
                found.append((child, local))
                continue
            visit(child, local or isinstance(child, (ast.FunctionDef, ast.Lambda)))
    visit(tree, False)
    return found


def importsOf(source, known):
    """(library imports, every function-local import node) of a module's source."""
    imports, local = [], []
    for node, inFunction in _statements(ast.parse(source)):
        if inFunction and isinstance(node, (ast.Import, ast.ImportFrom)):
            local.append(node)
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            continue
        for target in set(_resolve(name, known) for name in _named(node)) - set([None]):
            imports.append(Import(target, node, inFunction))
    return imports, local


def _read(path):
    with open(path) as handle:
        return handle.read()


def graph():
    """{module: [Import]} over the whole library."""
    known = modules()
    return dict((name, importsOf(_read(path), known)[0]) for name, path in known.items())


def cycles(edges):
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index, low, stack, onStack, found = {}, {}, [], set(), []

    def connect(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        onStack.add(node)
        for other in sorted(edges.get(node, ())):
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in onStack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                onStack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))
    for node in sorted(edges):
        if node not in index:
            connect(node)
    return found


def _comments(source):
    """{line: comment text} of a module."""
    found = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token[0] == tokenize.COMMENT:
            found[token[2][0]] = token[1]
    return found


def _says(comment):
    """Whether a comment gives a reason: REASON_WORDS words or more besides a tool's marker."""
    return comment is not None and \
        len(re.findall(r"[A-Za-z]+", _MARKERS.sub(u"", comment))) >= REASON_WORDS


def dynamicImports(source):
    """(line, enclosing function or None, importer) of every use of __import__, importlib or
    imp in a module: an import by a name computed at run time, which no import statement shows."""
    found = []

    def visit(node, function):
        for child in ast.iter_child_nodes(node):
            used = None
            if isinstance(child, ast.Name) and child.id in DYNAMIC_IMPORTERS:
                used = child.id
            elif isinstance(child, ast.Attribute) and child.attr == "__import__":
                used = child.attr
            elif isinstance(child, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in child.names] + [getattr(child, "module", None) or ""]
                used = next((n.split(".")[0] for n in names
                             if n.split(".")[0] in DYNAMIC_IMPORTERS), None)
            if used:
                found.append((child.lineno, function, used))
            visit(child, child.name if isinstance(child, ast.FunctionDef) else function)
    visit(ast.parse(source), None)
    return found


def unexplained(source):
    """Lines of function-local imports with no comment on them, nor on a comment line right
    above them (or above the run of imports they are part of)."""
    comments = _comments(source)
    lines = source.splitlines()
    nodes = importsOf(source, {})[1]
    importLines = set()
    for node in nodes:
        importLines.update(range(node.lineno, getattr(node, "end_lineno", node.lineno) + 1))
    missing = []
    for node in nodes:
        candidates = list(range(node.lineno, getattr(node, "end_lineno", node.lineno) + 1))
        above = node.lineno - 1
        while above in importLines:
            above -= 1
        if above >= 1 and lines[above - 1].strip().startswith("#"):
            candidates.append(above)
        if not any(_says(comments.get(line)) for line in candidates):
            missing.append(node.lineno)
    return missing


def test_every_import_points_down_the_layers():
    upward = []
    for module, imports in sorted(graph().items()):
        rank = LAYERS.index(layerOf(module))
        for imported in imports:
            assert imported.target, "%s line %d imports no module of the library" % (
                module, imported.line)
            if LAYERS.index(layerOf(imported.target)) > rank:
                upward.append("%s (%s) imports %s (%s), line %d" % (
                    module, layerOf(module), imported.target, layerOf(imported.target),
                    imported.line))
    assert upward == [], "imports up the layers:\n" + "\n".join(upward)


def test_no_modules_import_each_other_in_a_circle():
    edges = dict((module, set(i.target for i in imports if i.target != module))
                 for module, imports in graph().items())
    found = cycles(edges)
    assert found == [], "import circles (function-local imports included): %s" % found


def test_nothing_imports_by_a_computed_name_but_the_registry():
    found = []
    for module, path in sorted(modules().items()):
        found.extend((module,) + use for use in dynamicImports(_read(path)))
    assert [(m, f, used) for m, _line, f, used in found] == DYNAMIC_IMPORTS_ALLOWED, (
        "imports by a computed name (module, line, function, importer), beyond %s: %s"
        % (DYNAMIC_IMPORTS_ALLOWED, found))


def test_every_function_local_import_says_why_it_is_there():
    missing = []
    for module, path in sorted(modules().items()):
        missing.extend("%s line %d" % (module, line) for line in unexplained(_read(path)))
    assert missing == [], ("function-local imports without a comment saying why (the loader, "
                           "Jython or the gateway needs it there?):\n" + "\n".join(missing))


SAMPLE = u"""from exchange.workflows.db import runs, tx
from exchange.workflows import compat
from exchange import workflows
import exchange.workflows as library


def f():
    from exchange.workflows.engine import kernel  # (the reason it is here)
    import system
    # why the next two are here
    from java.util import Map  # novm
    from java.lang import System  # novm

    from exchange.workflows.engine import nothing  # novm: Jython only
    import os  # ok
    return exchange.workflows.api.envelope.ok(exchange.workflows.db.runs.x().y)
"""


def test_the_checks_find_what_they_look_for():
    """The reader sees module and function imports, paths from ``exchange``, and which
    imports say why; the circle finder finds circles; imports by a computed name are found."""
    known = dict.fromkeys(["db.runs", "db.tx", "compat", "engine.kernel", "api.envelope"], "")
    imports, local = importsOf(SAMPLE, known)
    found = sorted((i.target, i.line, i.local) for i in imports)
    assert found == [("", 3, False), ("", 4, False), ("", 14, True), ("api.envelope", 16, True),
                     ("compat", 2, False), ("db.runs", 1, False), ("db.runs", 16, True),
                     ("db.tx", 1, False), ("engine.kernel", 8, True)], found
    assert len(local) == 6
    assert unexplained(SAMPLE) == [9, 14, 15]
    assert dynamicImports(u"import importlib\nfrom imp import load_source\n"
                          u"def g():\n    __import__('x')\n    builtins.__import__('y')\n"
                          u"    importlib.import_module('z')\n") == \
        [(1, None, "importlib"), (2, None, "imp"), (4, "g", "__import__"),
         (5, "g", "__import__"), (6, "g", "importlib")]
    assert cycles({"a": set(["b"]), "b": set(["c"]), "c": set(["a"]), "d": set(["a"])}) == \
        [["a", "b", "c"]]
    assert cycles({"a": set(["b"]), "b": set(), "c": set(["a"])}) == []


def test_the_architecture_chapter_lists_every_module_under_its_layer():
    text = _read(os.path.join(REPO, "docs", "architecture.md"))
    block = text.split(u"## The layers", 1)[1].split(u"```", 2)[1]
    listed, layer = set(), None
    for line in block.splitlines():
        if line.startswith(u"["):
            layer = line[1:line.index(u"]")]
        else:  # "  api/envelope  what it does", "  db/messages, db/events  ..."
            names = re.match(r"  ((?:[\w/]+, )*[\w/]+)(\s|$)", line)
            listed.update((layer, name.replace(u"/", u".")) for name in
                          (names.group(1).split(u", ") if names else ()))
    expected = set((layerOf(m), m) for m in modules())
    assert listed == expected, ("missing: %s; not modules: %s"
                                % (sorted(expected - listed), sorted(listed - expected)))


AUTHORS_SURFACE = ["workflow", "step", "sleep", "send", "recv", "setEvent", "getEvent",
                   "writeStream", "closeStream", "prompt", "checkCancelled",
                   "currentWorkflowId", "schedule", "startChild", "runParallel", "patched",
                   "deprecatePatch", "StepError", "ChildFailed", "InvalidArgument",
                   "WorkflowCancelled",
                   "NonDeterminismError", "ControlSignal", "WorkflowsError"]


def test_workflow_authors_import_everything_from_runtime_and_nothing_more():
    from exchange.workflows.engine import runtime
    from exchange.workflows import errors
    assert sorted(runtime.__all__) == sorted(AUTHORS_SURFACE)
    for name in AUTHORS_SURFACE:
        assert getattr(runtime, name) is not None, name
    assert runtime.StepError is errors.StepError
    future = set(["absolute_import", "division", "print_function"])
    public = set(n for n in vars(runtime) if not n.startswith("_") and n not in future and
                 not type(getattr(runtime, n)).__name__ == "module")
    assert public - set(AUTHORS_SURFACE) == set(), "runtime holds more than authors use"
    docs = [os.path.join(REPO, "docs", n) for n in os.listdir(os.path.join(REPO, "docs"))]
    text = u"".join(_read(path) for path in docs + [os.path.join(REPO, "README.md")])
    imported = re.findall(r"from exchange\.workflows\.engine\.runtime import "
                          r"(\([^)]*\)|[\w, ]+)", text)
    names = set(n.strip(u"() \n") for group in imported for n in group.split(u","))
    assert "StepError" in names and names <= set(AUTHORS_SURFACE), \
        "the manual imports from runtime what it lacks: %s" % (names - set(AUTHORS_SURFACE))


def printGraph():
    for module, imports in sorted(graph().items(), key=lambda m: (LAYERS.index(layerOf(m[0])),
                                                                  m[0])):
        targets = sorted(set(i.target + ("(local)" if i.local else "") for i in imports))
        print("%-12s %-24s -> %s" % (layerOf(module), module, ", ".join(targets)))


if __name__ == "__main__":
    printGraph()
