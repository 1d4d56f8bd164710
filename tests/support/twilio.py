"""An imitation of a Twilio-compatible SMS API on a free local port: a real HTTP server.

``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` (form-encoded To, From, Body,
StatusCallback; HTTP Basic auth SID:token) answers as the real API does:

- 201 with the message resource (``sid``, ``status`` "queued", ``to``, ``from``,
  ``body``, ``num_segments``) when the request is good;
- 400 ``{"code": 21211, "message": "Invalid 'To' Phone Number: …", "more_info",
  "status": 400}`` when To is not an E.164 number, or one of ``server.unreachable``;
- 401 ``{"code": 20003, …}`` when the credentials are wrong;
- whatever ``server.script`` says next (``429``: with ``Retry-After``; ``500``), when
  a test scripts failures.

``GET /2010-04-01/Accounts/{AccountSid}.json`` reads the account (the connection test).

Callbacks go the other way: ``signed(url, params)`` returns the X-Twilio-Signature a
provider would send, computed here, independently of the product's code, as Twilio
documents it (base64 HMAC-SHA1 of the URL and the sorted parameters).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest

SID = "AC0123456789abcdef0123456789abcdef"
TOKEN = "imitation-auth-token-0042"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
MESSAGES = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages\.json$")
ACCOUNT = re.compile(r"^/2010-04-01/Accounts/([^/]+)\.json$")


def error_body(code: int, message: str, status: int) -> dict:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


SCRIPTED = {
    429: (error_body(20429, "Too Many Requests", 429), {"Retry-After": "7"}),
    500: (error_body(20500, "Internal Server Error", 500), {}),
}


def signed(url: str, params: dict, token: str = TOKEN) -> str:
    data = url
    for name in sorted(params):
        data += name + params[name]
    digest = hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class Handler(BaseHTTPRequestHandler):
    def _answer(self, status: int, body: dict, headers: dict | None = None) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)

    def _authorised(self, sid: str) -> bool:
        expected = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
        return sid == SID and self.headers.get("Authorization") == expected

    def do_GET(self):  # noqa: N802 (http.server's name)
        found = ACCOUNT.match(self.path)
        if not found:
            return self._answer(404, error_body(20404, "Not found", 404))
        if not self._authorised(found.group(1)):
            return self._answer(401, error_body(20003, "Authenticate", 401))
        return self._answer(200, {"sid": SID, "status": "active"})

    def do_POST(self):  # noqa: N802
        found = MESSAGES.match(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not found:
            return self._answer(404, error_body(20404, "Not found", 404))
        if not self._authorised(found.group(1)):
            return self._answer(401, error_body(20003, "Authenticate", 401))
        form = dict(parse_qsl(raw.decode()))
        server = self.server
        if server.script:
            status = server.script.pop(0)
            body, headers = SCRIPTED[status]
            server.refused.append(form)
            return self._answer(status, body, headers)
        to = form.get("To", "")
        if not E164.match(to) or to in server.unreachable:
            body = error_body(21211, f"Invalid 'To' Phone Number: {to}", 400)
            return self._answer(400, body)
        server.count += 1
        sid = f"SM{server.count:032x}"
        server.messages.append({**form, "sid": sid})
        return self._answer(
            201,
            {"sid": sid, "status": "queued", "to": to, "from": form.get("From"),
             "body": form.get("Body"), "num_segments": "1"},
        )  # fmt: skip

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def sms_api():
    """The imitation on a free local port; ``server.base_url`` is what a destination
    points at, ``server.messages`` what it accepted, ``server.script`` failures to come."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.messages, server.refused, server.script, server.count = [], [], [], 0
    server.unreachable = set()  # numbers refused as invalid (21211), as for a landline
    server.base_url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def destination(server, *, token: str = TOKEN, **config):
    """An SMS destination pointed at the imitation ``server``."""
    # Imported here: this module is a pytest plugin, loaded before Django is set up.
    from integrations.destinations import services

    return services.create_destination(
        name="Texts",
        kind="sms",
        config={
            "base_url": server.base_url,
            "account_sid": SID,
            "from_number": "+14155550100",
            **config,
        },
        secrets={"auth_token": token},
    )


@pytest.fixture
def twilio():
    with sms_api() as server:
        yield server
