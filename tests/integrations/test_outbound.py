# ruff: noqa: F811 (fixtures imported from test_destinations_adapters)
"""The safe outgoing HTTP client (integrations/outbound.py), against real local servers:
only allowed addresses, redirects kept on their origin without credentials, bounded
time and size, verified TLS, and messages that never carry the remote body."""

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cdp_site.celery import app
from cdp_site.permissions import ADMIN
from integrations import outbound
from integrations.destinations import adapters, services, tasks
from integrations.destinations.adapters import DestinationError
from integrations.destinations.models import DeadLetter, Destination
from tests.support.tls import make_certificates

from .test_destinations_adapters import http_server, recording_server  # noqa: F401

PRODUCTION = []  # CDP_OUTBOUND_ALLOWED_NETWORKS as production has it: nothing private


def hook(url: str, **config) -> Destination:
    return services.create_destination(
        name="Hook",
        kind=Destination.Kind.WEBHOOK,
        config={"url": url, "timeout": 2, **config},
        secrets={"signing_secret": "whsec-0123456789abcdef"},
    )


@pytest.fixture
def other_server():
    with recording_server() as recorder:
        yield recorder


# --- addresses -----------------------------------------------------------------------


def test_webhook_to_a_host_name_resolving_to_loopback_is_refused_unless_allowed(
    db, http_server, settings
):
    port = http_server.server.server_address[1]
    destination = hook(f"http://localhost:{port}/hook")
    settings.CDP_OUTBOUND_ALLOWED_NETWORKS = PRODUCTION
    with pytest.raises(DestinationError) as refused:
        adapters.post_webhook(destination, payload={"a": 1}, idempotency_key="k1")
    assert refused.value.message.startswith(
        "localhost resolves to a loopback address (127.0.0.1), which is not allowed"
    )
    assert refused.value.retryable is False
    assert http_server.requests == []

    settings.CDP_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    assert adapters.post_webhook(destination, payload={"a": 1}, idempotency_key="k1") == 200
    [received] = http_server.requests
    # Connected to the checked address, but named the host the admin typed.
    assert received["headers"]["host"] == f"localhost:{port}"


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://10.0.0.5/hook", "10.0.0.5 is a private network (10.0.0.5)"),
        ("http://192.168.1.20:8080/", "192.168.1.20 is a private network"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://100.64.0.1/", "100.64.0.1 is shared address space (CGNAT)"),
        ("http://224.0.0.1/", "224.0.0.1 is a multicast address"),
        ("http://0.0.0.0/", "0.0.0.0 is an unspecified address"),
        ("http://127.0.0.1/", "127.0.0.1 is a loopback address"),
        ("http://[::1]/", "::1 is a loopback address"),
        ("http://[::ffff:127.0.0.1]/", "is a loopback address (::ffff:7f00:1)"),
        ("http://[::ffff:10.0.0.5]/", "is a private network (::ffff:a00:5)"),
        ("http://[2002:7f00:1::]/", "is a loopback address"),
        ("http://[fe80::1]/", "fe80::1 is a link-local address"),
        ("http://[fc00::1]/", "fc00::1 is a private network"),
        ("http://[ff02::1]/", "ff02::1 is a multicast address"),
    ],
)
def test_addresses_that_are_not_public_are_refused_before_any_connection(settings, url, words):
    settings.CDP_OUTBOUND_ALLOWED_NETWORKS = PRODUCTION
    with pytest.raises(outbound.OutboundError) as refused:
        outbound.request("GET", url, timeout=1)
    assert words in refused.value.message
    assert "which is not allowed" in refused.value.message
    assert refused.value.retryable is False


def test_an_ipv4_mapped_address_is_refused_even_where_loopback_is_allowed(settings):
    settings.CDP_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
    with pytest.raises(outbound.OutboundError, match="private network"):
        outbound.request("GET", "http://[::ffff:10.0.0.5]/", timeout=1)


def test_an_allowed_network_is_reachable_only_by_its_own_addresses(settings, http_server):
    port = http_server.server.server_address[1]
    settings.CDP_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    assert outbound.request("GET", f"http://127.0.0.1:{port}/", timeout=2).status == 200
    with pytest.raises(outbound.OutboundError, match="loopback"):
        outbound.request("GET", f"http://127.0.0.2:{port}/", timeout=2)


def test_urls_with_credentials_or_other_schemes_are_refused(settings):
    with pytest.raises(outbound.OutboundError, match="user name or password"):
        outbound.request("GET", "http://user:pw@127.0.0.1/", timeout=1)
    with pytest.raises(outbound.OutboundError, match="not an http"):
        outbound.request("GET", "file:///etc/passwd", timeout=1)


# --- redirects -----------------------------------------------------------------------


def test_a_redirect_to_another_host_is_not_followed(db, http_server, other_server):
    elsewhere = f"http://localhost:{other_server.server.server_address[1]}/steal"
    http_server.replies = [(302, {"Location": elsewhere}, b"")]
    destination = hook(http_server.url + "/hook")
    with pytest.raises(DestinationError) as caught:
        adapters.post_webhook(destination, payload={"a": 1}, idempotency_key="k")
    assert caught.value.message == (
        "HTTP 302 from 127.0.0.1: the redirect to localhost is not followed"
    )
    assert caught.value.retryable is False
    assert other_server.requests == []


