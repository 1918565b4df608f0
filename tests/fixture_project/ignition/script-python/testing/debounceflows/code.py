"""Workflows started by debounced calls (exchange.workflows.api.debounces), for
tests/test_debounce.py: each returns the inputs it got, so a test sees whose call won."""
from __future__ import absolute_import, division, print_function

from exchange.workflows.engine.runtime import workflow


@workflow
def settle_level(level, source=None):
    return {"level": level, "source": source}


@workflow
def recalculate(area):
    return {"area": area}
