"""A stand-in Perspective for the view harness: read the project's views, find every script in
them, and run each the way a Perspective session would, against the gateway simulator.

A script is the body Ignition stores (indented with tabs) of one of five functions:
``transform(self, value, quality, timestamp)`` (a binding's script transform),
``valueChanged(self, previousValue, currentValue, origin, missedEvents)`` (a property's change
script), ``runAction(self, event)`` (a component event), ``<name>(self, ...)`` (a custom method)
and ``onMessageReceived(self, payload)`` (a message handler). ``self`` is a ``Component`` built
from the view's JSON: ``props``, ``custom``, ``meta``, ``parent``, ``getSibling``,
``getChild``, ``view`` (``params``, ``custom``, ``rootContainer``), ``session`` (``props.auth
.user``) and ``page``. Reading a property the tree does not hold raises AttributeError, as
Perspective does, so a script that reads a missing key fails; ``exchange`` resolves the
project library lazily, as Ignition does, and a name it cannot find fails with the dotted
name it asked for. Every expression's references resolve and its value is computed
(tests/perspective_expressions.py); a transform's result is written to its bound property, so
later scripts see the shapes the library returned. Beyond exceptions, a run fails on: an
envelope answering a caller-mistake or internal code the scenario does not expect, a row
event of a table without rows, a column whose field is not a key of its rows, and anything
the harness does not run (other actions, binding or transform types). Python 2.7/3 code: it
runs under pytest and Jython.
"""
from __future__ import absolute_import, division, print_function

import json
import os
import re
import time

import perspective_expressions as expressions

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
PERSPECTIVE = os.path.join(os.path.dirname(TESTS_DIR), "ignition",
                           "com.inductiveautomation.perspective")
VIEWS = os.path.join(PERSPECTIVE, "views")


def readJson(path):
    with open(path) as handle:
        return json.load(handle)


def viewPaths(root=VIEWS):
    """Every view's path as Perspective names it (``Exchange/Workflows/Runs``), sorted."""
    found = []
    for folder, _dirs, files in os.walk(root):
        if "view.json" in files:
            found.append(os.path.relpath(folder, root).replace(os.sep, "/"))
    return sorted(found)


def loadView(viewPath, root=VIEWS):
    return readJson(os.path.join(root, *viewPath.split("/")) + os.sep + "view.json")


def routes():
    """The page configuration's URL patterns -> view paths."""
    config = readJson(os.path.join(PERSPECTIVE, "page-config", "config.json"))
    return dict((url, page["viewPath"]) for url, page in config["pages"].items())


def routeMatches(url):
    """True when a page URL (``/workflows/run/abc``) matches a configured route."""
    for pattern in routes():
        regex = "^" + re.sub(r":\w+", "[^/]+", pattern) + "$"
        if re.match(regex, url.split("?")[0]):
            return True
    return False


# ---------------------------------------------------------------------------- property trees

def _plain(value):
    if isinstance(value, PropertyTree):
        return value._data
    if isinstance(value, PropertyList):
        return [_plain(item) for item in value]
    return value


def _wrap(value, where):
    if isinstance(value, dict):
        return PropertyTree(value, where)
    if isinstance(value, list):
        return PropertyList([_wrap(item, "%s[%d]" % (where, i)) for i, item in enumerate(value)])
    return value


class PropertyList(list):
    """An array property read by a script: its objects read as trees."""


class PropertyTree(object):
    """An object property: attribute and item access; a missing key is an AttributeError
    (KeyError by item) naming where it was looked for."""

    def __init__(self, data, where):
        object.__setattr__(self, "_data", data)
        object.__setattr__(self, "_where", where)

    def __getattr__(self, name):
        data = object.__getattribute__(self, "_data")
        if name not in data:
            raise AttributeError("no property %r at %s (it has %s)"
                                 % (name, self._where, sorted(data)))
        return _wrap(data[name], self._where + "." + name)

    def __setattr__(self, name, value):
        self._data[name] = _plain(value)

    def __getitem__(self, name):
        if name not in self._data:
            raise KeyError("no property %r at %s" % (name, self._where))
        return _wrap(self._data[name], "%s.%s" % (self._where, name))

    def __setitem__(self, name, value):
        self._data[name] = _plain(value)

    def __contains__(self, name):
        return name in self._data

    def __iter__(self):
        return iter(list(self._data))

    def __len__(self):
        return len(self._data)

    def get(self, name, default=None):
        return self[name] if name in self._data else default

    def keys(self):
        return list(self._data)

    def items(self):
        return [(k, self[k]) for k in self._data]

    def values(self):
        return [self[k] for k in self._data]

    def __repr__(self):
        return "PropertyTree(%s: %r)" % (self._where, self._data)


