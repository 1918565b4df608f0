"""JVM-lifetime state of the simulated gateway.

Ignition keeps ``system.util.getGlobals()`` for the life of the JVM: a project save (a new
script interpreter) does not reset it. The simulator keeps that state on the ``sys`` module,
so even re-importing ``system.util`` or this module (e.g. after clearing sys.modules) finds
the very same objects.
"""
import sys

_KEY = "_ignitionGatewaySimulatorJvmState"

STATE = getattr(sys, _KEY, None)
if STATE is None:
    STATE = {"globals": {}, "projectName": "workflows"}
    setattr(sys, _KEY, STATE)
