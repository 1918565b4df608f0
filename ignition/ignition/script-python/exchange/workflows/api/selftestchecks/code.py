"""How a self-test check reports (api/selftest): it returns its detail or raises ``Finding``
(it failed), ``Skipped`` (it cannot run here) or any other error (it failed; the error is the
detail, cause first); ``Report`` runs each check on its own and keeps its outcome.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows import compat

DETAIL_LIMIT = 500


class Finding(Exception):
    """A check failed; the message says what was seen."""


class Skipped(Exception):
    """A check that cannot run here; the message says why."""



def expect(condition, detail):
    """Raise Finding(detail) unless ``condition``."""
    if not condition:
        raise Finding(detail)


class Report(object):
    """The checks run so far: {group, name, ok (True, False, None: skipped), ms, detail}."""

    def __init__(self):
        self.checks = []

    def run(self, group, name, check, *args):
        """Run one check, whatever it raises; its ok."""
        started = compat.monotonicMs()
        try:
            ok, detail = True, check(*args)
        except Skipped as skipped:
            ok, detail = None, skipped.args[0]
        except Finding as finding:
            ok, detail = False, finding.args[0]
        except compat.CATCHABLE as error:
            ok, detail = False, u"%s: %s" % compat.describeError(error)
        detail = compat.toText(detail)
        if len(detail) > DETAIL_LIMIT:
            detail = detail[:DETAIL_LIMIT] + u"..."
        self.checks.append({"group": group, "name": name, "ok": ok, "detail": detail,
                            "ms": compat.monotonicMs() - started})
        return ok

    def count(self, ok):
        return len([c for c in self.checks if c["ok"] is ok])