def readPath(root, path):
    """The value at a dotted path with ``[n]`` indexes (``custom.rows[0].name``) of a dict."""
    value = root
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if part.startswith("["):
            value = value[int(part[1:-1])]
        else:
            if not isinstance(value, dict) or part not in value:
                raise KeyError("binding path %s: no %r" % (path, part))
            value = value[part]
    return value


def writePath(root, path, value):
    parts = path.split(".")
    for part in parts[:-1]:
        root = root.setdefault(part, {})
    root[parts[-1]] = value


# ---------------------------------------------------------------------------- the components

class Session(object):
    """``self.session``: its props (``auth.user``: userName, roles) and custom props."""

    def __init__(self, userName="operator", roles=("Operator", "Administrator"), custom=None):
        self.props = PropertyTree({
            "id": "session-1", "auth": {"authenticated": True, "user": {
                "userName": userName, "roles": list(roles), "id": userName}},
            "host": "127.0.0.1", "locale": "en-US", "timeZoneId": "UTC"}, "session.props")
        self.custom = PropertyTree(dict(custom or {}), "session.custom")


class Page(object):
    def __init__(self, path):
        self.props = PropertyTree({"path": path, "primaryView": "", "pageId": "page-1"},
                                  "page.props")


class View(object):
    """``self.view``: params (the view's declared params, overridden by ``params``),
    custom, props, rootContainer."""

    def __init__(self, viewPath, definition, session, page, params=None):
        self.id = viewPath
        self.definition = definition
        self.session = session
        self.page = page
        self.tree = {"params": dict(definition.get("params", {})),
                     "custom": dict(definition.get("custom", {})),
                     "props": dict(definition.get("props", {}))}
        self.tree["params"].update(params or {})
        self.params = PropertyTree(self.tree["params"], viewPath + " view.params")
        self.custom = PropertyTree(self.tree["custom"], viewPath + " view.custom")
        self.props = PropertyTree(self.tree["props"], viewPath + " view.props")
        self.rootContainer = Component(definition["root"], self, None)

    def getChild(self, path):
        return self.rootContainer.getChild(path)


class Component(object):
    """``self`` of a component's scripts."""

    def __init__(self, node, view, parent):
        self.node = node
        self.view = view
        self.session = view.session
        self.page = view.page
        self.parent = parent
        self.name = node.get("meta", {}).get("name", "")
        self.type = node.get("type", "")
        self.tree = {"props": node.setdefault("props", {}),
                     "custom": node.setdefault("custom", {}),
                     "meta": node.setdefault("meta", {}),
                     "position": node.setdefault("position", {})}
        where = "%s %s" % (view.id, self.path())
        self.props = PropertyTree(self.tree["props"], where + ".props")
        self.custom = PropertyTree(self.tree["custom"], where + ".custom")
        self.meta = PropertyTree(self.tree["meta"], where + ".meta")
        self.position = PropertyTree(self.tree["position"], where + ".position")
        self.children = [Component(child, view, self) for child in node.get("children", [])]
        self._methods = {}

    def path(self):
        return (self.parent.path() + "/" if self.parent else "") + self.name

    def getChild(self, path):
        here = self
        for name in path.split("/"):
            found = [c for c in here.children if c.name == name]
            if not found:
                raise AttributeError("%s has no child %r" % (here.path(), name))
            here = found[0]
        return here

    def getSibling(self, name):
        if self.parent is None:
            raise AttributeError("%s is the root and has no siblings" % self.path())
        return self.parent.getChild(name)

    def __getattr__(self, name):
        methods = self.__dict__.get("_methods", {})
        if name in methods:
            return methods[name]
        raise AttributeError("%s has no attribute or custom method %r" % (self.path(), name))

    def walk(self):
        yield self
        for child in self.children:
            for component in child.walk():
                yield component


