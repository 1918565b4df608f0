"""The release of the library: one constant, read by `make package` (the zip's name) and
readable on a gateway (`exchange.workflows.version.VERSION`), so the file an engineer
imported and the code a gateway runs can be told apart by the same string.

0.x while the design is still growing; the minor number is the issue that last changed
what the project ships.
"""
from __future__ import absolute_import, division, print_function

VERSION = "0.15.0"
