"""Every use of Ignition's ``system`` package in Python source, found with ``ast``.

``scan(path)`` reads one file and returns a ``Scan``:

* ``uses``: each ``system.<module>.<function>`` named (a ``Use``: path, line, the function
  path "db.runPrepQuery", and the ``ast.Call`` when it is called there);
* ``optional``: each ``compat.optionalSystemFunction("<module>.<function>")`` lookup (an
  ``OptionalLookup``), the one way to reach a function that is not everywhere;
* ``objects``: each use of what a ``system`` function returned (an ``ObjectUse``: the
  function, and "attr:<name>" or a protocol such as "__len__"), followed within the
  expression (``len(system.db.getConnectionInfo(x))``, ``f(...)[0].value``) and through a
  name assigned once in the same function (``info = ...; info.getRowCount()``); an object
  handed to another function is not followed;
* ``problems``: what the scan cannot vouch for (``from system import db``, ``system.db``
  passed around, a lookup whose name is not a string literal, ``f(*args)``), each a
  message with its file and line. A check built on the scan fails on any of them, so
  nothing escapes it. The lookup function itself is the one place that walks ``system``.

CPython 3 only (the library's code.py files are Python 2.7/3 source, which parses as 3).
"""
import ast
import os

LOOKUP = "optionalSystemFunction"
# Builtins that iterate their first argument.
_ITERATING = ("list", "tuple", "sorted", "set", "enumerate", "iter", "sum", "any", "all",
              "max", "min", "dict", "frozenset")


class Use(object):
    def __init__(self, path, line, function, call):
        self.path = path
        self.line = line
        self.function = function  # "db.runPrepQuery"
        self.call = call  # ast.Call or None (a reference, e.g. passed as a callback)

    def where(self):
        return "%s:%d" % (self.path, self.line)


class OptionalLookup(object):
    def __init__(self, path, line, function):
        self.path = path
        self.line = line
        self.function = function

    def where(self):
        return "%s:%d" % (self.path, self.line)


class ObjectUse(object):
    def __init__(self, path, line, function, what, item=False):
        self.path = path
        self.line = line
        self.function = function  # the system function that returned the object
        self.what = what  # "attr:<name>" or a protocol ("__len__", "__iter__" ...)
        self.item = item  # True: used on an element of what it returned

    def where(self):
        return "%s:%d" % (self.path, self.line)


class Scan(object):
    def __init__(self):
        self.uses = []
        self.optional = []
        self.objects = []
        self.problems = []


def sourceFiles(root, name="code.py"):
    """Every ``name`` under ``root``, sorted."""
    found = []
    for folder, _dirs, files in os.walk(root):
        if name in files:
            found.append(os.path.join(folder, name))
    return sorted(found)


