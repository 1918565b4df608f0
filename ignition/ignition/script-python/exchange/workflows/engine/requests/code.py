"""A start request checked once, wherever it comes from: a button's enqueue, a tag event's
in-memory enqueue, a template, and the engine's own starts (a child workflow, a schedule's
tick, a debounced call, a fork). Nothing is written here: db.runs.insert takes the request.
"""
from __future__ import absolute_import, division, print_function

import uuid

from exchange.workflows import codec, codes, compat, settings, validate
from exchange.workflows.engine import registry
from exchange.workflows.errors import InvalidArgument


def _definition(workflowName):
    definition = registry.lookup(workflowName)
    if definition is None:
        raise InvalidArgument(u"no workflow named %r is registered" % workflowName,
                              codes.UNKNOWN_WORKFLOW, {"workflowName": workflowName})
    return definition


def _inputsJson(definition, inputs):
    given = {} if inputs is None else codec.asDict(inputs)
    if given is None:
        raise InvalidArgument(u"inputs must be a dict of keyword arguments, not %s"
                              % type(inputs).__name__, codes.INVALID_INPUTS)
    inputs = given
    for key in inputs:
        if not isinstance(key, compat.string_types):
            raise InvalidArgument(u"input names must be text: %s" % compat.shown(key),
                                  codes.INVALID_INPUTS)
        validate.name("input name", key)
    problem = registry.inputProblem(definition, inputs)
    if problem:
        raise InvalidArgument(problem, codes.INVALID_INPUTS)
    try:
        text = codec.encode(inputs)
    except codec.NotSerializable as error:
        raise InvalidArgument(u"inputs cannot be stored as JSON: %s" % error.args[0],
                              codes.INPUTS_NOT_SERIALIZABLE)
    if len(text) > settings.MAX_INPUTS_BYTES:
        raise InvalidArgument(u"inputs are %d characters of JSON; the limit is %d"
                              % (len(text), settings.MAX_INPUTS_BYTES), codes.INPUTS_TOO_LARGE)
    return text


def _timeoutMs(definition, timeoutSeconds):
    if timeoutSeconds is None:
        timeoutSeconds = definition.timeoutSeconds
    if timeoutSeconds is None:
        return None
    timeoutMs = int(validate.number("timeoutSeconds", timeoutSeconds) * 1000)
    if timeoutMs < 1:
        raise InvalidArgument(u"timeoutSeconds must be at least 0.001")
    return timeoutMs


class Request(object):
    """A validated enqueue request: every field checked, the inputs already JSON."""

    def __init__(self, workflowName, inputs, queueName=None, partitionKey=None, priority=0,
                 deduplicationId=None, workflowId=None, timeoutSeconds=None,
                 delaySeconds=None, deduplicationPolicy=None):
        validate.name("workflowName", workflowName)
        definition = _definition(workflowName)
        self.inputsJson = _inputsJson(definition, inputs)
        self.queueName = validate.name("queueName", queueName, False) or settings.DEFAULT_QUEUE
        validate.name("partitionKey", partitionKey, False)
        validate.name("deduplicationId", deduplicationId, False)
        validate.name("workflowId", workflowId, False)
        validate.wholeNumber("priority", priority)
        if not -2147483648 <= priority <= 2147483647:
            raise InvalidArgument(u"priority must fit in 32 bits")
        self.deduplicationPolicy = settings.checkChoice(
            "deduplicationPolicy", deduplicationPolicy or settings.DEDUP_REJECT,
            settings.DEDUP_POLICIES)
        self.delayMs = 0 if not delaySeconds else int(1000 * validate.number(
            "delaySeconds", delaySeconds, allowZero=True, maximum=settings.MAX_DELAY_SECONDS))
        self.workflowName = workflowName
        self.partitionKey = partitionKey
        self.priority = priority
        self.deduplicationId = deduplicationId
        self.timeoutMs = _timeoutMs(definition, timeoutSeconds)
        self.maxRecoveryAttempts = definition.maxRecoveryAttempts \
            if definition.maxRecoveryAttempts is not None else settings.maxRecoveryAttempts()
        self.workflowId = workflowId or compat.toText(uuid.uuid4())
        self.appVersion = settings.appVersion()  # the version the run starts under

    def rowJson(self):
        """The run as one JSON object (db.runs.insertBatch's format), stamped with the JVM
        time it was accepted; the inputs spliced in as the JSON text they were validated
        as."""
        fields = codec.encode({"workflow_id": self.workflowId,
                               "workflow_name": self.workflowName,
                               "queue_name": self.queueName, "priority": self.priority,
                               "partition_key": self.partitionKey,
                               "deduplication_id": self.deduplicationId,
                               "deduplication_policy": self.deduplicationPolicy,
                               "timeout_ms": self.timeoutMs, "delay_ms": self.delayMs,
                               "max_recovery_attempts": self.maxRecoveryAttempts,
                               "app_version": self.appVersion,
                               "accepted_at_ms": compat.nowMs()})
        return u'%s, "inputs": %s}' % (fields[:-1], self.inputsJson)
