"""What every console view model shares: the colour of each status, in one place, and the
small shapes the Perspective views read (a duration, a dropdown's options).

A view model reads the API's calls through ``envelope.dataOf``, so a refusal or a database
error of the call it wraps comes back as its own envelope. The view models (api/console*)
put a ``colour`` on each row so a view only binds it; a status the console does not know is
drawn in UNKNOWN_COLOUR rather than failing.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows import codec, codes, compat, statuses
from exchange.workflows.errors import InvalidArgument

# status -> CSS colour. Run statuses and prompt statuses (a prompt's PENDING is the run's).
STATUS_COLOURS = {
    statuses.DELAYED: "#9E9E9E",
    statuses.ENQUEUED: "#78909C",
    statuses.PENDING: "#5C6BC0",
    statuses.RUNNING: "#1E88E5",
    statuses.WAITING: "#8E24AA",
    statuses.HELD: "#FB8C00",
    statuses.SUCCESS: "#43A047",
    statuses.ERROR: "#E53935",
    statuses.CANCELLED: "#757575",
    statuses.STOPPED: "#6D4C41",
    statuses.RECOVERY_EXCEEDED: "#B71C1C",
    statuses.PROMPT_ANSWERED: "#43A047",
    statuses.PROMPT_TIMED_OUT: "#757575",
}
UNKNOWN_COLOUR = "#BDBDBD"
# The text drawn on a coloured cell (every colour above is dark enough for it).
CELL_TEXT_COLOUR = "#FFFFFF"


def colourOf(status):
    """The CSS colour a view draws ``status`` in."""
    return STATUS_COLOURS.get(status, UNKNOWN_COLOUR)


def colouredCell(value, colour):
    """A Perspective table cell drawn on ``colour``: ``{value, style}`` (the table renders
    the value and styles the cell; the row keeps the plain value for sorting)."""
    return {"value": value, "style": {"backgroundColor": colour, "color": CELL_TEXT_COLOUR}}


def statusCell(status):
    """The cell of a status column: the status on its colour."""
    return colouredCell(status, colourOf(status))


def durationMs(startMs, endMs):
    """endMs - startMs, or None while either is unknown (a run not started or not ended)."""
    if startMs is None or endMs is None:
        return None
    return endMs - startMs


def options(values):
    """A Perspective dropdown's options: ``[{label, value}]`` for each value, in order."""
    return [{"label": value, "value": value} for value in values]


def parsedInputs(inputs):
    """A form's inputs: JSON text parsed (blank: none), anything else as it is. Text that
    is not JSON raises INVALID_INPUTS."""
    if not isinstance(inputs, compat.string_types):
        return inputs
    if not inputs.strip():
        return None
    try:
        return codec.decode(inputs)
    except ValueError as error:
        raise InvalidArgument(u"the inputs are not valid JSON: %s" % error,
                              codes.INVALID_INPUTS)
