"""A start request checked once, wherever it comes from: a button's enqueue, a tag event's
in-memory enqueue, a template, and the engine's own starts (a child workflow, a schedule's
tick, a debounced call, a fork). Nothing is written here: db.runs.insert takes the request.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows import codec, codes, compat, platform, settings, validate
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
    """A validated enqueue request: every field checked, the inputs already JSON.

    Slots, not an instance dict: under Jython an instance's dict is a ConcurrentHashMap
    whose table is resized at the 12th attribute (that resize alone was 2 % of a tag
    event's enqueueInMemory in a JFR profile, 2026-12-05)."""

    __slots__ = ("inputsJson", "queueName", "deduplicationPolicy", "delayMs", "workflowName",
                 "partitionKey", "priority", "deduplicationId", "timeoutMs",
                 "maxRecoveryAttempts", "workflowId", "appVersion")

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
        self.workflowId = workflowId or platform.newId()
        self.appVersion = settings.appVersion()  # the version the run starts under

    def rowJson(self):
        """The run as one JSON object (db.runs.insertBatch's format), stamped with the JVM
        time it was accepted; the inputs spliced in as the JSON text they were validated
        as. Written field by field (the text codec.encode would write for the dict, keys
        sorted): every field is a checked name or a number, and this is the tag event
        thread's hot path."""
        return _ROW % (compat.nowMs(), _literal(self.appVersion),
                       _literal(self.deduplicationId), _literal(self.deduplicationPolicy),
                       self.delayMs, _literal(self.maxRecoveryAttempts),
                       _literal(self.partitionKey), self.priority, _literal(self.queueName),
                       _literal(self.timeoutMs), _literal(self.workflowId),
                       _literal(self.workflowName), self.inputsJson)


_ROW = (u'{"accepted_at_ms":%d,"app_version":%s,"deduplication_id":%s,'
        u'"deduplication_policy":%s,"delay_ms":%d,"max_recovery_attempts":%s,'
        u'"partition_key":%s,"priority":%d,"queue_name":%s,"timeout_ms":%s,'
        u'"workflow_id":%s,"workflow_name":%s, "inputs": %s}')


def _literal(value):
    """A checked field as JSON: null, a whole number or a string."""
    if value is None:
        return u"null"
    if isinstance(value, compat.string_types):
        return codec.quoted(value)
    return u"%d" % value
