"""Import hook: Ignition project library scripts under CPython 3 and Jython 2.7.

An Ignition project keeps its script library in ``<project>/ignition/script-python``; the
module ``a.b.c`` is the file ``a/b/c/code.py`` there. A folder without ``code.py`` is a
plain package; a folder with ``code.py`` is a module whose code is that file and which can
still have child modules below it (so both get a ``__path__``). When several roots are
installed (project inheritance, or an engine project plus an example project), a package's
``__path__`` spans the matching folders of every root and the first root with ``code.py``
wins, as a child project's resource overrides its parent's.

Like Ignition, the loader pre-imports ``system`` into each script module, so library code
may use ``system.db...`` without importing it.

``simulateProjectSave()`` drops every module this loader created from sys.modules, so the
next import re-executes the code (fresh module objects, fresh classes) while
``system.util.getGlobals()`` survives: what a project save does to a gateway.

The resolution logic (``_locate``, ``_initModule``, ``_execModule``) is plain functions
shared by two bindings: importlib (``find_spec``/``exec_module``) on CPython 3, PEP 302
(``find_module``/``load_module``) on Jython 2.7.
"""
from __future__ import absolute_import

import os
import sys

_ROOTS = []
_CREATED = set()
_MARK = "__ignitionScriptRoot__"


def repoRoot():
    """The repository checkout this file belongs to (tests/gateway/simulator/../../..)."""
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.dirname(os.path.dirname(os.path.dirname(here)))


def projectRoot(projectDir):
    """The script-python folder of an Ignition project folder."""
    return os.path.join(projectDir, "ignition", "script-python")


def engineRoot():
    """The script library of the exchange.workflows project in this repository."""
    return projectRoot(os.path.join(repoRoot(), "ignition"))


def roots():
    return list(_ROOTS)


def _locate(fullname):
    """(codeFile or None, [folders]) for a dotted module name, or (None, []) if not ours."""
    parts = fullname.split(".")
    folders = []
    codeFile = None
    for root in _ROOTS:
        folder = os.path.join(root, *parts)
        if os.path.isdir(folder):
            folders.append(folder)
            candidate = os.path.join(folder, "code.py")
            if codeFile is None and os.path.isfile(candidate):
                codeFile = candidate
    return codeFile, folders


def _isOurs(fullname):
    if "." not in fullname:
        return True
    parent = sys.modules.get(fullname.rsplit(".", 1)[0])
    return parent is not None and getattr(parent, _MARK, False)


def _initModule(module, fullname, codeFile, folders):
    module.__path__ = list(folders)
    module.__package__ = fullname
    setattr(module, _MARK, True)
    if codeFile is not None:
        module.__file__ = codeFile
    try:
        import system
        module.__dict__.setdefault("system", system)
    except ImportError:
        pass


def _execModule(module, codeFile):
    if codeFile is None:
        return
    with open(codeFile, "rb") as f:
        source = f.read()
    exec(compile(source, codeFile, "exec", dont_inherit=True), module.__dict__)


def _finding(fullname):
    """(codeFile, folders) when ``fullname`` is a script-library module, else None."""
    if not _ROOTS or not _isOurs(fullname):
        return None
    codeFile, folders = _locate(fullname)
    return (codeFile, folders) if folders else None


if sys.version_info[0] >= 3:
    # --- CPython 3 (importlib) binding -------------------------------------------------
    import importlib.abc  # novm
    import importlib.machinery  # novm

    class _Loader(importlib.abc.Loader):
        def __init__(self, codeFile, folders):
            self.codeFile = codeFile
            self.folders = folders

        def create_module(self, spec):
            return None

        def exec_module(self, module):
            _initModule(module, module.__name__, self.codeFile, self.folders)
            _CREATED.add(module.__name__)
            _execModule(module, self.codeFile)

        def get_filename(self, fullname):
            return self.codeFile

        def get_source(self, fullname):
            if self.codeFile is None:
                return ""
            with open(self.codeFile) as f:
                return f.read()

    class ScriptLibraryFinder(importlib.abc.MetaPathFinder):  # novm
        def find_spec(self, fullname, path=None, target=None):
            found = _finding(fullname)
            if found is None:
                return None
            codeFile, folders = found
            spec = importlib.machinery.ModuleSpec(fullname, _Loader(codeFile, folders),  # novm
                                                  origin=codeFile, is_package=True)
            spec.submodule_search_locations = list(folders)
            spec.has_location = codeFile is not None
            return spec

        def invalidate_caches(self):
            pass
else:
    # --- Jython 2.7 (PEP 302) binding --------------------------------------------------
    import imp  # novm

    class _Pep302Loader(object):
        def __init__(self, codeFile, folders):
            self.codeFile = codeFile
            self.folders = folders

        def load_module(self, fullname):
            module = sys.modules.get(fullname)
            if module is not None:
                return module
            module = imp.new_module(fullname)
            module.__loader__ = self
            sys.modules[fullname] = module
            try:
                _initModule(module, fullname, self.codeFile, self.folders)
                _CREATED.add(fullname)
                _execModule(module, self.codeFile)
            except:  # noqa: E722 - Java exceptions too: never leave a half-made module
                sys.modules.pop(fullname, None)
                _CREATED.discard(fullname)
                raise
            return sys.modules[fullname]

        def get_filename(self, fullname):
            return self.codeFile

        def is_package(self, fullname):
            return True

    class ScriptLibraryFinder(object):
        def find_module(self, fullname, path=None):
            found = _finding(fullname)
            return _Pep302Loader(*found) if found is not None else None


_FINDER = ScriptLibraryFinder()


def install(rootFolders):
    """Add script-python roots (idempotent, order kept) and install the finder first in
    sys.meta_path."""
    if isinstance(rootFolders, str):
        rootFolders = [rootFolders]
    for root in rootFolders:
        root = os.path.abspath(root)
        if root not in _ROOTS:
            _ROOTS.append(root)
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def uninstall():
    """Remove the finder and forget the roots (loaded modules stay in sys.modules)."""
    while _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
    del _ROOTS[:]


def simulateProjectSave(prefixes=None):
    """Forget every module this loader created (or only those named ``p`` or ``p.*`` for
    ``p`` in ``prefixes``) so the next import runs the code again. Returns the names."""
    removed = []
    for name in sorted(_CREATED):
        if prefixes and not any(name == p or name.startswith(p + ".") for p in prefixes):
            continue
        if sys.modules.pop(name, None) is not None:
            removed.append(name)
        _CREATED.discard(name)
    # A surviving parent must not hand out an old child through attribute access.
    for name in removed:
        if "." in name:
            parentName, child = name.rsplit(".", 1)
            parent = sys.modules.get(parentName)
            if parent is not None and getattr(parent, child, None) is not None:
                try:
                    delattr(parent, child)
                except AttributeError:
                    pass
    return removed
