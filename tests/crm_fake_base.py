"""What every fake CRM server shares: a werkzeug server on 127.0.0.1 in a thread, fault knobs, a
request log and an ordered log of the writes it applied.

Tests use the fakes through ``crm_fakes`` (``with crm_fakes.FakeHubSpot() as hubspot: ...``).
Handlers run one at a time under ``self.lock`` (so the state stays consistent under concurrent
clients); ``delay`` is slept before taking the lock.
"""

import contextlib
import itertools
import socket
import threading
import time
from collections import defaultdict, deque

from werkzeug.routing import Map
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response


class _QuietHandler(WSGIRequestHandler):
    def log(self, type, message, *args):  # noqa: A002 (werkzeug's signature)
        pass


class Drop(Exception):
    """Raised by a handler to close the connection without an answer."""


class LookupIndex:
    """value -> record ids for one field of one store, kept in step by ``touch`` (the fakes call it
    after every write), so a lookup by external id or email stays O(1) with 10,000 records, as in the
    real CRMs (bench/crm.py resyncs that many)."""

    def __init__(self, store: dict, value_of, normalise=str):
        self.store, self.value_of, self.normalise = store, value_of, normalise
        self.ids: dict[str, dict[str, None]] = defaultdict(dict)  # value -> ids in insertion order
        self.back: dict[str, str] = {}
        for record_id in store:
            self.touch(record_id)

    def touch(self, record_id: str) -> None:
        old = self.back.pop(record_id, None)
        if old is not None:
            self.ids[old].pop(record_id, None)
        record = self.store.get(record_id)
        value = self.value_of(record) if record is not None else None
        if value is not None:
            key = self.normalise(value)
            self.ids[key][record_id] = None
            self.back[record_id] = key

    def find(self, value) -> list[str]:
        return list(self.ids.get(self.normalise(value), ()))


class FakeServer:
    """Base class: subclasses set ``rules`` (a werkzeug Map) and implement ``on_<endpoint>``."""

    rules = Map([])
    exempt_endpoints: tuple[str, ...] = ()  # not affected by fail_next (e.g. the token endpoint)

    def __init__(self):
        self.lock = threading.RLock()
        self.requests: list[dict] = []
        # record id -> [{"seq": n, "fields": {...}}]: every applied write, in the order applied
        self.writes: dict[str, list[dict]] = defaultdict(list)
        self.delay = 0.0
        self.dropped = 0  # connections closed without an answer (down, cut_after_apply)
        self._failures: deque = deque()
        self._cuts = 0
        self._down = False
        self._applied = False
        self._seq = itertools.count(1)
        self._server = None
        self._thread = None
        self.port = 0

    # --- lifecycle ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self._start(0)
        return self

    def __exit__(self, *exc):
        self.close()

    def _start(self, port: int) -> None:
        self._server = make_server("127.0.0.1", port, self._wsgi, threaded=True, request_handler=_QuietHandler)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True, name=f"{type(self).__name__}:{self.port}")  # fmt: skip
        self._thread.start()

    def _stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def close(self) -> None:
        self._stop()

    # --- fault knobs ----------------------------------------------------------------------------
    def fail_next(self, status: int, n: int = 1, body=None, headers: dict | None = None) -> None:
        """Answer the next ``n`` API calls with ``status`` (and this body, else the CRM's usual one)."""
        with self.lock:
            self._failures.extend([(status, body, dict(headers or {}))] * n)

    def down(self) -> None:
        """Refuse connections (the listening socket is closed) and drop kept-alive ones."""
        with self.lock:
            self._down = True
        self._stop()

    def up(self) -> None:
        """Listen again, on the same port."""
        with self.lock:
            self._down = False
        if self._server is None:
            self._start(self.port)

    def cut_after_apply(self, n: int = 1) -> None:
        """For the next ``n`` calls that write: apply the write, then close the connection unanswered."""
        with self.lock:
            self._cuts += n

    # --- the write log --------------------------------------------------------------------------
    def record_write(self, record_id, fields: dict) -> int:
        """Called by handlers for every applied write; returns its sequence number."""
        seq = next(self._seq)
        self.writes[str(record_id)].append({"seq": seq, "fields": dict(fields)})
        self._applied = True
        return seq

    def history(self, record_id, field: str) -> list:
        """The values written to ``field`` of one record, in the order the writes were applied."""
        with self.lock:
            return [w["fields"][field] for w in self.writes.get(str(record_id), []) if field in w["fields"]]

    # --- plumbing -------------------------------------------------------------------------------
    def failure_response(self, status: int, body, headers: dict) -> Response:
        raise NotImplementedError

    def json_response(self, data, status: int = 200, headers: dict | None = None) -> Response:
        import json

        return Response(json.dumps(data), status=status, headers=headers or {}, mimetype="application/json")

    def after(self, request: Request, response: Response) -> Response:
        """A hook for headers every answer carries."""
        return response

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        try:
            response = self._handle(request)
        except Drop:
            self.dropped += 1
            sock = environ.get("werkzeug.socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            response = Response(b"", status=500, headers={"Connection": "close"})
        return response(environ, start_response)

    def _handle(self, request: Request) -> Response:
        # "arrived" and "answered" (time.monotonic()) let a test check that two calls never overlapped
        entry = {"method": request.method, "path": request.path, "args": dict(request.args),
                 "headers": dict(request.headers), "body": request.get_data(as_text=True), "arrived": time.monotonic()}  # fmt: skip
        if self.delay:
            time.sleep(self.delay)
        adapter = self.rules.bind_to_environ(request.environ)
        with self.lock:
            self.requests.append(entry)
            try:
                return self._dispatch(request, adapter)
            finally:
                entry["answered"] = time.monotonic()

    def _dispatch(self, request: Request, adapter) -> Response:
        with self.lock:
            if self._down:
                raise Drop()
            try:
                endpoint, values = adapter.match()
            except Exception as exc:  # werkzeug's NotFound / MethodNotAllowed
                return getattr(exc, "get_response", lambda: Response("not found", status=404))()
            if endpoint not in self.exempt_endpoints and self._failures:
                return self.after(request, self.failure_response(*self._failures.popleft()))
            self._applied = False
            response = getattr(self, f"on_{endpoint}")(request, **values)
            if self._applied and self._cuts:
                self._cuts -= 1
                raise Drop()
            return self.after(request, response)
