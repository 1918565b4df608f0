"""Retention: delete terminal runs (and, by cascade, their steps) older than a cutoff.

Deletes go in bounded batches, one short statement each, so retention never holds locks on
the hot table for long. Active runs are never touched.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import runs


def deleteCompletedOlderThan(dbName, olderThanMs, batchSize=1000, maxBatches=100):
    """Delete terminal runs that ended more than ``olderThanMs`` ago; the number deleted."""
    total = 0
    for _ in range(maxBatches):
        deleted = runs.deleteCompleted(dbName, olderThanMs, batchSize)
        total += deleted
        if deleted < batchSize:
            break
    return total