ROW_EVENTS = re.compile(r"Row|Cell")


class Event(object):
    """``event`` of a component event: the fields Perspective's events carry. A table's row
    event carries its first row as ``value``; a row event of a table with no rows fails, so
    a column/row-key mismatch cannot hide behind an invented row."""

    def __init__(self, source, eventName=""):
        self.source = source
        self.timestamp = int(time.time() * 1000)
        rows = source.tree["props"].get("data")
        self.value = None
        if ROW_EVENTS.search(eventName):
            if not isinstance(rows, list) or not rows:
                raise AssertionError("%s has a row event (%s) but no rows: give it data in "
                                     "its scenario" % (source.path(), eventName))
            self.value = _wrap(rows[0], "event.value")
        self.data = self.value
        self.row = 0
        self.column = ""


class QualifiedValue(object):
    """``previousValue`` / ``currentValue`` of a property change script."""

    def __init__(self, value):
        self.value = value
        self.quality = 192
        self.timestamp = int(time.time() * 1000)


# ---------------------------------------------------------------------------- the globals

FAILING_CODES = ("MISSING_ARGUMENT", "INVALID_ARGUMENT", "VALUE_TOO_LONG", "INTERNAL_ERROR")


class Envelopes(object):
    """What every library call of a run answered: (script label, dotted name, code, message),
    the label being the script running when the call was made."""

    def __init__(self):
        self.current = ""
        self.answers = []

    def record(self, dotted, result):
        if isinstance(result, dict) and "ok" in result and "code" in result:
            self.answers.append((self.current, dotted, result["code"], result.get("message")))


def _recorded(function, dotted, envelopes):
    def call(*args, **kwargs):
        result = function(*args, **kwargs)
        envelopes.record(dotted, result)
        return result
    return call


_PLAIN = (dict, list, tuple, set, str, type(u""), int, float, bool, type(None))


def _importModule(dotted):
    """The module ``dotted`` as ``__import__`` returns it (Jython's importlib reads it back
    from sys.modules, where a simulated project save may have left another name)."""
    return __import__(dotted, fromlist=["__name__"])


class Library(object):
    """The project library as a script sees it: ``exchange.a.b.f`` without an import. A
    name that is neither an attribute nor an importable module fails with its dotted name;
    every function called through it records its envelope in ``envelopes``."""

    def __init__(self, dotted, target=None, envelopes=None):
        self._dotted = dotted
        self._target = target
        self._envelopes = envelopes if envelopes is not None else Envelopes()

    def _resolve(self):
        if self._target is None:
            self._target = _importModule(self._dotted)
        return self._target

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        dotted = self._dotted + "." + name
        target = self._resolve()
        if hasattr(target, name):
            value = getattr(target, name)
            if isinstance(value, type) or isinstance(value, _PLAIN):
                return value
            if callable(value):
                return _recorded(value, dotted, self._envelopes)
            return Library(dotted, value, self._envelopes)
        try:
            return Library(dotted, _importModule(dotted), self._envelopes)
        except ImportError:
            raise AttributeError("the view calls %s, which the project library does not have"
                                 % dotted)


class Perspective(object):
    """``system.perspective``: records what scripts ask of the session; navigation must name
    a configured page and popups an existing view."""

    def __init__(self):
        self.calls = []

    def navigate(self, page=None, url=None, view=None, params=None, newTab=False):
        target = page or url
        if target is not None and not routeMatches(target):
            raise ValueError("navigate to %r: no page configuration route matches" % target)
        if view is not None and view not in viewPaths():
            raise ValueError("navigate to view %r: no such view" % view)
        self.calls.append(("navigate", target or view))

    def openPopup(self, id, view, params=None, **options):
        if view not in viewPaths():
            raise ValueError("openPopup %r: no such view" % view)
        self.calls.append(("openPopup", id, view))

    def closePopup(self, id=None, **options):
        self.calls.append(("closePopup", id))

    def sendMessage(self, messageType, payload=None, scope="page", **options):
        self.calls.append(("sendMessage", messageType, scope, payload))


class System(object):
    """``system``: the simulator's, with ``system.perspective`` from this module."""

    def __init__(self, perspective):
        import system
        self._system = system
        self.perspective = perspective

    def __getattr__(self, name):
        return getattr(self._system, name)


