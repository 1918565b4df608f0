"""Who is acting: the actor of a command, a prompt answer or an admin call, and the role
check that guards them.

A Perspective view passes its ``session`` (``self.session``): the actor and roles are the
session's authenticated user. A script names the ``user`` (and ``roles``) itself: project
scripts are trusted code. Without either, the actor is the Ignition user of the calling
scope when there is one (Vision, Designer), else this gateway's executor.
"""
from __future__ import absolute_import, division, print_function

from collections import namedtuple

from exchange.workflows import compat, settings, validate
from exchange.workflows.engine import kernel
from exchange.workflows.errors import NotAuthorized


class Caller(namedtuple("Caller", "user session roles")):
    """Who a call says is calling, as its API function was given it: the ``user`` a script
    names, the Perspective ``session``, the ``roles`` a script grants (each None when not
    given). Built once, where the call comes in; ``resolve`` finds its Actor."""

    __slots__ = ()


class Actor(object):
    """A name, the roles it holds, and where they came from (session, script, gateway)."""

    def __init__(self, name, roles, source):
        self.name = name
        self.roles = list(roles or [])
        self.source = source


def _sessionUser(session):
    try:
        user = session.props.auth.user
        name = user.userName
        roles = [compat.toText(r) for r in (user.roles or [])]
        return (compat.toText(name) if name else None), roles
    except compat.CATCHABLE:
        return None, []


def _scopeUserFunctions():
    """(getUsername, getRoles) of the calling scope's Ignition user, where the scope has
    one: system.vision in a Vision client of 8.3, system.security in a Vision client or
    Designer of 8.1; (None, None) on a gateway and in Perspective, which have neither."""
    getUsername = compat.optionalSystemFunction("vision.getUsername")
    if getUsername is not None:
        return getUsername, compat.optionalSystemFunction("vision.getRoles")
    return (compat.optionalSystemFunction("security.getUsername"),
            compat.optionalSystemFunction("security.getRoles"))


def _scopeUser():
    getUsername, getRoles = _scopeUserFunctions()
    if getUsername is None:
        return None, []
    try:
        name = getUsername()
        roles = list(getRoles() or []) if getRoles is not None else []
        return (compat.toText(name) if name else None), [compat.toText(r) for r in roles]
    except compat.CATCHABLE:
        return None, []


def resolve(caller):
    """The Actor of a call (a Caller): the session's user, else ``user``, else the scope's
    user, else this executor."""
    user, session, roles = caller
    validate.name("user", user, False)
    if roles is not None and not isinstance(roles, (list, tuple)):
        roles = [roles]
    if session is not None:
        name, sessionRoles = _sessionUser(session)
        if name:
            return Actor(name, sessionRoles, "perspective")
    if user:
        return Actor(user, roles, "script")
    name, scopeRoles = _scopeUser()
    if name:
        return Actor(name, roles if roles is not None else scopeRoles, "scope")
    return Actor(u"gateway:%s" % kernel.getKernel().executorId, roles, "gateway")


def authorize(actor, area, allowedRoles=None):
    """Raise NotAuthorized unless ``actor`` holds one of the roles configured for ``area``
    and (when given) one of ``allowedRoles``."""
    for required, what in ((settings.requiredRoles(area), u"%s calls" % area),
                           (allowedRoles or [], u"this prompt")):
        if required and not set(required) & set(actor.roles):
            raise NotAuthorized(u"%s needs one of the roles %s; %s holds %s"
                                % (what, u", ".join(required), actor.name,
                                   u", ".join(actor.roles) or u"none"),
                                data={"actor": actor.name, "requiredRoles": list(required)})
