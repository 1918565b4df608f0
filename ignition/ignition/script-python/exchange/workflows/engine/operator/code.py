"""The operator protocol: the one sequence of every action that changes the state of the
system on someone's word (a command, a prompt answer, a message, a maintenance action).

    resolve the actor -> authorize -> lock -> decide -> one fenced transition -> journal
    -> wake

Each kind of action is an ``Action`` that plugs in its own steps (what it locks, how it
decides, its transition, what it wakes); this module runs them in that order, in one
transaction, and holds the one journal writer. docs/architecture.md, "The operator
protocol".
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import journal as statements, tx
from exchange.workflows import codec, compat
from exchange.workflows.engine import actors, dispatcher, kernel
from exchange.workflows.errors import NotAuthorized


class Action(object):
    """One action on database ``dbName`` by ``actor`` (engine.actors; set by ``authorize``,
    None where nobody acts): the steps it plugs into the protocol.

    ``area`` names the configured roles that authorize it (None: nobody is asked); ``fields``
    is its db.journal.JournalEntry (the action, and the run, prompt, queue and reason it
    names; None: not journaled). The defaults lock nothing, make no transition, wake nobody
    and journal no details."""
    transactional = True  # False: nothing to lock; its statements run on their own
    idempotent = False    # True: a transaction that lost a race (a deadlock) is tried again

    def __init__(self, dbName, area=None, fields=None, actor=None):
        self.dbName = dbName
        self.area = area
        self.fields = fields
        self.actor = actor

    def lock(self, t):
        """Lock what the decision reads; the state read (None: nothing)."""
        return None

    def decide(self, state):
        """(transition, code): the transition to make, or None when the action is refused."""
        raise NotImplementedError

    def transition(self, t, state, transition):
        """Make the transition, fenced by the state it was decided on; whether it took."""
        return True

    def missed(self, t, state):
        """The code of a transition that matched nothing: the state moved on meanwhile."""
        raise NotImplementedError

    def wake(self, t, state):
        """In the transaction, after the transition took: wake who waits for it; how many."""
        return 0

    def claims(self, outcome):
        """After the commit: whether the accepted action released work to claim now."""
        return False

    def report(self, outcome):
        """After the commit, before the claim (which would change it): what the caller
        answers with, read then (None: nothing)."""
        return None

    def entry(self, outcome):
        """The JournalEntry of a decided action."""
        return self.fields

    def details(self, outcome):
        """The journal details of a decided action."""
        return {}

    def refusal(self, message, data):
        """(JournalEntry, details) journaled for an action refused before it reached the
        state."""
        return self.fields, data or {}


class Outcome(object):
    """What the protocol decided: accepted or not, the code, the state the lock read, how
    many waiting runs it woke, and the action's report."""

    def __init__(self, accepted, code, state=None):
        self.accepted = accepted
        self.code = code
        self.state = state
        self.woken = 0
        self.report = None


def act(action, caller):
    """The whole sequence for a caller (an actors.Caller): its actor, authorized, then
    ``perform``."""
    authorized(action, caller)
    return perform(action)


def authorized(action, caller):
    """Steps 1 and 2: the actor of a call (an actors.Caller), authorized for the action."""
    actor = actors.resolve(caller)
    authorize(actor, action)
    return actor


def authorize(actor, action, allowedRoles=None):
    """``actor`` acts: raise NotAuthorized, journaled as a refusal of ``action``, unless it
    holds the roles of the action's area (and, when given, one of ``allowedRoles``)."""
    action.actor = actor
    try:
        actors.authorize(actor, action.area, allowedRoles)
    except NotAuthorized as refused:
        refuse(action, refused.code, refused.args[0], refused.data)
        raise


def perform(action):
    """Steps 3 to 7: lock, decide, transition, journal and wake in one transaction, then
    claim what the action released; the Outcome."""
    if not action.transactional:
        outcome = within(action, None)
    elif action.idempotent:
        outcome = tx.retrying(lambda: _transaction(action), onlyStates=tx.LOST_RACE_STATES)
    else:
        outcome = _transaction(action)
    outcome.report = action.report(outcome)
    claimReleased(action.dbName, outcome.accepted and action.claims(outcome))
    return outcome


def _transaction(action):
    return tx.inTransaction(action.dbName, lambda t: within(action, t))


def within(action, t):
    """Steps 3 to 6, and the wake-up of waiting runs, in transaction ``t`` (a caller's own,
    such as a recorded operation's); the claim after the commit is the caller's
    (``claimReleased``)."""
    state = action.lock(t)
    transition, code = action.decide(state)
    if transition is not None and not action.transition(t, state, transition):
        transition, code = None, action.missed(t, state)
    outcome = Outcome(transition is not None, code, state)
    if outcome.accepted:
        outcome.woken = action.wake(t, state)
    if action.fields is not None:
        journal(action.dbName, action.actor, action.entry(outcome), outcome,
                action.details(outcome), t)
    return outcome


def claimReleased(dbName, released):
    """After the commit: work an action released (a woken or resumed run, a queue out of
    maintenance) is claimed on the caller's thread (dispatcher.claimable)."""
    if released:
        dispatcher.claimable(dbName)


def refuse(action, code, message, data=None):
    """Journal an action refused before it reached the state (no role, bad input, a prompt
    no longer open); the refusal stands even when the journal cannot be written."""
    entry, details = action.refusal(message, data)
    try:
        journal(action.dbName, action.actor, entry, Outcome(False, code), details)
    except compat.CATCHABLE:
        pass


def journal(dbName, actor, entry, outcome, details, t=None):
    """The one journal writer: ``entry`` (a JournalEntry: the action and what it names) by
    ``actor``, accepted or not with its code (``outcome``, an Outcome), ``details`` (as
    JSON), stamped with this executor; in transaction ``t`` when the action took effect
    there."""
    statements.record(dbName, entry, statements.Decision(
        actor.name, outcome.accepted, outcome.code, codec.encode(details),
        kernel.getKernel().executorId), t)