# ---------------------------------------------------------------------------- the scripts

class Script(object):
    """One script of a view: kind (transform, change, method, handler, event), its component,
    the function Ignition wraps its body in, and for a transform (a binding with transforms)
    or a change script the property it writes or watches."""

    def __init__(self, kind, owner, name, signature, body, target=None, binding=None):
        self.kind = kind
        self.owner = owner  # component path in the view, "" for the view's own bindings
        self.name = name
        self.signature = signature
        self.body = body
        self.target = target
        self.binding = binding

    def label(self):
        return "%s %s %s" % (self.kind, self.owner or "(view)", self.name)

    def function(self, namespace):
        source = "def %s:\n%s\n" % (self.signature, self.body if self.body.strip() else "\tpass")
        code = compile(source.replace("\r\n", "\n"), "<%s>" % self.label(), "exec")
        scope = {}
        exec(code, namespace, scope)
        return scope[self.signature.split("(")[0]]


TRANSFORMS_RUN = ("script", "expression")
BINDINGS_RUN = ("property", "expr", "expr-struct")


def _transforms(owner, propConfig):
    """A binding with transforms is one script: its value through each transform in turn."""
    for prop, config in sorted(propConfig.items()):
        binding = config.get("binding") or {}
        if binding.get("transforms"):
            code = [t.get("code", "") for t in binding["transforms"] if t.get("type") == "script"]
            yield Script("transform", owner, prop, "transform(self, value, quality, timestamp)",
                         code[0] if code else "", prop, binding)


def _changes(owner, propConfig):
    for prop, config in sorted(propConfig.items()):
        if (config.get("onChange") or {}).get("script") is not None:
            yield Script("change", owner, prop,
                         "valueChanged(self, previousValue, currentValue, origin, missedEvents)",
                         config["onChange"]["script"], prop)


def _actions(events):
    for category, handlers in sorted(events.items()):
        for eventName, handler in sorted(handlers.items()):
            for action in handler if isinstance(handler, list) else [handler]:
                yield category + "." + eventName, action


def _events(owner, events):
    for name, action in _actions(events):
        if action.get("type") == "script" and action.get("scope") == "G":
            yield Script("event", owner, name, "runAction(self, event)",
                         action["config"]["script"])


def _visit(definition, visitor):
    """visitor(owner, node) for the view itself ("", its own propConfig) then every
    component in tree order."""
    visitor("", {"propConfig": definition.get("propConfig", {})})

    def visit(node, owner):
        visitor(owner, node)
        for child in node.get("children", []):
            visit(child, owner + "/" + child.get("meta", {}).get("name", ""))
    visit(definition["root"], definition["root"].get("meta", {}).get("name", "root"))


def notRun(definition):
    """[(label, message)] of what the harness does not run, so none is skipped silently:
    actions other than gateway-scoped scripts, binding and transform types it cannot read."""
    found = []

    def visitor(owner, node):
        where = owner or "(view)"
        for name, action in _actions(node.get("events", {})):
            if action.get("type") != "script" or action.get("scope") != "G":
                found.append(("event %s %s" % (where, name), "a %s action of scope %s is not "
                              "run by the harness" % (action.get("type"), action.get("scope"))))
        for prop, config in sorted(node.get("propConfig", {}).items()):
            binding = config.get("binding") or {}
            kinds = [t.get("type") for t in binding.get("transforms", [])]
            unknown = [k for k in kinds if k not in TRANSFORMS_RUN]
            if binding and binding.get("type") not in BINDINGS_RUN:
                unknown.insert(0, "binding " + str(binding.get("type")))
            if unknown or kinds.count("script") > 1:
                found.append(("binding %s %s" % (where, prop), "not run by the harness: %s"
                              % ", ".join(unknown or ["more than one script transform"])))
    _visit(definition, visitor)
    return found


def plainBindings(definition):
    """(owner, prop, binding) of every binding without transforms (a property or an
    expression read as it is), the view's first, then each component's in tree order."""
    found = []

    def visitor(owner, node):
        for prop, config in sorted(node.get("propConfig", {}).items()):
            binding = config.get("binding") or {}
            if binding and not binding.get("transforms"):
                found.append((owner, prop, binding))
    _visit(definition, visitor)
    return found


