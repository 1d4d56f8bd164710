import contextlib
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cdp_site import crypto
from cdp_site.dev.embedded import any_free_port
from integrations.destinations import adapters, services
from integrations.destinations.adapters import DestinationError
from integrations.destinations.models import Destination


class Recorder:
    """A local HTTP server recording every request; answers with ``status`` (or a list
    of statuses consumed one per request, or ``replies``: (status, headers, body) each),
    and ``body``."""

    def __init__(self):
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        self.replies: list[tuple[int, dict, bytes]] = []
        self.status = 200
        self.body = b"{}"
        self.delay = 0.0
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                recorder.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body,
                    }
                )
                if recorder.delay:
                    time.sleep(recorder.delay)
                status = recorder.statuses.pop(0) if recorder.statuses else recorder.status
                headers, body = {}, recorder.body
                if recorder.replies:
                    status, headers, body = recorder.replies.pop(0)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = _handle  # noqa: N815

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def json(self, index=-1):
        return json.loads(self.requests[index]["body"])


@contextlib.contextmanager
def recording_server():
    recorder = Recorder()
    recorder.thread.start()
    try:
        yield recorder
    finally:
        recorder.server.shutdown()
        recorder.server.server_close()


@pytest.fixture
def http_server():
    with recording_server() as recorder:
        yield recorder


@pytest.fixture
def smtp_destination(db, smtp_inbox, settings):
    return services.create_destination(
        name="Mail",
        kind=Destination.Kind.SMTP,
        config={
            "host": "127.0.0.1",
            "port": settings.EMAIL_PORT,
            "from_email": "News <news@shop.example>",
            "starttls": False,
        },
    )


@pytest.fixture
def webhook(db, http_server):
    return services.create_destination(
        name="Hook",
        kind=Destination.Kind.WEBHOOK,
        config={"url": http_server.url + "/hook", "timeout": 2},
        secrets={"signing_secret": "whsec-0123456789abcdef"},
    )


def test_send_email_delivers_over_smtp_with_both_parts_and_message_id(smtp_destination, smtp_inbox):
    message_id = adapters.send_email(
        smtp_destination,
        to="ada@example.org",
        subject="Hello Ada",
        html="<p>Hi <b>Ada</b></p>",
        text="Hi Ada",
        headers={"List-Unsubscribe": "<https://shop.example/u/1>"},
    )
    assert len(smtp_inbox.messages) == 1
    received = smtp_inbox.messages[0]
    assert received["Message-ID"] == message_id
    assert message_id.endswith("@shop.example>")
    assert received["Subject"] == "Hello Ada"
    assert received["To"] == "ada@example.org"
    assert received["List-Unsubscribe"] == "<https://shop.example/u/1>"
    parts = {
        p.get_content_type(): p.get_payload(decode=True).decode()
        for p in received.walk()
        if not p.is_multipart()
    }
    assert parts["text/plain"].strip() == "Hi Ada"
    assert "<b>Ada</b>" in parts["text/html"]


def test_send_email_keeps_the_given_message_id(smtp_destination, smtp_inbox):
    given = "<campaign-1-delivery-7@shop.example>"
    sent = adapters.send_email(
        smtp_destination, to="b@example.org", subject="s", html="", text="t", message_id=given
    )
    assert sent == given
    assert smtp_inbox.messages[0]["Message-ID"] == given


def test_send_email_to_a_closed_port_is_retryable(db):
    destination = services.create_destination(
        name="Nowhere",
        kind="smtp",
        config={
            "host": "127.0.0.1",
            "port": any_free_port(),
            "from_email": "a@b.c",
            "starttls": False,
            "timeout": 2,
        },
    )
    with pytest.raises(DestinationError) as caught:
        adapters.send_email(destination, to="x@y.z", subject="s", html="", text="t")
    assert caught.value.retryable is True


def test_post_webhook_signs_the_exact_body_and_sends_the_idempotency_key(webhook, http_server):
    before = int(time.time())
    status = adapters.post_webhook(
        webhook, payload={"event": "entered", "profile": 7}, idempotency_key="c1-e7-s2"
    )
    assert status == 200
    request = http_server.requests[0]
    assert request["method"] == "POST" and request["path"] == "/hook"
    headers = request["headers"]
    expected = hmac.new(b"whsec-0123456789abcdef", request["body"], hashlib.sha256).hexdigest()
    assert headers["x-cdp-signature"] == f"sha256={expected}"
    assert headers["idempotency-key"] == "c1-e7-s2"
    assert headers["content-type"] == "application/json"
    assert before <= int(headers["x-cdp-timestamp"]) <= int(time.time())
    assert json.loads(request["body"]) == {"event": "entered", "profile": 7}


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(500, True), (503, True), (429, True), (400, False), (404, False), (410, False)],
)
def test_post_webhook_failures_say_whether_a_retry_can_help(
    webhook, http_server, status, retryable
):
    http_server.status = status
    with pytest.raises(DestinationError) as caught:
        adapters.post_webhook(webhook, payload={}, idempotency_key="k")
    assert caught.value.retryable is retryable
    assert str(status) in caught.value.message


def test_post_webhook_timeout_is_retryable(webhook, http_server):
    services.update_destination(destination=webhook, config={**webhook.config, "timeout": 1})
    http_server.delay = 1.5
    with pytest.raises(DestinationError) as caught:
        adapters.post_webhook(webhook, payload={}, idempotency_key="k")
    assert caught.value.retryable is True


def test_secrets_are_stored_encrypted_only(webhook):
    stored = Destination.objects.values_list("secrets_encrypted", flat=True).get(pk=webhook.pk)
    assert "whsec-0123456789abcdef" not in stored
    assert json.loads(crypto.decrypt(stored)) == {"signing_secret": "whsec-0123456789abcdef"}
    assert services.secret_hints(destination=webhook) == {"signing_secret": "set, ends in cdef"}