def systemPath(node):
    """"db.runPrepQuery" for the expression ``system.db.runPrepQuery``, else None."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and \
            isinstance(node.value.value, ast.Name) and node.value.value.id == "system":
        return "%s.%s" % (node.value.attr, node.attr)
    return None


def scan(path, label=None):
    """The Scan of one source file (``label``: how messages name it)."""
    label = label or path
    with open(path) as handle:
        tree = ast.parse(handle.read(), path)
    _link(tree)
    result = Scan()
    named = set()  # id() of Attribute nodes already counted as system.M.F
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "system" and \
                        (alias.name != "system" or alias.asname):
                    result.problems.append("%s:%d: import only `import system`, not %s"
                                           % (label, node.lineno, ast.unparse(node)))
        elif isinstance(node, ast.ImportFrom) and node.module and \
                node.module.split(".")[0] == "system":
            result.problems.append("%s:%d: `%s`: use `import system` and system.<module>."
                                   "<function>" % (label, node.lineno, ast.unparse(node)))
        elif isinstance(node, ast.Call) and _isLookup(node.func):
            _lookup(result, label, node)
        function = systemPath(node)
        if function is not None:
            named.add(id(node))
            call = node.parent if isinstance(node.parent, ast.Call) and \
                node.parent.func is node else None
            result.uses.append(Use(label, node.lineno, function, call))
            if call is not None:
                _checkable(result, label, call)
                _follow(result, label, call, function, call, item=False)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == "system" and \
                isinstance(node.ctx, ast.Load) and _enclosingFunction(node) != LOOKUP:
            parent = node.parent
            if not (isinstance(parent, ast.Attribute) and id(parent.parent) in named):
                result.problems.append("%s:%d: `%s` escapes the check: name system.<module>."
                                       "<function> where it is used"
                                       % (label, node.lineno, ast.unparse(parent)))
    return result


def _enclosingFunction(node):
    """The name of the function ``node`` is in (the lookup itself may walk ``system``)."""
    while node is not None and not isinstance(node, ast.FunctionDef):
        node = node.parent
    return node.name if node is not None else None


def _isLookup(func):
    return (isinstance(func, ast.Attribute) and func.attr == LOOKUP) or \
        (isinstance(func, ast.Name) and func.id == LOOKUP)


def _lookup(result, label, call):
    if len(call.args) != 1 or call.keywords or not isinstance(call.args[0], ast.Constant) \
            or not isinstance(call.args[0].value, str) or call.args[0].value.count(".") != 1:
        result.problems.append("%s:%d: %s takes one literal \"<module>.<function>\""
                               % (label, call.lineno, LOOKUP))
        return
    result.optional.append(OptionalLookup(label, call.lineno, call.args[0].value))


def _checkable(result, label, call):
    for arg in call.args:
        if isinstance(arg, ast.Starred):
            result.problems.append("%s:%d: *args in a system call cannot be checked"
                                   % (label, call.lineno))
    for keyword in call.keywords:
        if keyword.arg is None:
            result.problems.append("%s:%d: **kwargs in a system call cannot be checked"
                                   % (label, call.lineno))


def _follow(result, label, expr, function, origin, item):
    """Record what is done with the value of ``expr`` (what ``function`` returned, or an
    element of it when ``item``)."""
    parent = expr.parent

    def use(what, onItem=item):
        result.objects.append(ObjectUse(label, expr.lineno, function, what, onItem))

    if isinstance(parent, ast.Attribute) and parent.value is expr:
        use("attr:" + parent.attr)
    elif isinstance(parent, ast.Subscript) and parent.value is expr:
        use("__getitem__")
        if not item:
            _follow(result, label, parent, function, origin, item=True)
    elif isinstance(parent, ast.Call) and expr in parent.args and \
            isinstance(parent.func, ast.Name):
        if parent.func.id == "len":
            use("__len__")
        elif parent.func.id in _ITERATING and parent.args[0] is expr:
            use("__iter__")
    elif isinstance(parent, (ast.For, ast.comprehension)) and parent.iter is expr:
        use("__iter__")
    elif isinstance(parent, ast.Compare) and expr in parent.comparators and \
            any(isinstance(op, (ast.In, ast.NotIn)) for op in parent.ops):
        use("__contains__")
    elif isinstance(parent, ast.Assign) and len(parent.targets) == 1 and \
            isinstance(parent.targets[0], ast.Name):
        for load in _loadsOfSingleAssignment(parent):
            _follow(result, label, load, function, origin, item)


def _loadsOfSingleAssignment(assign):
    """The loads of the name ``assign`` binds in its function, if it is bound only there."""
    name = assign.targets[0].id
    scope = assign.parent
    while scope is not None and not isinstance(scope, (ast.FunctionDef, ast.Module,
                                                       ast.Lambda)):
        scope = scope.parent
    stores = [n for n in ast.walk(scope) if isinstance(n, ast.Name) and n.id == name
              and isinstance(n.ctx, ast.Store)]
    if len(stores) != 1:
        return []
    return [n for n in ast.walk(scope) if isinstance(n, ast.Name) and n.id == name
            and isinstance(n.ctx, ast.Load)]


def _link(tree):
    tree.parent = None
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            child.parent = node