def _componentScripts(node, owner):
    scripts = list(_transforms(owner, node.get("propConfig", {})))
    scripts.extend(_changes(owner, node.get("propConfig", {})))
    block = node.get("scripts") or {}
    for method in block.get("customMethods") or []:
        params = ", ".join(["self"] + list(method.get("params", [])))
        scripts.append(Script("method", owner, method["name"],
                              "%s(%s)" % (method["name"], params), method["script"]))
    for handler in block.get("messageHandlers") or []:
        scripts.append(Script("handler", owner, handler["messageType"],
                              "onMessageReceived(self, payload)", handler["script"]))
    scripts.extend(_events(owner, node.get("events", {})))
    return scripts


def scriptsOf(definition):
    """Every script of a view, the view's bindings first, then each component's in tree
    order (its bindings, change scripts, custom methods, message handlers, events)."""
    scripts = []
    _visit(definition, lambda owner, node: scripts.extend(_componentScripts(node, owner)))
    return scripts


def tables(definition):
    """(owner, node) of every component with ``props.columns``."""
    found = []
    _visit(definition, lambda owner, node: found.append((owner, node))
           if isinstance(node.get("props", {}).get("columns"), list) else None)
    return found


def _bound(function, component):
    return lambda *args, **kwargs: function(component, *args, **kwargs)


