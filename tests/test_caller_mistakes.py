"""A caller's mistake gets a clear, short answer with a stable code, never INTERNAL_ERROR
and never a traceback in the log: a misspelled keyword, a missing or doubled argument, a
value of the wrong type in any parameter of any public function. Shared by CPython and
Jython (unittest style)."""
from __future__ import absolute_import, division, print_function

import logging

import support
from helpers import LogRecords

MODULES = ("service", "admin", "queues", "deadletters", "journal", "messages", "prompts",
           "lifecycle")
# retire stops this executor for good and waits for its runs: not a call to fuzz
LEFT_OUT = ("retire",)
# values a script may pass by mistake; each is tried in one parameter at a time
WRONG = (object(), [1, 2], {"a": 1}, -5, 0.25, True, "x" * 5000, u"\u00e9\u4e2d", "")
CALLER_CODES = ("INVALID_ARGUMENT", "MISSING_ARGUMENT", "VALUE_TOO_LONG")


def publicFunctions():
    """(module name, function name, function, parameter names) of every public call."""
    found = []
    for moduleName in MODULES:
        module = __import__("exchange.workflows.api." + moduleName, fromlist=["*"])
        for name, function in sorted(vars(module).items()):
            wrapped = getattr(function, "__wrapped__", None)
            if name.startswith("_") or wrapped is None or name in LEFT_OUT:
                continue
            from exchange.workflows import compat
            found.append((moduleName, name, function, compat.argSpec(wrapped)[0]))
    return found


class CallerMistakesTest(support.EngineCase):

    def setUp(self):
        support.EngineCase.setUp(self)
        self.logged = LogRecords(level=logging.ERROR)
        self.addCleanup(self.logged.detach)

    def test_a_misspelled_keyword_or_a_missing_argument_is_the_callers_mistake(self):
        service = self.engine.service
        typo = service.enqueue("three_steps", inputz={"kg": 5})
        assert (typo["ok"], typo["code"]) == (False, "INVALID_ARGUMENT"), typo
        assert typo["message"].startswith("enqueue() got an unexpected keyword argument "
                                          "'inputz'"), typo["message"]
        assert "inputs" in typo["data"]["parameters"]
        missing = service.enqueue()
        assert (missing["code"], missing["message"][:49]) == (
            "MISSING_ARGUMENT", "enqueue() is missing the required argument(s) wor"), missing
        extra = service.getStatus("a", "b", "c")
        assert extra["code"] == "INVALID_ARGUMENT", extra
        doubled = service.getStatus("a", workflowId="b")
        assert doubled["code"] == "INVALID_ARGUMENT", doubled
        assert self.logged.records == []
        assert self.gw.sql("SELECT count(*) FROM workflows.workflow_runs")[0][0] == 0

    def test_every_public_function_answers_wrong_values_with_a_stable_code(self):
        calls = 0
        from exchange.workflows.engine import kernel
        config = kernel.getKernel().config
        saved = dict((key, config.get(key)) for key in list(config.keySet()))

        def restoreConfiguration():  # configure and onStartup accept some wrong values
            for key in list(config.keySet()):
                if key not in saved:
                    config.remove(key)
            for key, value in saved.items():
                config.put(key, value)
        for moduleName, name, function, parameters in publicFunctions():
            typo = function(nOtAnArGuMeNt=1)
            assert typo["code"] == "INVALID_ARGUMENT", (moduleName, name, typo)
            for index, parameter in enumerate(parameters):
                for wrong in WRONG:
                    kwargs = dict((p, "wf-1") for p in parameters[:index]
                                  if p in ("workflowId", "workflowName", "promptId",
                                           "queueName", "cmd"))
                    kwargs[parameter] = wrong
                    answer = function(**kwargs)
                    restoreConfiguration()
                    calls += 1
                    assert answer["code"] not in ("INTERNAL_ERROR", "DATABASE_ERROR"), \
                        (moduleName, name, parameter, repr(wrong)[:40], answer)
                    if not answer["ok"] and answer["code"] in CALLER_CODES:
                        assert len(answer["message"]) < 400, answer["message"]
        assert calls > 500, calls
        # (onStartup logs what it could not do, e.g. install into a connection that does
        # not exist: a gateway's configuration problem, not a caller's mistake)
        unexpected = [m for m in self.logged.messages() if "with problems:" not in m]
        assert unexpected == [], unexpected[:3]
