"""The one way this system sends an HTTP request to an address someone typed in: webhooks,
ad audiences, e-mail platform lists, every "test connection", and connectors.

``request(method, url, *, headers=None, body=None, timeout=10.0,
max_bytes=MAX_RESPONSE_BYTES, max_redirects=MAX_REDIRECTS, tls_context=None) -> Response``
    ``Response.status`` (int), ``.headers`` (dict, lower-cased names), ``.body`` (bytes),
    ``.url`` (the URL that answered) and ``.error()``: None for a 2xx, else an
    ``OutboundError`` saying what went wrong in words a marketer can read.
    Raises ``OutboundError(message, retryable=...)`` when no answer could be had: an
    address that is not allowed, a bad URL, a refused connection, a timeout, an invalid
    TLS certificate, a response larger than ``max_bytes``.

What it guarantees:

- **Only public addresses.** The host name is resolved here, every address it resolves
  to is checked (loopback, private networks, link-local, CGNAT, multicast, unspecified,
  reserved, and the IPv4 address inside IPv4-mapped, 6to4 and NAT64 IPv6 addresses), and
  the connection goes to an address that was checked: a DNS answer that changes between
  the check and the connection (rebinding) changes nothing. The Host header, SNI and the
  certificate check still use the URL's host name. ``settings.CDP_OUTBOUND_ALLOWED_NETWORKS``
  lists networks an admin allows on purpose (test and demo allow loopback).
- **Redirects stay on the origin.** A redirect to the same scheme, host and port is
  followed (at most ``max_redirects`` times, each address checked again) and carries only
  ``REDIRECT_HEADERS``: credentials (Authorization, API keys, signatures) are never sent
  twice. A redirect anywhere else is returned as the response, not followed.
- **Bounded.** ``timeout`` is the whole exchange (connecting, TLS, sending, and every byte
  of the answer, redirects included); the answer's body is at most ``max_bytes``.
- **Nothing of the remote body in messages.** Errors say the status line only; the first
  bytes of an error's body go to the server log.

``tls_context`` replaces the default one (system CAs, host name checked) for a server
whose certificate a private CA signed; it must still verify.
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import logging
import socket
import ssl
import time
from dataclasses import dataclass
from functools import cache, lru_cache
from urllib.parse import urljoin, urlsplit

from django.conf import settings

logger = logging.getLogger(__name__)

USER_AGENT = "cdp/1"
MAX_RESPONSE_BYTES = 1024 * 1024
MAX_REDIRECTS = 3
RETRYABLE_STATUSES = frozenset({408, 425, 429})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Headers a followed redirect carries on; everything else (Authorization, API keys,
# signatures, cookies) is dropped.
REDIRECT_HEADERS = frozenset(
    {"accept", "accept-language", "content-type", "idempotency-key", "user-agent"}
)
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
LOGGED_BODY_BYTES = 500

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class OutboundError(Exception):
    """A request that could not be made or was answered with an error. ``message`` is
    short and safe to show; ``retryable`` says whether trying again later can help."""

    def __init__(self, message: str, *, retryable: bool = False):
        super().__init__(message)
        self.message = message
        self.retryable = retryable

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    url: str

    def error(self) -> OutboundError | None:
        """None for a 2xx; otherwise the status line as an error (never the body)."""
        if 200 <= self.status < 300:
            return None
        host = _Target.parse(self.url).host
        if self.status in REDIRECT_STATUSES:
            where = _redirect_host(self.url, self.headers.get("location", ""))
            return OutboundError(
                f"HTTP {self.status} from {host}: the redirect to {where} is not followed",
                retryable=False,
            )
        retryable = self.status >= 500 or self.status in RETRYABLE_STATUSES
        return OutboundError(f"HTTP {self.status} from {host}", retryable=retryable)


def request(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 10.0,
    max_bytes: int = MAX_RESPONSE_BYTES,
    max_redirects: int = MAX_REDIRECTS,
    tls_context: ssl.SSLContext | None = None,
) -> Response:
    deadline = _Deadline(timeout)
    target = _Target.parse(url)
    sent = {k: v for k, v in (headers or {}).items() if k.lower() != "host"}
    sent.setdefault("User-Agent", USER_AGENT)
    for hop in range(max_redirects + 1):
        response = _exchange(method, target, sent, body, deadline, max_bytes, tls_context)
        following = _same_origin_redirect(target, response) if hop < max_redirects else None
        if following is None:
            return response
        if response.status == 303 or (response.status in (301, 302) and method == "POST"):
            method, body = "GET", None
            sent.pop("Content-Type", None)
        sent = {k: v for k, v in sent.items() if k.lower() in REDIRECT_HEADERS}
        target = following
    return response


# --- addresses ------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _networks(
    entries: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry)


def allowed_networks() -> tuple:
    """``settings.CDP_OUTBOUND_ALLOWED_NETWORKS`` parsed (validated at start-up)."""
    return _networks(tuple(getattr(settings, "CDP_OUTBOUND_ALLOWED_NETWORKS", ())))


def _embedded_ipv4(ip: Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address stands for: mapped, 6to4, NAT64, Teredo client."""
    if ip.version == 4:
        return []
    found = [ip.ipv4_mapped, ip.sixtofour, ip.teredo[1] if ip.teredo else None]
    if ip in NAT64:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return [address for address in found if address is not None]


