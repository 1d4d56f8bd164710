"""Local imitations of the services connectors read, on loopback: clearly demo services.

``Imitation`` runs a threaded HTTP server for one service. A service is a handler function
``(imitation, request) -> (status, headers, body)`` over the imitation's ``records``
(each a dict with its ``id`` and ``updated_at``). The demo starts them beside the product
so that its connections have something to sync; the tests start them to play the
service, faults included: ``fail_next(status, headers=..., body=...)`` answers the next
request(s) with an error (a 429 with ``Retry-After``, a 401 on a revoked token, a 500),
and ``requests`` records what was asked, so a test can check paging and filters.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body or b"null")


@dataclass
class Imitation:
    handler: object  # (imitation, Request) -> (status, headers, body bytes or JSON-able)
    token: str = ""  # "" accepts any request
    records: list[dict] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    faults: list[tuple[int, dict, object]] = field(default_factory=list)
    state: dict = field(default_factory=dict)  # whatever a service keeps between requests
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/"

    def fail_next(self, status: int, *, headers: dict | None = None, body=None, times: int = 1):
        with self.lock:
            self.faults.extend([(status, headers or {}, body or {"error": status})] * times)

    def start(self, port: int = 0) -> Imitation:
        imitation = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                imitation._answer(self)

            def do_POST(self):  # noqa: N802
                imitation._answer(self)

            def do_DELETE(self):  # noqa: N802
                imitation._answer(self)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def _answer(self, http: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(http.path)
        length = int(http.headers.get("Content-Length") or 0)
        request = Request(
            method=http.command,
            path=parts.path,
            query={k: v[-1] for k, v in parse_qs(parts.query).items()},
            headers={k.lower(): v for k, v in http.headers.items()},
            body=http.rfile.read(length) if length else b"",
        )
        with self.lock:
            self.requests.append(request)
            fault = self.faults.pop(0) if self.faults else None
        if fault is not None:
            status, headers, body = fault
        elif self.token and not _authorised(request, self.token):
            status, headers, body = 401, {}, {"message": "Authentication credentials are invalid"}
        else:
            status, headers, body = self.handler(self, request)
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        try:
            http.send_response(status)
            http.send_header("Content-Type", "application/json")
            http.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                http.send_header(name, value)
            http.end_headers()
            http.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away (a killed worker, a timeout): nothing to answer


def _authorised(request: Request, token: str) -> bool:
    offered = (
        request.headers.get("authorization", "").removeprefix("Bearer ")
        or request.headers.get("x-shopify-access-token", "")
        or request.headers.get("x-api-key", "")
        or request.query.get("api_key", "")
    )
    return offered == token
