"""The library's layers point one way, and no modules import each other in a circle.

Layers, lowest first: the base (modules directly under exchange/workflows), db, engine,
maintenance, api. A module imports its own layer and the layers below it, never one above;
function-local imports count like the others, and each needs a comment saying why it is
not at the top of the module. Imports are read with ``ast``, nothing is imported (the
registry's import of workflow modules by name, BUILTIN_MODULES, is data, not an import).

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
PREFIX = "exchange.workflows."
LAYERS = ("base", "db", "engine", "maintenance", "api")  # lowest first
# tool markers in comments, which say nothing about why
_MARKERS = re.compile(r"\b(novm|novermin|noqa(:\s*[A-Z0-9, ]+)?|pragma:[^#]*|type:[^#]*)")


def modules():
    """{dotted name below exchange.workflows: path of its code.py}."""
    found = {}
    for folder, _dirs, files in os.walk(LIBRARY):
        if "code.py" in files:
            name = os.path.relpath(folder, LIBRARY).replace(os.sep, ".")
            found[name] = os.path.join(folder, "code.py")
    return found


def layerOf(module):
    package = module.split(".")[0] if "." in module else "base"
    assert package in LAYERS, "%s is in no layer: add its package to LAYERS" % module
    return package


class Import(object):
    """One imported library module: where (line) and whether inside a function."""

    def __init__(self, target, node, local):
        self.target = target
        self.line = node.lineno
        self.lastLine = getattr(node, "end_lineno", node.lineno)
        self.local = local


def _named(node):
    """The dotted names an import statement brings in (``from m import n``: m.n, which is a
    module or a name in module m)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    assert not node.level, "line %d: a relative import" % node.lineno
    return [node.module + "." + alias.name for alias in node.names]


def _resolve(name, known):
    """The library module a dotted name is, or is in (None: not the library's; "": under
    exchange.workflows but in no module)."""
    if not name.startswith(PREFIX):
        return None
    parts = name[len(PREFIX):].split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in known:
            return ".".join(parts[:end])
    return ""  # under exchange.workflows, but no module: a package, or a typo


def _statements(tree):
    """(import node, inside a function) for every import statement of a module."""
    found = []

    def visit(node, local):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.append((child, local))
            visit(child, local or isinstance(child, (ast.FunctionDef, ast.Lambda)))
    visit(tree, False)
    return found


def importsOf(source, known):
    """(library imports, every function-local import node) of a module's source."""
    imports, local = [], []
    for node, inFunction in _statements(ast.parse(source)):
        if inFunction:
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
    """Whether a comment says something (more than a tool's marker)."""
    return comment is not None and re.search(r"[A-Za-z]{2}", _MARKERS.sub(u"", comment))


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


def test_every_function_local_import_says_why_it_is_there():
    missing = []
    for module, path in sorted(modules().items()):
        missing.extend("%s line %d" % (module, line) for line in unexplained(_read(path)))
    assert missing == [], ("function-local imports without a comment saying why (the loader, "
                           "Jython or the gateway needs it there?):\n" + "\n".join(missing))


SAMPLE = u"""from exchange.workflows.db import runs, tx
from exchange.workflows import compat


def f():
    from exchange.workflows.engine import kernel  # (a reason)
    import system
    # why the next two are here
    from java.util import Map  # novm
    from java.lang import System  # novm

    from exchange.workflows.engine import nothing  # novm
"""


def test_the_checks_find_what_they_look_for():
    """The reader sees module and function imports, and which say why; the circle finder
    finds circles."""
    known = dict.fromkeys(["db.runs", "db.tx", "compat", "engine.kernel"], "")
    imports, local = importsOf(SAMPLE, known)
    found = sorted((i.target, i.line, i.local) for i in imports)
    assert found == [("", 12, True), ("compat", 2, False), ("db.runs", 1, False),
                     ("db.tx", 1, False), ("engine.kernel", 6, True)], found
    assert len(local) == 5
    assert unexplained(SAMPLE) == [7, 12]
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
                   "currentWorkflowId", "StepError", "InvalidArgument", "WorkflowCancelled",
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
