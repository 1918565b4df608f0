"""``getWorkflows()``: the entry point the documentation of the project we replace uses
(``exchange.workflows.engine.instance.getWorkflows().start(...)``), kept so its examples and
the plant scripts written from them keep working.

It is an alias of the public API, not part of the engine: the object it returns answers
through api.service and api.admin, envelopes and all. tests/test_layers.py ranks this one
module with the api layer (its path is the one that project chose). New code calls
exchange.workflows.api.service directly.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.api import admin, service
from exchange.workflows.engine import runtime


class Workflows(object):
    """What ``getWorkflows()`` returns: the engine's public calls on one database
    connection (``dbName``; None: the configured default)."""

    def __init__(self, dbName=None):
        self.dbName = dbName

    def listRegisteredWorkflows(self):
        """The workflows this gateway can run (envelope of service.listRegisteredWorkflows)."""
        return service.listRegisteredWorkflows()

    def start(self, workflowName, inputs=None, **options):
        """Enqueue a run (service.start / enqueue); the envelope carries its workflowId."""
        options.setdefault("dbName", self.dbName)
        return service.start(workflowName, inputs=inputs, **options)

    enqueue = start

    def enqueueInMemory(self, workflowName, inputs=None, **options):
        """Offer a run to the in-memory queue (service.enqueueInMemory)."""
        options.setdefault("dbName", self.dbName)
        return service.enqueueInMemory(workflowName, inputs=inputs, **options)

    def getStatus(self, workflowId):
        """A run's status (service.getStatus)."""
        return service.getStatus(workflowId, dbName=self.dbName)

    def getResult(self, workflowId, timeoutSeconds=10.0):
        """A run's result, waiting up to ``timeoutSeconds`` (service.getResult)."""
        return service.getResult(workflowId, timeoutSeconds=timeoutSeconds, dbName=self.dbName)

    def listWorkflows(self, **filters):
        """Runs, newest first (service.listWorkflows)."""
        filters.setdefault("dbName", self.dbName)
        return service.listWorkflows(**filters)

    def cancel(self, workflowId, reason=None, **caller):
        """Cancel a run (service.cancel)."""
        return service.cancel(workflowId, reason=reason, dbName=self.dbName, **caller)

    def dispatch(self):
        """One dispatch tick (service.dispatch)."""
        return service.dispatch(dbName=self.dbName)

    def applyRetention(self, olderThanDays):
        """Delete runs that ended more than ``olderThanDays`` days ago (admin.applyRetention)."""
        return admin.applyRetention(olderThanDays, dbName=self.dbName)

    def checkCancelled(self):
        """Inside a workflow: stop here when the run was cancelled (runtime.checkCancelled)."""
        return runtime.checkCancelled()


def getWorkflows(dbName=None):
    """The engine's public calls as one object, as the project we replace offers them."""
    return Workflows(dbName)
