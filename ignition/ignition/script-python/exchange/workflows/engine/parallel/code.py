"""Parallel steps: several step calls of a workflow run at once, and the workflow waits for
all of them or for the first to succeed (``runtime.runParallel``).

Replay must line up whatever finished first, so the calling thread reserves the positions
before anything runs: one per call, in call order, then (mode "first") one more, ``<first>``,
that records which call won. On replay a recorded step returns its result without running;
the rest run on the step pool (a bounded pool of its own in the kernel, so parallel steps
never take the workflow pool's threads). Each runs as a plain step (engine.steps: its own
retries, its checkpoint one short fenced transaction) under a context of its own thread
(``StepThread``): only the calling thread takes positions. docs/writing-workflows.md,
"Parallel steps"; docs/architecture.md, "Parallel steps and their positions".
"""
from __future__ import absolute_import, division, print_function

import threading

from exchange.workflows import compat, platform
from exchange.workflows.engine import boundary, context, kernel, steps
from exchange.workflows.errors import ControlSignal, InvalidArgument

ALL = "all"
FIRST = "first"
WINNER = "<first>"  # the operation recording which call of a "first" group won
_WAIT_SLICE_S = 1.0
# what a call's thread hands to the workflow's thread: a step's StepError, a control signal
# (crash, cancel, lost ownership), or anything else that would end a sequential step call
_ANYTHING = (BaseException,) + tuple(compat.CATCHABLE)


class Call(object):
    """One step call of a group: the step's definition and its arguments."""

    def __init__(self, function, args=(), kwargs=None):
        self.function = function
        self.definition = getattr(function, "stepDefinition", None)
        self.args = tuple(args)
        self.kwargs = dict(kwargs or {})


def calls(items):
    """The Calls ``items`` names: each a step function, or a tuple (step, args) or
    (step, args, kwargs). Anything else raises InvalidArgument."""
    if not isinstance(items, (list, tuple)):
        raise InvalidArgument(u"calls must be a list of steps or (step, args, kwargs) "
                              u"tuples: %s" % compat.shown(items))
    found = []
    for item in items:
        parts = tuple(item) if isinstance(item, tuple) else (item,)
        if not 1 <= len(parts) <= 3 or getattr(parts[0], "stepDefinition", None) is None or \
                (len(parts) > 1 and not isinstance(parts[1], (list, tuple))) or \
                (len(parts) > 2 and not isinstance(parts[2], dict)):
            raise InvalidArgument(u"each call is a @step function or a (step, args[, kwargs]) "
                                  u"tuple: %s" % compat.shown(item))
        found.append(Call(*parts))
    return found


def run(items, mode=ALL):
    """``runtime.runParallel``: the results in call order (mode "all"), or (index, result)
    of the first call to succeed (mode "first"); see docs/writing-workflows.md."""
    if mode not in (ALL, FIRST):
        raise InvalidArgument(u"mode must be %r or %r: %s" % (ALL, FIRST, compat.shown(mode)))
    group = calls(items)
    if mode == FIRST and not group:
        raise InvalidArgument(u"mode 'first' needs at least one call")
    ctx = context.current()
    if ctx is None or ctx.inStep:
        return _inline(group, mode)
    return boundary.closing(ctx, lambda: _durably(ctx, group, mode))


def _inline(group, mode):
    """Outside a workflow (or inside a step): the calls one after another on this thread."""
    outcomes = []
    for index, call in enumerate(group):
        try:
            value = call.function(*call.args, **call.kwargs)
        except compat.CATCHABLE as error:
            outcomes.append((False, error))
            continue
        if mode == FIRST:
            return index, value
        outcomes.append((True, value))
    return _all(outcomes)


def _durably(ctx, group, mode):
    """In a workflow: reserve the positions, replay what is recorded, run the rest."""
    positions = [boundary.nextOperation(ctx) for _call in group]
    winner = boundary.nextOperation(ctx) if mode == FIRST else None
    outcomes = [None] * len(group)
    for index, (call, (position, recorded)) in enumerate(zip(group, positions)):
        if recorded is not None:
            outcomes[index] = _replayed(call, position, recorded)
    if mode == FIRST:
        won = _decided(winner, outcomes)
        if won is not None and winner[1] is not None:
            return won, outcomes[won][1]
        if won is not None:
            return _declare(ctx, winner[0], won, outcomes[won][1])
    pending = Pending(outcomes, mode)
    for index, call in enumerate(group):
        if outcomes[index] is None:
            _submit(ctx, pending, index, call, positions[index][0])
    pending.wait()
    if mode == FIRST and pending.winner is not None:
        return _declare(ctx, winner[0], pending.winner, outcomes[pending.winner][1])
    return _all(outcomes)