class Harness(object):
    """Runs the scripts of one view against a stand-in session; ``library`` is what the
    name ``exchange`` means to them (the project library by default). A scenario may give
    ``expect`` ({script label: code} of an envelope it means the script to get),
    ``payloads`` ({messageType: payload}) and ``arguments`` ({method name: [args]})."""

    def __init__(self, viewPath, definition=None, params=None, library=None, session=None,
                 expect=None, payloads=None, arguments=None):
        self.viewPath = viewPath
        self.definition = json.loads(json.dumps(definition or loadView(viewPath)))
        self.perspective = Perspective()
        self.view = View(viewPath, self.definition, session or Session(),
                         Page("/workflows"), params)
        self.envelopes = Envelopes()
        self.expect = dict(expect or {})
        self.payloads = dict(payloads or {})
        self.arguments = dict(arguments or {})
        self.namespace = {"system": System(self.perspective),
                          "exchange": Library("exchange", library, self.envelopes)}

    def component(self, owner):
        """``self`` of a script: the view for the view's own bindings, else the component."""
        if not owner:
            return self.view
        parts = owner.split("/")[1:]
        return self.view.getChild("/".join(parts)) if parts else self.view.rootContainer

    def bindingValue(self, binding, component):
        """What a binding reads: a property, or an expression (or a struct of them) whose
        every reference must resolve, evaluated in the harness's subset."""
        config = binding.get("config", {})
        resolve = lambda path: self._resolve(path, component)
        if binding.get("type") == "property":
            return resolve(config["path"])
        if binding.get("type") == "expr":
            return expressions.evaluate(config.get("expression", ""), resolve)
        if binding.get("type") == "expr-struct":
            return dict((key, expressions.evaluate(expression, resolve))
                        for key, expression in config.get("struct", {}).items())
        raise expressions.Unsupported("a %s binding is not run by the harness"
                                      % binding.get("type"))

    def _resolve(self, path, component):
        if "." not in path:
            raise KeyError("binding path %s: no scope" % path)
        scope, rest = path.split(".", 1)
        if scope == "view":
            return readPath(self.view.tree, rest)
        if scope == "this":
            return readPath(component.tree, rest)
        if scope == "session":
            return readPath({"props": self.view.session.props._data,
                             "custom": self.view.session.custom._data}, rest)
        if scope == "page":
            return readPath({"props": self.view.page.props._data}, rest)
        raise KeyError("binding path %s: unknown scope" % path)

    def bindMethods(self, scripts):
        """Custom methods become callable attributes of their component."""
        for script in scripts:
            if script.kind == "method":
                component = self.component(script.owner)
                component._methods[script.name] = _bound(script.function(self.namespace),
                                                         component)

    def transformed(self, script, component):
        """A binding's value through each of its transforms in turn."""
        value = self.bindingValue(script.binding, component)
        for transform in script.binding["transforms"]:
            if transform.get("type") == "script":
                value = _plain(script.function(self.namespace)(
                    component, value, 192, int(time.time() * 1000)))
            elif transform.get("type") == "expression":
                current = value
                value = expressions.evaluate(
                    transform.get("expression", ""),
                    lambda path: current if path == "value" else self._resolve(path, component))
            else:
                raise expressions.Unsupported("a %s transform is not run by the harness"
                                              % transform.get("type"))
        return value

    def run(self, script):
        """Run one script; a transform's result lands in its bound property."""
        self.envelopes.current = script.label()
        component = self.component(script.owner)
        if script.kind == "transform":
            result = self.transformed(script, component)
            writePath(component.tree, script.target, result)
            return result
        function = script.function(self.namespace)
        if script.kind == "change":
            current = readPath(component.tree, script.target)
            return function(component, QualifiedValue(None), QualifiedValue(current),
                            "Binding", False)
        if script.kind == "event":
            return function(component, Event(component, script.name))
        if script.kind == "handler":
            if script.name not in self.payloads:
                raise AssertionError("message handler %s has no payload in its scenario"
                                     % script.name)
            return function(component, self.payloads[script.name])
        arity = function.__code__.co_argcount - 1
        return function(component, *self.arguments.get(script.name, [None] * arity))

    def applyPlainBindings(self):
        """Write what each binding without transforms reads into its property (a table's
        ``props.data`` bound to ``view.custom.runs.rows``, a button's ``props.enabled``), as
        the session would once the transforms ran; [(label, error text)] of those that fail."""
        failures = []
        for owner, prop, binding in plainBindings(self.definition):
            component = self.component(owner)
            try:
                value = self.bindingValue(binding, component)
            except (KeyError, AttributeError, IndexError, TypeError,
                    expressions.Unsupported) as error:
                failures.append(("binding %s %s" % (owner or "(view)", prop),
                                 "%s: %s" % (type(error).__name__, error)))
                continue
            writePath(component.tree, prop, _plain(value))
        return failures

    def columnFailures(self):
        """[(label, text)] of table columns whose ``field`` is not a key of the table's rows."""
        failures = []
        for owner, node in tables(self.definition):
            rows = self.component(owner).tree["props"].get("data")
            if not isinstance(rows, list) or not rows or not isinstance(rows[0], dict):
                continue
            for column in node["props"]["columns"]:
                field = column.get("field")
                if field and field not in rows[0]:
                    failures.append(("columns %s" % owner, "column field %r is not a key of "
                                     "the rows in props.data (%s)" % (field, sorted(rows[0]))))
        return failures

    def envelopeFailures(self):
        """[(label, text)] of library calls that answered a failing code the scenario did
        not expect, and of expected codes no call answered."""
        failures, seen = [], set()
        for label, dotted, code, message in self.envelopes.answers:
            seen.add((label, code))
            if code in FAILING_CODES and self.expect.get(label) != code:
                failures.append((label, "%s answered %s: %s" % (dotted, code, message)))
        for label, code in sorted(self.expect.items()):
            if (label, code) not in seen:
                failures.append((label, "the scenario expects %s, no call answered it" % code))
        return failures

    def runAll(self):
        """Run every script of the view (transforms, then the bindings without transforms,
        then change scripts, methods, handlers and events), then check the tables' columns
        and every envelope; [(label, error text)] of all that failed, starting with what the
        harness does not run."""
        scripts = scriptsOf(self.definition)
        self.bindMethods(scripts)
        order = {"transform": 0, "change": 1, "method": 2, "handler": 3, "event": 4}
        failures = notRun(self.definition)
        ordered = sorted(scripts, key=lambda s: order[s.kind])
        for index, script in enumerate(ordered):
            if script.kind != "transform" and (index == 0 or
                                               ordered[index - 1].kind == "transform"):
                failures.extend(self.applyPlainBindings())
            try:
                self.run(script)
            except Exception as error:  # every failure is reported, with its script
                failures.append((script.label(), "%s: %s" % (type(error).__name__, error)))
        if not any(s.kind != "transform" for s in ordered):
            failures.extend(self.applyPlainBindings())
        return failures + self.columnFailures() + self.envelopeFailures()
