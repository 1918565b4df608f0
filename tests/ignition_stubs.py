"""Ignition's published scripting API, read from an installed ``ignition-api-stubs``.

``make stubs`` (part of ``make test``) installs the versions the suite holds the simulator
and the library to into ``.venv/stubs/8.1`` and ``.venv/stubs/8.3``. The .pyi files are
parsed with ``ast``; nothing is imported, so the stubs' own dependencies (java-api-stubs)
are not needed. CPython 3 only.

``StubPackage(root)`` answers, for one version:

* ``function("db.runPrepQuery")``: its ``Signature`` (parameters with whether each has a
  default, ``*args``/``**kwargs``, the return annotation) or None;
* ``functions("db")``: every function of ``system.db`` (None: no such module);
* ``kind(signature)``: what the function returns, a ``Kind``;
* ``members(classRef)``: what a Java class offers a script: its methods, fields and nested
  classes, those of every base the stubs define, and Jython's bean properties
  (``getRowCount()`` is also ``rowCount``).
"""
import ast
import os
import re

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STUBS_ENV = "IGNITION_STUBS_DIR"
VERSIONS = ("8.1", "8.3")

# What every Java object has (java.lang.Object: java-api-stubs is not installed).
JAVA_OBJECT_MEMBERS = frozenset(["equals", "getClass", "hashCode", "notify", "notifyAll",
                                 "toString", "wait", "class"])
# Python protocols whose presence the checks compare (Jython gives a Java object none of
# them unless it is a Collection, List or Map; a PyObject subclass defines its own).
PROTOCOLS = ("__len__", "__iter__", "__getitem__", "__contains__", "__setitem__",
             "__delitem__")

_TEXT = ("str", "unicode")
_VALUES = ("int", "long", "float", "bool", "bytes", "bytearray", "str", "unicode")
_SEQUENCES = ("List", "Tuple", "Iterable", "Sequence", "Iterator")
_MAPPINGS = ("Dict", "Mapping", "MutableMapping")


def stubsRoot():
    """Where ``make stubs`` put the versions (or $IGNITION_STUBS_DIR)."""
    return os.environ.get(STUBS_ENV) or os.path.join(REPO, ".venv", "stubs")


def load(version):
    """The installed stubs of ``version`` ("8.1" or "8.3"); AssertionError with what to do
    when they are missing."""
    root = os.path.join(stubsRoot(), version)
    if not os.path.isdir(os.path.join(root, "system")):
        raise AssertionError("ignition-api-stubs %s not found in %s: run `make stubs` (make "
                             "test does) or set %s" % (version, root, STUBS_ENV))
    return StubPackage(root)


class Signature(object):
    """A stub function: ``params`` [(name, hasDefault)], ``varargs``, ``varkw``,
    ``returns`` (annotation node) and the ``module`` it is declared in."""

    def __init__(self, node, module):
        args = node.args
        positional = list(getattr(args, "posonlyargs", [])) + list(args.args)
        firstDefault = len(positional) - len(args.defaults)
        self.name = node.name
        self.params = [(a.arg, i >= firstDefault) for i, a in enumerate(positional)]
        self.params += [(a.arg, d is not None) for a, d in zip(args.kwonlyargs, args.kw_defaults)]
        self.varargs = args.vararg is not None
        self.varkw = args.kwarg is not None
        self.returns = node.returns
        self.module = module

    def shape(self):
        """What the simulator must reproduce: names, order, which have defaults, * and **."""
        return (tuple(self.params), self.varargs, self.varkw)

    def text(self):
        parts = ["%s%s" % (n, "=..." if d else "") for n, d in self.params]
        if self.varargs:
            parts.append("*args")
        if self.varkw:
            parts.append("**kwargs")
        return "%s(%s)" % (self.name, ", ".join(parts))


def signatureOf(node):
    """The Signature of a ``def`` of ordinary Python source (the simulator)."""
    return Signature(node, None)


class Kind(object):
    """What a function returns, as far as a script can tell: ``sort`` is one of "none",
    "any", "value" (int, str ...), "text", "sequence" (``item``: the element Kind),
    "mapping", "class" (``ref``: a ClassRef), "unknown" (``text``: the annotation)."""

    def __init__(self, sort, text, ref=None, item=None, python=None):
        self.sort = sort
        self.text = text
        self.ref = ref
        self.item = item
        self.python = python  # for "value": the builtin's name

    def __repr__(self):
        return "<Kind %s %s>" % (self.sort, self.text)


class ClassRef(object):
    """A class of the stubs: its ``module`` (a _Module) and ``node`` (the ClassDef)."""

    def __init__(self, module, node, qualname):
        self.module = module
        self.node = node
        self.qualname = qualname  # e.g. "com.inductiveautomation.ignition.common.BasicDataset"

    @property
    def name(self):
        return self.node.name


class _Module(object):
    def __init__(self, dotted, tree):
        self.dotted = dotted
        self.tree = tree
        self.imports = {}  # local name -> (module, name)
        self.classes = {}
        self.functions = {}
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    self.imports[alias.asname or alias.name] = (node.module, alias.name)
            elif isinstance(node, ast.ClassDef):
                self.classes[node.name] = node
            elif isinstance(node, ast.FunctionDef):
                self.functions[node.name] = node


