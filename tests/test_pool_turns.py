"""The timer goes first for a pool connection (db.tx.first): workers that return their
connection and take it back at once for their next statement (a gateway's pool hands it to
whoever asks next) must not starve the tick, whose lease renewal waited out the pool."""
from __future__ import absolute_import, division, print_function

import threading

import support
from helpers import waitFor

POOL = 4


class PoolTurnsTest(support.GatewayCase):
    def busyPool(self, name, poolWaitSeconds):
        """A datasource of POOL connections that POOL threads keep busy through db.tx (one
        short statement after another, as workers under a backlog); stopped at cleanup."""
        from simulator import gateway
        from exchange.workflows.db import tx
        gateway.addDatabase(name, self.gw.dsn, maxConnections=POOL,
                            poolWaitSeconds=poolWaitSeconds)
        stop = threading.Event()
        done = []

        def worker():
            while not stop.is_set():
                tx.query(name, "SELECT 1 FROM (SELECT pg_sleep(0.002)) s")
                done.append(1)
        threads = [threading.Thread(target=worker) for _ in range(POOL)]
        for thread in threads:
            thread.daemon = True
            thread.start()

        def stopAll():
            stop.set()
            for thread in threads:
                thread.join(10)
        self.addCleanup(stopAll)
        waitFor(lambda: len(done) >= 10 * POOL, 20, 0.005, "the workers keep the pool busy")
        return done

    def test_the_timers_statements_get_a_connection_while_workers_keep_the_pool_busy(self):
        from exchange.workflows.db import tx
        done = self.busyPool("TurnsDB", poolWaitSeconds=2)
        answers = []
        for _ in range(20):  # each would wait out the pool's 2 s if the workers barged
            answers.append(tx.first(lambda: tx.scalar("TurnsDB", "SELECT 7")))
        assert answers == [7] * 20
        before = len(done)
        waitFor(lambda: len(done) > before + 10 * POOL, 20, 0.005, "the workers went on")

    def test_first_holds_only_around_its_work_and_nests(self):
        from exchange.workflows.db import tx
        seen = []

        def inner():
            seen.append(getattr(tx._first, "on", False))
            return tx.first(lambda: getattr(tx._first, "on", False))
        assert tx.first(lambda: (inner(), getattr(tx._first, "on", False))) == (True, True)
        assert seen == [True] and getattr(tx._first, "on", False) is False
        assert tx._running().get() == 0
