"""`make package` writes a project export a gateway imports: the zip is unpacked here and its
layout checked against the rules of an Ignition project (project.json at the top, a complete
resource.json in every resource folder) and against the project tree it was built from."""
from __future__ import absolute_import, division, print_function

import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROJECT = os.path.join(REPO, "ignition")
sys.path.insert(0, os.path.join(REPO, "tests", "tools"))
import package  # noqa: E402  (tests/tools is no package; the script the Makefile runs)


def treeFiles(root):
    """The project's files, walked here on their own (not by the packager): dot files,
    __pycache__ and compiled Python are no part of a project."""
    found = set()
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__pycache__"]
        found.update(os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/")
                     for name in files
                     if not name.startswith(".") and not name.endswith((".pyc", "$py.class")))
    return found


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    subprocess.check_call([sys.executable, os.path.join(REPO, "tests", "tools", "package.py"),
                           "--out", str(out)])
    from exchange.workflows import version
    zips = os.listdir(str(out))
    assert zips == ["exchange-workflows-%s.zip" % version.VERSION], zips
    archive = zipfile.ZipFile(os.path.join(str(out), zips[0]))
    names = archive.namelist()
    target = tmp_path_factory.mktemp("unpacked")
    archive.extractall(str(target))
    return names, str(target)


def folders(root):
    for folder, _dirs, files in os.walk(root):
        yield folder, set(files)


def resourceOf(folder):
    with open(os.path.join(folder, "resource.json")) as handle:
        return json.load(handle)


def test_project_json_is_at_the_top_of_the_zip(unpacked):
    names, root = unpacked
    assert names[0] == "project.json", names[:3]
    with open(os.path.join(root, "project.json")) as handle:
        project = json.load(handle)
    assert project["title"] and project["enabled"] is True and project["inheritable"] is True
    assert set(n.split("/")[0] for n in names) == set(
        ["project.json", "ignition", "com.inductiveautomation.perspective"]), \
        "only project.json, the module folders (ignition/) and the Perspective resources"


def test_every_resource_json_lists_exactly_the_files_beside_it(unpacked):
    _names, root = unpacked
    resources = 0
    for folder, files in folders(root):
        if "resource.json" not in files:
            continue
        resources += 1
        resource = resourceOf(folder)
        assert set(resource) >= set(["scope", "version", "restricted", "overridable", "files",
                                     "attributes"]), folder
        assert sorted(resource["files"]) == sorted(files - set(["resource.json"])), folder
    assert resources >= 40


def test_every_module_and_view_is_a_resource(unpacked):
    _names, root = unpacked
    modules = 0
    for folder, files in folders(root):
        if "code.py" in files:
            modules += 1
            resource = resourceOf(folder)
            assert resource["scope"] == "A" and resource["files"] == ["code.py"], folder
        if "view.json" in files:
            resource = resourceOf(folder)
            assert "view.json" in resource["files"] and resource["scope"] == "G", folder
    assert modules >= 40


def test_the_zip_holds_the_project_tree_and_nothing_else(unpacked):
    names, _root = unpacked
    assert len(names) == len(set(names))
    assert set(names) == treeFiles(PROJECT)
    for name in names:
        parts = name.split("/")
        assert not any(part.startswith(".") for part in parts), name
        assert "tests" not in parts and "__pycache__" not in parts, name


def test_a_broken_resource_is_refused_not_packaged(tmp_path):
    """The packager's own check: a resource.json that lists a file the folder lacks, and a
    module without resource.json, stop the build (no zip is written)."""
    project = tmp_path / "project"
    shutil.copytree(os.path.join(PROJECT, "ignition", "startup"),
                    str(project / "ignition" / "startup"))
    shutil.copy(os.path.join(PROJECT, "project.json"), str(project / "project.json"))
    assert package.resourceProblems(package.projectFiles(str(project)), str(project)) == []
    (project / "ignition" / "startup" / "extra.py").write_text(u"pass\n")
    module = project / "ignition" / "script-python" / "plant" / "mixing"
    module.mkdir(parents=True)
    (module / "code.py").write_text(u'"""m"""\n')
    problems = package.resourceProblems(package.projectFiles(str(project)), str(project))
    assert len(problems) == 2, problems
    assert "startup/resource.json lists" in problems[1] and "mixing holds" in problems[0]
    with pytest.raises(SystemExit):
        package.build(str(tmp_path / "dist"), root=str(project))
    assert not (tmp_path / "dist").exists() or os.listdir(str(tmp_path / "dist")) == []


def test_docker_compose_runs_postgres_by_default_and_a_gateway_on_request():
    """docker-compose.yml parses; postgres has no profile (it starts by default) and the same
    image as the tests' container; the gateway only with the profile "gateway", with the
    variables the Ignition image needs and this project mounted as a gateway project."""
    import yaml
    from simulator import pgserver
    with open(os.path.join(REPO, "docker-compose.yml")) as handle:
        compose = yaml.safe_load(handle)
    postgres, gateway = compose["services"]["postgres"], compose["services"]["gateway"]
    assert "profiles" not in postgres and postgres["image"] == pgserver.POSTGRES_IMAGE
    assert gateway["profiles"] == ["gateway"]
    assert gateway["image"].startswith("inductiveautomation/ignition:")
    assert set(gateway["environment"]) >= set(["ACCEPT_IGNITION_EULA", "GATEWAY_ADMIN_USERNAME",
                                               "GATEWAY_ADMIN_PASSWORD", "IGNITION_EDITION"])
    assert gateway["environment"]["ACCEPT_IGNITION_EULA"] == "Y"
    mounts = dict(volume.split(":", 1) for volume in gateway["volumes"])
    assert mounts["./ignition"].startswith("/usr/local/bin/ignition/data/projects/")
    assert gateway["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_the_install_chapter_gives_8_1_the_calls_the_8_3_scripts_make():
    """On 8.1 the three event scripts are typed into the Designer from docs/install.md: each
    line there must be the call the shipped 8.3 script makes, with the timer's settings."""
    import re
    with open(os.path.join(REPO, "docs", "install.md")) as handle:
        manual = handle.read()
    table = manual.split("### 8.1: three lines in the Designer", 1)[1].split("###", 1)[0]
    rows = dict((row[0].strip(), row[1:]) for row in
                (line.strip("|").split("|") for line in table.splitlines()
                 if line.startswith("| ") and "`" in line))
    shipped = [("Startup", "startup/onStartup.py"), ("Shutdown", "shutdown/onShutdown.py"),
               ("Timer, named `dispatch`", "timer/dispatch/handleTimerEvent.py")]
    for event, script in shipped:
        with open(os.path.join(PROJECT, "ignition", script)) as handle:
            body = [line.strip() for line in handle.read().splitlines()[1:]
                    if line.strip() and not line.strip().startswith("#")]
        assert len(body) == 1, script
        assert re.match(r"\s*`%s`" % re.escape(body[0]), rows[event][1]), (event, body[0])
    with open(os.path.join(PROJECT, "ignition", "timer", "dispatch", "resource.json")) as handle:
        timer = json.load(handle)["attributes"]
    settings = rows["Timer, named `dispatch`"][0]
    assert "Delay %d ms" % timer["delay"] in settings and "Fixed Delay" in settings
    assert ("Dedicated" if not timer["sharedThread"] else "Shared") in settings