class StubPackage(object):
    """One installed version of ignition-api-stubs (see the module docstring)."""

    def __init__(self, root):
        self.root = root
        self.version = _installedVersion(root)
        self._modules = {}
        self._members = {}

    # --- modules and functions ---------------------------------------------------------
    def module(self, dotted):
        """The parsed stub module ``dotted`` (e.g. "system.db"), or None."""
        if dotted not in self._modules:
            base = os.path.join(self.root, *dotted.split("."))
            parsed = None
            for path in (base + ".pyi", os.path.join(base, "__init__.pyi")):
                if os.path.isfile(path):
                    with open(path) as handle:
                        parsed = _Module(dotted, ast.parse(handle.read(), path))
                    break
            self._modules[dotted] = parsed
        return self._modules[dotted]

    def functions(self, systemModule):
        """{name: Signature} of ``system.<systemModule>``, or None when it has no such
        module."""
        module = self.module("system." + systemModule)
        if module is None:
            return None
        found = dict((name, Signature(node, module)) for name, node in module.functions.items())
        found.update(self._callableAttributes(module))
        return found

    def _callableAttributes(self, module):
        """{name: Signature} of the module's annotated attributes whose class is callable
        (8.3 declares ``httpClient: JythonHttpClient``, a class with ``__call__``): called
        like a function with ``__call__``'s parameters (``self`` left out)."""
        found = {}
        for node in module.tree.body:
            if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
                continue
            ref = self._lookup(module, _name(node.annotation), 0)
            calls = [f for f in (ref.node.body if ref else ()) if
                     isinstance(f, ast.FunctionDef) and f.name == "__call__"]
            if calls:
                signature = Signature(calls[0], ref.module)
                signature.name = node.target.id
                signature.params = signature.params[1:]
                found[node.target.id] = signature
        return found

    def function(self, path):
        """The Signature of ``system.<path>`` ("db.runPrepQuery"), or None."""
        moduleName, _, name = path.rpartition(".")
        found = self.functions(moduleName) or {}
        return found.get(name)

    # --- types --------------------------------------------------------------------------
    def kind(self, signature):
        """What ``signature``'s function returns (a Kind)."""
        return self._kind(signature.module, signature.returns)

    def _kind(self, module, node):
        text = ast.unparse(node) if node is not None else "None"
        if node is None or (isinstance(node, ast.Constant) and node.value is None):
            return Kind("none", text)
        if isinstance(node, ast.Subscript):
            head = _name(node.value)
            items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            if head in _SEQUENCES:
                return Kind("sequence", text, item=self._kind(module, items[0]))
            if head in _MAPPINGS:
                return Kind("mapping", text)
            if head in ("Union", "Optional"):
                names = [_name(i) for i in items]
                if all(n in _TEXT for n in names):
                    return Kind("text", text)
                return Kind("unknown", text)
            return Kind("unknown", text)
        head = _name(node)
        if head == "Any":
            return Kind("any", text)
        if head in _TEXT:
            return Kind("text", text)
        if head in _VALUES:
            return Kind("value", text, python=head)
        ref = self.resolveClass(module, node)
        if ref is not None:
            return Kind("class", text, ref=ref)
        return Kind("unknown", text)

    def resolveClass(self, module, node):
        """The ClassRef a name (``BasicDataset``) or dotted name
        (``DatasetUtilities.PyDataSet``) of ``module`` stands for, or None."""
        path = _dotted(node)
        if not path:
            return None
        ref = self._lookup(module, path[0], 0)
        for inner in path[1:]:
            if ref is None:
                return None
            nested = [n for n in ref.node.body if isinstance(n, ast.ClassDef) and n.name == inner]
            ref = ClassRef(ref.module, nested[0], ref.qualname + "." + inner) if nested else None
        return ref

    def _lookup(self, module, name, depth):
        if module is None or depth > 5:
            return None
        if name in module.classes:
            return ClassRef(module, module.classes[name], module.dotted + "." + name)
        if name in module.imports:
            source, original = module.imports[name]
            return self._lookup(self.module(source), original, depth + 1)
        return None

    def classByName(self, qualname):
        """The ClassRef of a fully qualified class name, or None."""
        moduleName, _, name = qualname.rpartition(".")
        return self._lookup(self.module(moduleName), name, 0)

    def members(self, ref, extraBases=()):
        """Every name a script may use on an instance of ``ref`` (see the module
        docstring); ``extraBases``: qualified names of bases the stubs leave out."""
        key = (ref.qualname, tuple(extraBases))
        if key in self._members:
            return self._members[key]
        names = set(JAVA_OBJECT_MEMBERS)
        for node in ref.node.body:
            if isinstance(node, ast.FunctionDef):
                names.add(node.name)
                bean = _beanProperty(node)
                if bean:
                    names.add(bean)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.add(node.target.id)
            elif isinstance(node, ast.ClassDef):
                names.add(node.name)
        bases = [self.resolveClass(ref.module, b) for b in ref.node.bases]
        bases += [self.classByName(q) for q in extraBases]
        for base in bases:
            if base is not None:
                names |= self.members(base)
        self._members[key] = names
        return names


def _installedVersion(root):
    for entry in os.listdir(root):
        found = re.match(r"ignition_api_stubs-(.+)\.dist-info$", entry)
        if found:
            return found.group(1)
    return "unknown"


def _name(node):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Constant) and node.value is None:
        return "None"
    return None


def _dotted(node):
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return head + [node.attr] if head else None
    return None


def _beanProperty(node):
    """Jython's attribute for a Java getter: getRowCount() -> rowCount, isGood() -> good."""
    params = node.args.args
    if len(params) != 1 or node.args.vararg is not None:
        return None
    found = re.match(r"(get|is)([A-Z].*)$", node.name)
    if not found:
        return None
    rest = found.group(2)
    return rest[0].lower() + rest[1:]
