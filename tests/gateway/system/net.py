"""system.net of the gateway simulator: ``httpClient()`` only, a JythonHttpClient that
sends real requests (urllib) to the tests' local HTTP server.

Like Ignition's client, any status comes back as a Response (a 4xx or 5xx is no
exception); a refused or timed-out connection raises (IOError). ``data``: text, bytes, or a
dict or list sent as JSON; ``timeout`` in milliseconds.
"""
import json

try:
    from urllib import request as _request  # novm
    from urllib.error import HTTPError as _HTTPError  # novm
except ImportError:  # Python 2 / Jython
    import urllib2 as _request  # novm
    from urllib2 import HTTPError as _HTTPError  # novm


def httpClient(timeout=60000, bypass_cert_validation=False, username=None, password=None,
               proxy=None, cookie_policy="ACCEPT_ORIGINAL_SERVER", redirect_policy="NORMAL",
               version="HTTP_2", customizer=None):
    return JythonHttpClient(timeout)


def _verb(method):
    """A client method sending ``method``, with the parameters Ignition's has."""
    def send(self, url, params=None, data=None, file=None, headers=None, username=None,
             password=None, timeout=None):
        return self._send(method, url, data, headers, timeout)
    return send


class JythonHttpClient(object):
    """get/post/put/patch/delete(url, params, data, file, headers, username, password,
    timeout) -> Response."""

    def __init__(self, timeoutMs):
        self._timeoutMs = timeoutMs

    get = _verb("GET")
    post = _verb("POST")
    put = _verb("PUT")
    patch = _verb("PATCH")
    delete = _verb("DELETE")

    def _send(self, method, url, data, headers, timeout):
        headers = dict(headers or {})
        if isinstance(data, (dict, list)):
            data = json.dumps(data)
            headers.setdefault("Content-Type", "application/json")
        if data is not None and not isinstance(data, bytes):
            data = data.encode("utf-8")
        if not isinstance(url, str):  # Jython's httplib fails on a unicode request line
            url = url.encode("ascii")
        req = _request.Request(url, data=data, headers=headers)
        req.get_method = lambda: method
        seconds = (timeout if timeout is not None else self._timeoutMs) / 1000.0
        try:
            answer = _request.urlopen(req, timeout=seconds)
        except _HTTPError as error:  # urllib raises on >= 400; Ignition answers
            answer = error
        try:
            return Response(answer.getcode(), answer.read().decode("utf-8"))
        finally:
            answer.close()


class Response(object):
    """What the library reads of Ignition's Response: the status and the body."""

    def __init__(self, statusCode, text):
        self.statusCode = statusCode
        self.text = text
        self.body = text.encode("utf-8")
        self.good = 200 <= statusCode < 300
        self.clientError = 400 <= statusCode < 500
        self.serverError = 500 <= statusCode < 600

    @property
    def json(self):
        return json.loads(self.text)
