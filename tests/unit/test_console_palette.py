"""The console draws a status in one colour everywhere: the stylesheet's ``--wf-<status>``
variables (the Runs chart's series) are the colours the view models put on table cells
(``consolecommon.STATUS_COLOURS``), every status has one, and nothing else is declared.
No database: the stylesheet is read as text."""
from __future__ import absolute_import, division, print_function

import os
import re

from exchange.workflows.api import consolecommon

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STYLESHEET = os.path.join(REPO, "ignition", "com.inductiveautomation.perspective",
                          "stylesheet", "stylesheet.css")
VARIABLE = re.compile(r"--wf-([a-z_]+):\s*(#[0-9A-Fa-f]{6});")


def stylesheetColours():
    with open(STYLESHEET) as f:
        return dict((name, colour.upper()) for name, colour in VARIABLE.findall(f.read()))


def test_the_stylesheet_and_the_view_models_share_one_palette():
    expected = dict((status.lower(), colour.upper())
                    for status, colour in consolecommon.STATUS_COLOURS.items())
    expected["unknown"] = consolecommon.UNKNOWN_COLOUR.upper()
    assert stylesheetColours() == expected