def _replayed(call, position, recorded):
    """The outcome (succeeded, value or error) of a recorded call; a mismatch raises."""
    try:
        return True, steps.replay(call.definition, position, recorded)
    except ControlSignal:
        raise  # NonDeterminismError: the code no longer matches the log
    except compat.CATCHABLE as error:
        return False, error


def _decided(winner, outcomes):
    """The winner a replay knows: the one recorded at ``<first>``, else the first call in
    order recorded as succeeded (its step landed, the ``<first>`` record did not); None
    while no call succeeded."""
    position, recorded = winner
    if recorded is not None:
        index = steps.replay(_WinnerDefinition, position, recorded)["index"]
        if 0 <= index < len(outcomes) and outcomes[index] is not None and outcomes[index][0]:
            return index
    for index, outcome in enumerate(outcomes):
        if outcome is not None and outcome[0]:
            return index
    return None


class _WinnerDefinition(object):
    """What steps.replay checks a recorded ``<first>`` against: its name."""
    name = WINNER


def _declare(ctx, position, index, value):
    """Record (once) which call won at ``position``; (index, its result)."""
    recorded = boundary.recordAt(ctx, position, WINNER, lambda t: {"index": index})
    return recorded["index"], value


def _all(outcomes):
    """Every value in call order, or the first control signal, else the first failure in
    call order, raised once all finished."""
    signals = [o[1] for o in outcomes if not o[0] and isinstance(o[1], ControlSignal)]
    failures = signals or [o[1] for o in outcomes if not o[0]]
    if failures:
        raise failures[0]
    return [o[1] for o in outcomes]


class Pending(object):
    """The outcomes of a group's running calls, filled by the pool's threads; the calling
    thread waits on it for all (or, mode "first", for the first success)."""

    def __init__(self, outcomes, mode):
        self.outcomes = outcomes
        self.mode = mode
        self.winner = None
        self._condition = threading.Condition()

    def finish(self, index, outcome):
        with self._condition:
            self.outcomes[index] = outcome
            if outcome[0] and self.winner is None and self.mode == FIRST:
                self.winner = index
            self._condition.notify_all()

    def _done(self):
        return self.winner is not None or all(o is not None for o in self.outcomes)

    def wait(self):
        with self._condition:
            while not self._done():
                self._condition.wait(_WAIT_SLICE_S)


class StepThread(object):
    """The run as a parallel step's thread sees it: the run's context, with an ``inStep``
    flag and a last-read state of its own, so threads never write each other's; it takes
    no positions (the calling thread reserved them)."""

    defersCheckpoints = False  # (threads at once: each checkpoint is written at once)

    def __init__(self, parent):
        self._parent = parent
        self.inStep = False
        self.command = parent.command
        self.stateReadAtMs = parent.stateReadAtMs
        self.closed = None

    def __getattr__(self, name):
        return getattr(self._parent, name)

    def nextPosition(self):
        raise InvalidArgument(u"a parallel step takes no positions of its own")

    def flushCheckpoint(self):
        """Nothing to write: the run's kept checkpoint is its own thread's (written
        before the positions of the parallel steps were taken)."""


def _submit(ctx, pending, index, call, position):
    """Run one call at its reserved ``position`` on the step pool."""
    def task():
        outcome = False, RuntimeError(u"a parallel step ended without an outcome")
        context.activate(StepThread(ctx))
        try:
            outcome = True, steps.execute(context.current(), call.definition, position,
                                          call.args, call.kwargs)
        except _ANYTHING as error:  # (a control signal or a SystemExit too: the caller's)
            outcome = False, error
        finally:
            context.deactivate()
            pending.finish(index, outcome)
    platform.submit(kernel.getKernel().stepPool(), task, kernel.STEP_POOL_NAME)