_KINDS = (
    ("an unspecified address", lambda ip: ip.is_unspecified),
    ("a loopback address", lambda ip: ip.is_loopback),
    ("a link-local address", lambda ip: ip.is_link_local),
    ("shared address space (CGNAT)", lambda ip: ip.version == 4 and ip in CGNAT),
    ("a multicast address", lambda ip: ip.is_multicast),
    ("a private network", lambda ip: ip.is_private),
    ("a reserved range", lambda ip: ip.is_reserved or not ip.is_global),
)


def _allowed(ip: Address) -> bool:
    # An IPv4-mapped address reaches its IPv4 address: the same exception applies.
    candidates = [ip] if ip.version == 4 or ip.ipv4_mapped is None else [ip, ip.ipv4_mapped]
    return any(
        candidate in network
        for candidate in candidates
        for network in allowed_networks()
        if candidate.version == network.version
    )


def refusal(ip: Address) -> str | None:
    """Why this address may not be reached ("a private network"), or None."""
    if _allowed(ip):
        return None
    for candidate in (*_embedded_ipv4(ip), ip):
        for words, test in _KINDS:
            if test(candidate):
                return words
    return None


def _resolve(host: str, port: int) -> list[tuple[int, tuple]]:
    """(family, socket address) of every address of ``host``, each one allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise OutboundError(f"{host} cannot be resolved", retryable=True) from exc
    addresses = []
    for family, _, _, _, sockaddr in infos:
        if (family, sockaddr) in addresses:
            continue
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        reason = refusal(ip)
        if reason:
            what = f"{host} is" if _is_literal(host) else f"{host} resolves to"
            raise OutboundError(
                f"{what} {reason} ({ip}), which is not allowed "
                "(CDP_OUTBOUND_ALLOWED_NETWORKS lists the exceptions)",
                retryable=False,
            )
        addresses.append((family, sockaddr))
    return addresses


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


# --- URLs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    url: str
    scheme: str
    host: str
    port: int
    path: str

    @classmethod
    def parse(cls, url: str) -> _Target:
        try:
            parts = urlsplit(str(url).strip())
            port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
            host = (parts.hostname or "").encode("idna").decode("ascii")
        except (ValueError, UnicodeError) as exc:
            raise OutboundError(f"{url!r} is not a usable URL", retryable=False) from exc
        if parts.scheme.lower() not in ("http", "https") or not host:
            raise OutboundError(f"{url!r} is not an http(s) URL", retryable=False)
        if parts.username is not None or parts.password is not None:
            raise OutboundError(
                "the URL holds a user name or password; put credentials in the secret fields",
                retryable=False,
            )
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return cls(
            url=str(url).strip(), scheme=parts.scheme.lower(), host=host, port=port, path=path
        )

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.host.lower(), self.port)


def _redirect_host(url: str, location: str) -> str:
    try:
        return (urlsplit(urljoin(url, location)).hostname or "another address")[:100]
    except ValueError:
        return "another address"


def _same_origin_redirect(target: _Target, response: Response) -> _Target | None:
    location = response.headers.get("location")
    if response.status not in REDIRECT_STATUSES or not location:
        return None
    try:
        following = _Target.parse(urljoin(target.url, location))
    except OutboundError:
        return None
    return following if following.origin == target.origin else None


# --- the exchange ---------------------------------------------------------------------


class _Deadline:
    def __init__(self, timeout: float):
        self.timeout = float(timeout)
        self.at = time.monotonic() + self.timeout

    def left(self) -> float:
        left = self.at - time.monotonic()
        if left <= 0:
            raise TimeoutError
        return left


class _DeadlineSocket:
    """A connected socket whose every send and receive must end before one deadline: a
    server answering a byte at a time cannot hold a worker past the timeout."""

    def __init__(self, sock: socket.socket, deadline: _Deadline):
        self.sock, self.deadline = sock, deadline

    def sendall(self, data) -> None:
        self.sock.settimeout(self.deadline.left())
        self.sock.sendall(data)

    def recv_into(self, buffer, nbytes: int = 0) -> int:
        self.sock.settimeout(self.deadline.left())
        return self.sock.recv_into(buffer, nbytes)

    def makefile(self, mode: str = "rb", *args, **kwargs):
        return io.BufferedReader(_Reader(self))

    def close(self) -> None:
        # http.client closes a connection that will not be reused before its response is
        # read, counting on socket.makefile()'s reference count; the exchange closes the
        # socket itself once the body is read (``release``).
        pass

    def release(self) -> None:
        self.sock.close()


class _Reader(io.RawIOBase):
    def __init__(self, sock: _DeadlineSocket):
        self.sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        return self.sock.recv_into(buffer)


def _open(addresses: list[tuple[int, tuple]], deadline: _Deadline) -> socket.socket:
    """A TCP connection to the first of the checked addresses that answers."""
    problem: OSError | None = None
    for family, sockaddr in addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(deadline.left())
            sock.connect(sockaddr)
        except TimeoutError:
            sock.close()
            raise
        except OSError as exc:
            sock.close()
            problem = exc
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    raise problem or OSError("no address")


@cache
def _default_tls() -> ssl.SSLContext:
    # Built once: loading the system's CAs costs about 0.1 s.
    return ssl.create_default_context()


class _PinnedConnection(http.client.HTTPConnection):
    """``host`` for the Host header, TLS SNI and the certificate; the TCP connection to
    an address that was checked (see ``_resolve``)."""

    def __init__(self, target: _Target, deadline: _Deadline, tls: ssl.SSLContext | None):
        super().__init__(target.host, target.port)
        self.target, self.deadline, self.tls = target, deadline, tls
        self.pinned: _DeadlineSocket | None = None
        self.default_port = 443 if tls else 80  # the Host header names other ports only

    def connect(self) -> None:
        addresses = _resolve(self.target.host, self.target.port)
        sock = _open(addresses, self.deadline)
        if self.tls is not None:
            try:
                sock.settimeout(self.deadline.left())
                sock = self.tls.wrap_socket(sock, server_hostname=self.target.host)
            except BaseException:
                sock.close()
                raise
        self.sock = self.pinned = _DeadlineSocket(sock, self.deadline)

    def release(self) -> None:
        self.close()
        if self.pinned is not None:
            self.pinned.release()


def _exchange(method, target: _Target, headers, body, deadline, max_bytes, tls_context):
    tls = (tls_context or _default_tls()) if target.scheme == "https" else None
    connection = None
    try:
        connection = _PinnedConnection(target, deadline, tls)
        connection.request(method, target.path, body=body, headers=headers)
        answer = connection.getresponse()
        content = answer.read(max_bytes + 1)
        status, answer_headers = answer.status, answer.getheaders()
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise _failure(exc, target, deadline) from exc
    finally:
        if connection is not None:
            connection.release()
    if len(content) > max_bytes:
        raise OutboundError(
            f"the answer from {target.host} is larger than {max_bytes:,} bytes", retryable=False
        )
    if status >= 400:
        logger.warning("HTTP %s from %s: %r", status, target.host, content[:LOGGED_BODY_BYTES])
    merged: dict[str, str] = {}
    for name, value in answer_headers:
        key = name.lower()
        merged[key] = f"{merged[key]}, {value}" if key in merged else value
    return Response(status=status, headers=merged, body=content, url=target.url)


def _failure(exc: Exception, target: _Target, deadline: _Deadline) -> OutboundError:
    where = f"{target.host}:{target.port}"
    if isinstance(exc, TimeoutError):
        return OutboundError(f"timed out after {deadline.timeout:g} s", retryable=True)
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = exc.verify_message or "not trusted"
        return OutboundError(
            f"the TLS certificate of {target.host} is not valid ({reason})", retryable=False
        )
    if isinstance(exc, ssl.SSLError):
        return OutboundError(f"the TLS handshake with {where} failed", retryable=True)
    if isinstance(exc, http.client.InvalidURL | ValueError):  # a line break in a header
        return OutboundError(f"the request to {target.host} is malformed", retryable=False)
    if isinstance(exc, ConnectionRefusedError):
        return OutboundError(f"{where} refused the connection", retryable=True)
    if isinstance(exc, http.client.HTTPException):
        return OutboundError(f"{where} did not answer with valid HTTP", retryable=True)
    if isinstance(exc, ConnectionError):
        return OutboundError(f"{where} closed the connection", retryable=True)
    return OutboundError(f"cannot connect to {where} ({exc.strerror or exc})", retryable=True)
