"""An operator command for a run and its descendants (its child workflows, theirs...).

Each run gets the command through the operator protocol on its own (engine.commands:
locked, decided by the matrix, journaled), so every descendant's outcome is its own: a
child that ended refuses a CANCEL as any ended run does. The parent goes first, so a
cancelled parent starts no more children while they are cancelled (the descendants are
read again until no new one appears); a RESUME goes to the descendants first, so a
resumed parent finds its children going on again, not cancelled.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import children as statements
from exchange.workflows import statuses, vocabulary
from exchange.workflows.engine import commands

# The descendants a command reaches: an active one, or a held or resumable one for RESUME
_REACHED = {vocabulary.RESUME: (statuses.HELD,) + statuses.RESUMABLE}
_ROUNDS = 3  # reads of the descendants (a child started meanwhile is found by the next)


def commandFamily(dbName, workflowId, command, reason, caller, cascade):
    """commands.apply for the run, and with ``cascade`` for each of its descendants;
    (accepted, code, message, data) of the run, data ``descendants`` listing the others'
    {workflowId, accepted, code}."""
    if not cascade:
        return commands.apply(dbName, workflowId, command, reason, caller)
    done = []
    if command == vocabulary.RESUME:
        _descendants(dbName, workflowId, command, reason, caller, done, deepestFirst=True)
    accepted, code, message, data = commands.apply(dbName, workflowId, command, reason, caller)
    if command != vocabulary.RESUME:
        _descendants(dbName, workflowId, command, reason, caller, done)
    data["descendants"] = done
    return accepted, code, message, data


def _descendants(dbName, workflowId, command, reason, caller, done, deepestFirst=False):
    seen = set()
    for _ in range(_ROUNDS):
        family = [(child, status) for child, status, _depth in
                  statements.descendants(dbName, workflowId) if child not in seen]
        if deepestFirst:
            family.reverse()
        for child, status in family:
            seen.add(child)
            if status not in _REACHED.get(command, statuses.ACTIVE):
                continue  # (it would refuse: nothing to journal for a run it cannot move)
            accepted, code, _message, _data = commands.apply(dbName, child, command, reason,
                                                             caller)
            done.append({"workflowId": child, "accepted": accepted, "code": code})
        if not family or deepestFirst:
            return
