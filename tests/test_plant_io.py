"""The database and HTTP steps (exchange.workflows.engine.plantio) against the real database
and a local HTTP server: each result is recorded once and replayed, a refused statement and
a 4xx are not retried, a 5xx and a refused connection are."""
from __future__ import absolute_import, division, print_function

import json
import socket
import threading

from support import EngineCase

try:
    from http.server import BaseHTTPRequestHandler, HTTPServer  # novm
except ImportError:  # Python 2 / Jython
    from BaseHTTPServer import BaseHTTPRequestHandler, HTTPServer  # novm


class _Handler(BaseHTTPRequestHandler):
    """``/flaky/<n>``: 503 for the first n requests, then 201 echoing the body;
    ``/missing``: 404. Every request is counted by path on the server."""

    def do_POST(self):
        server = self.server
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8")
        with server.lock:
            server.hits[self.path] = server.hits.get(self.path, 0) + 1
            hits = server.hits[self.path]
        if self.path.startswith("/flaky/") and hits <= int(self.path.split("/")[2]):
            self._answer(503, u"busy")
        elif self.path == "/missing":
            self._answer(404, u"no such batch")
        else:
            self._answer(201, json.dumps({"received": json.loads(body)}))

    do_PUT = do_POST

    def _answer(self, status, text):
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def startServer(testCase):
    """A local HTTP server on a free port, stopped after the test; its base URL and hits.
    It serves one request at a time until told to stop (Jython's serve_forever cannot be
    shut down reliably)."""
    server = HTTPServer(("127.0.0.1", 0), _Handler)
    server.hits = {}
    server.lock = threading.Lock()
    server.timeout = 0.1
    stopping = threading.Event()

    def serve():
        while not stopping.is_set():
            server.handle_request()

    thread = threading.Thread(target=serve)
    thread.daemon = True
    thread.start()

    def stop():
        stopping.set()
        thread.join(10)
        server.server_close()

    testCase.addCleanup(stop)
    return "http://127.0.0.1:%d" % server.server_address[1], server.hits


def closedPort():
    """A port nobody listens on (bound, then released)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


class PlantIoCase(EngineCase):

    def setUp(self):
        EngineCase.setUp(self)
        self.gw.sql("CREATE TABLE IF NOT EXISTS public.recipes (name text PRIMARY KEY, kg int)")
        self.gw.sql("TRUNCATE public.recipes")
        registered = self.engine.admin.registerWorkflowModules(["testing.plantioflows"])
        assert registered["ok"], registered

    def finish(self, wf):
        assert self.engine.runToEnd(wf) == ["SUCCESS"], self.engine.service.getStatus(wf)
        return self.engine.service.getResult(wf, 0)["data"]["output"]

    def attempts(self, wf):
        return [r[0] for r in self.gw.sql("SELECT attempts FROM workflows.step_outputs "
                                          "WHERE workflow_id = ? ORDER BY step_position", wf)]


class DatabaseStepTest(PlantIoCase):

    def test_a_query_is_recorded_and_a_recovered_run_replays_it_without_running_it(self):
        self.gw.sql("INSERT INTO public.recipes (name, kg) VALUES ('A', 50), ('B', 70)")
        engine = self.engine
        wf = engine.enqueue("reads_recipe", inputs={"recipe": "A", "crash": "after-query"})
        engine.runUntilCrashed(wf, "after-query")
        self.gw.sql("UPDATE public.recipes SET kg = 99 WHERE name = 'A'")
        engine.recoverCrashed(wf)
        assert self.finish(wf) == [{"name": "A", "kg": 50}]
        assert engine.sideEffects(wf, "read") == 1

    def test_a_refused_statement_fails_its_step_at_once_with_a_code(self):
        wf = self.engine.enqueue("inserts_recipe_twice", inputs={"recipe": "C"})
        assert self.finish(wf) == {"added": 1, "type": "DB_STATEMENT_REFUSED", "attempts": 1}
        assert self.attempts(wf) == [1, 1]
        assert self.gw.sql("SELECT kg FROM public.recipes WHERE name = 'C'") == [(1,)]


class HttpStepTest(PlantIoCase):

    def post(self, url):
        wf = self.engine.enqueue("posts_report", inputs={"url": url})
        return wf, self.finish(wf)

    def test_a_5xx_is_retried_until_the_service_answers(self):
        base, hits = startServer(self)
        wf, output = self.post(base + "/flaky/2")
        assert output["status"] == 201, output
        assert json.loads(output["body"]) == {"received": {"batch": "B-17", "kg": 50}}
        assert hits["/flaky/2"] == 3 and self.attempts(wf) == [3]

    def test_a_5xx_on_every_attempt_fails_the_step_after_its_attempts(self):
        base, hits = startServer(self)
        _, output = self.post(base + "/flaky/9")
        assert output["failed"].endswith("HttpServerError") and output["attempts"] == 3, output
        assert hits["/flaky/9"] == 3

    def test_a_4xx_is_the_answer_returned_without_a_retry(self):
        base, hits = startServer(self)
        wf, output = self.post(base + "/missing")
        assert output == {"status": 404, "body": "no such batch"}, output
        assert hits["/missing"] == 1 and self.attempts(wf) == [1]

    def test_a_refused_connection_is_retried(self):
        _, output = self.post("http://127.0.0.1:%d/report" % closedPort())
        assert output["attempts"] == 3, output