def test_a_same_host_redirect_is_followed_without_credentials(db, http_server):
    http_server.replies = [(307, {"Location": "/lists/moved"}, b"")]
    destination = services.create_destination(
        name="List",
        kind="esp_list",
        config={"base_url": http_server.url, "list_id": "abc"},
        secrets={"api_key": "key-abcdef-us1"},
    )
    assert adapters.esp_member(destination, action="update", email="a@b.org", merge_fields={})
    first, second = http_server.requests
    assert first["headers"]["authorization"].startswith("Basic ")
    assert second["path"] == "/lists/moved" and second["method"] == "PUT"
    assert "authorization" not in second["headers"]
    assert second["body"] == first["body"]  # 307 keeps the method and the body


def test_a_redirect_drops_every_header_but_the_harmless_ones(http_server):
    http_server.replies = [(303, {"Location": "/next"}, b"")]
    response = outbound.request(
        "POST",
        http_server.url + "/start",
        headers={
            "Authorization": "Bearer t",
            "X-Api-Key": "k",
            "Idempotency-Key": "i",
            "Content-Type": "application/json",
        },
        body=b"{}",
        timeout=2,
    )
    assert response.status == 200 and response.url == http_server.url + "/next"
    follow = http_server.requests[1]
    assert follow["method"] == "GET" and follow["body"] == b""
    assert "authorization" not in follow["headers"] and "x-api-key" not in follow["headers"]
    assert follow["headers"]["idempotency-key"] == "i"


def test_redirects_stop_after_a_bounded_number(http_server):
    http_server.replies = [(302, {"Location": "/loop"}, b"")] * 10
    response = outbound.request("GET", http_server.url + "/loop", timeout=2)
    assert response.status == 302
    assert len(http_server.requests) == outbound.MAX_REDIRECTS + 1


# --- what errors show ----------------------------------------------------------------

REMOTE_BODY = b"Traceback: password=hunter2 at db-internal.local:5432"


def test_the_body_of_an_error_is_never_in_the_message_shown(db, http_server, settings):
    http_server.status, http_server.body = 500, REMOTE_BODY
    destination = hook(http_server.url + "/hook")
    ok, message = services.record_test(destination=destination)
    assert not ok and message == "HTTP 500 from 127.0.0.1"
    destination.refresh_from_db()
    assert "hunter2" not in destination.last_test_message

    http_server.status = 422
    app.conf.task_always_eager = True
    try:
        tasks.deliver_webhook.delay(destination.pk, {"n": 1}, "key-1")
    finally:
        app.conf.task_always_eager = False
    letter = DeadLetter.objects.get()
    assert letter.error == "HTTP 422 from 127.0.0.1"


def test_the_test_connection_page_shows_the_status_line_only(db, client_as, http_server):
    http_server.status, http_server.body = 500, REMOTE_BODY
    destination = hook(http_server.url + "/hook")
    page = client_as(ADMIN).post(
        f"/integrations/destinations/{destination.pk}/test/", HTTP_HX_REQUEST="true"
    )
    assert "HTTP 500 from 127.0.0.1" in page.content.decode()
    assert "hunter2" not in page.content.decode()


# --- time and size -------------------------------------------------------------------


@pytest.fixture
def dripping_server():
    """Answers headers at once, then one byte of the body every 0.2 s."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.recv(65536)
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
                for _ in range(100):
                    if stop.wait(0.2):
                        break
                    try:
                        connection.sendall(b"x")
                    except OSError:
                        break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    listener.close()


def test_a_server_answering_byte_by_byte_is_cut_off_at_the_timeout(db, dripping_server):
    destination = hook(dripping_server + "/hook", timeout=1)
    started = time.monotonic()
    with pytest.raises(DestinationError) as caught:
        adapters.post_webhook(destination, payload={}, idempotency_key="k")
    assert caught.value.message == "timed out after 1 s"
    assert caught.value.retryable is True
    assert time.monotonic() - started < 2.5


def test_a_response_larger_than_the_limit_is_refused(http_server):
    http_server.body = b"x" * 5000
    with pytest.raises(outbound.OutboundError, match="larger than 1,000 bytes"):
        outbound.request("GET", http_server.url, timeout=2, max_bytes=1000)
    assert outbound.request("GET", http_server.url, timeout=2, max_bytes=5000).body == (b"x" * 5000)


# --- TLS -----------------------------------------------------------------------------


@pytest.fixture
def https_server(tmp_path):
    """An HTTPS server with a certificate for "localhost" signed by a test CA; records the
    server name each client asked for (SNI)."""
    certificates = make_certificates(tmp_path / "tls", host="localhost")
    names: list[str | None] = []
    context = certificates.server_context()
    context.sni_callback = lambda sock, name, ctx: names.append(name)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.certificates, server.names = certificates, names
    yield server
    server.shutdown()
    server.server_close()


def test_tls_verifies_the_certificate_for_the_host_name_in_the_url(https_server):
    port = https_server.server_address[1]
    trusting = https_server.certificates.client_context()
    response = outbound.request(
        "GET", f"https://localhost:{port}/", timeout=3, tls_context=trusting
    )
    assert (response.status, response.body) == (200, b"ok")
    assert "localhost" in https_server.names  # SNI: the URL's host, not the address

    # The same server by its address: the certificate does not name it.
    with pytest.raises(outbound.OutboundError, match="TLS certificate of 127.0.0.1 is not valid"):
        outbound.request("GET", f"https://127.0.0.1:{port}/", timeout=3, tls_context=trusting)


def test_tls_refuses_a_certificate_no_trusted_authority_signed(https_server):
    port = https_server.server_address[1]
    with pytest.raises(outbound.OutboundError) as caught:
        outbound.request("GET", f"https://localhost:{port}/", timeout=3)
    assert "TLS certificate of localhost is not valid" in caught.value.message
    assert caught.value.retryable is False
