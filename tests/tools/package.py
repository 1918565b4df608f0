"""Writes the project export an Ignition gateway imports: dist/exchange-workflows-<version>.zip.

The zip holds the project folder `ignition/` with `project.json` at its top, as the gateway's
project import (8.1 Config > Projects > Import, 8.3 Platform > System > Projects) and a
Designer export write it. The version is `exchange.workflows.version.VERSION`, read as text
(nothing is imported). Before writing, every resource is checked: each folder holding a
`resource.json` lists exactly the files beside it, and each `code.py`, `view.json` and
gateway event script has a `resource.json`; a broken export is refused, not shipped.
Files that are no part of a project (dot files, `__pycache__`, compiled Python) stay out.
Entries are sorted and dated 1980-01-01, so the same tree gives the same bytes.

    python3 tests/tools/package.py [--out DIR]     (make package: --out dist)
"""
from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import re
import sys
import zipfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROJECT = os.path.join(REPO, "ignition")
VERSION_FILE = os.path.join(PROJECT, "ignition", "script-python", "exchange", "workflows",
                            "version", "code.py")
NAME = "exchange-workflows-%s.zip"
# The data files a resource folder cannot exist without (a module, a view, an event script)
RESOURCE_FILES = ("code.py", "view.json", "onStartup.py", "onShutdown.py",
                  "handleTimerEvent.py")
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def version():
    with open(VERSION_FILE) as handle:
        found = re.search(r'^VERSION = "([0-9A-Za-z.+-]+)"$', handle.read(), re.MULTILINE)
    if not found:
        raise SystemExit("package: no VERSION = \"...\" in %s" % VERSION_FILE)
    return found.group(1)


def ignored(name):
    return name.startswith(".") or name == "__pycache__" or name.endswith((".pyc", "$py.class"))


def projectFiles(root=PROJECT):
    """Every file of the project, as a path relative to ``root`` with '/' separators:
    project.json first (the top of the zip), then the rest sorted."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not ignored(d)]
        for name in files:
            if not ignored(name):
                found.append(os.path.relpath(os.path.join(folder, name), root)
                             .replace(os.sep, "/"))
    return sorted(found, key=lambda path: (path != "project.json", path))


def resourceProblems(files, root=PROJECT):
    """What is wrong with the resources of the project at ``root``, given as its list of
    relative paths: a resource.json whose `files` differ from the files beside it, a
    code.py, view.json or event script without one, no project.json at the top."""
    problems = [] if "project.json" in files else ["no project.json at the top"]
    byFolder = {}
    for path in files:
        folder, _slash, name = path.rpartition("/")
        byFolder.setdefault(folder, set()).add(name)
    for folder, names in sorted(byFolder.items()):
        if "resource.json" in names:
            with open(os.path.join(root, folder, "resource.json")) as handle:
                listed = json.load(handle).get("files")
            beside = sorted(names - set(["resource.json"]))
            if sorted(listed or []) != beside:
                problems.append("%s/resource.json lists %s, the folder holds %s"
                                % (folder, listed, beside))
        elif folder and names.intersection(RESOURCE_FILES):
            problems.append("%s holds %s but no resource.json"
                            % (folder, sorted(names.intersection(RESOURCE_FILES))))
    return problems


def build(outDir, root=PROJECT):
    """Checks the project at ``root`` and writes the zip into outDir; returns its path."""
    files = projectFiles(root)
    problems = resourceProblems(files, root)
    if problems:
        raise SystemExit("package: the project is not a valid export:\n  " + "\n  ".join(problems))
    if not os.path.isdir(outDir):
        os.makedirs(outDir)
    target = os.path.join(outDir, NAME % version())
    with zipfile.ZipFile(target + ".part", "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            entry = zipfile.ZipInfo(path, ZIP_DATE)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            with open(os.path.join(root, path), "rb") as handle:
                archive.writestr(entry, handle.read())
    if os.path.exists(target):
        os.remove(target)
    os.rename(target + ".part", target)
    return target


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(REPO, "dist"),
                        help="the folder the zip is written to (default: dist/)")
    target = build(parser.parse_args(argv).out)
    print("package: %s (%d files)" % (target, len(projectFiles())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
