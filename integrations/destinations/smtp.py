"""E-mail over SMTP: one message, or many over one connection per destination inside
``smtp_session()`` (a failed connection is dropped, a send is never retried inside the
session: e-mail stays at most once)."""

from __future__ import annotations

import contextlib
import contextvars
import json
import re
import smtplib
import ssl
import time
from email.utils import make_msgid

from .base import DestinationError, _config, _expect, _secret, _timeout
from .mime import HeaderInjection, message_bytes
from .models import Destination

# --- SMTP -----------------------------------------------------------------------------


PLAIN_LOGIN = (
    "Refused to send the SMTP password over a connection without TLS: turn on STARTTLS "
    "or TLS from the start."
)


def _smtp_connect(destination: Destination) -> smtplib.SMTP:
    host = _config(destination, "host", required=True)
    port = int(_config(destination, "port", 587))
    username = _config(destination, "username", "")
    password = _secret(destination, "password", required=bool(username))
    if _config(destination, "tls", False):
        connection = smtplib.SMTP_SSL(
            host, port, timeout=_timeout(destination), context=ssl.create_default_context()
        )
    else:
        connection = smtplib.SMTP(host, port, timeout=_timeout(destination))
    try:
        connection.ehlo()
        if _config(destination, "starttls", False) and not _over_tls(connection):
            # Without STARTTLS on offer smtplib raises (SMTPNotSupportedError): no downgrade.
            connection.starttls(context=ssl.create_default_context())
            connection.ehlo()
        if username:
            if not _over_tls(connection):
                raise DestinationError(PLAIN_LOGIN, retryable=False)
            connection.login(username, password)
    except BaseException:
        connection.close()
        raise
    return connection


def _over_tls(connection: smtplib.SMTP) -> bool:
    return isinstance(connection.sock, ssl.SSLSocket)


def _smtp_error(exc: Exception) -> DestinationError:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        retryable = all(400 <= code < 500 for code in codes)
        return DestinationError(f"Recipient refused: {exc.recipients}", retryable=retryable)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return DestinationError(f"SMTP login refused: {exc.smtp_error!r}", retryable=False)
    if isinstance(exc, smtplib.SMTPResponseException):
        detail = (
            exc.smtp_error.decode("utf-8", "replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        return DestinationError(
            f"SMTP server answered {exc.smtp_code}: {detail}",
            retryable=400 <= exc.smtp_code < 500,
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return DestinationError(f"SMTP server does not support it: {exc}", retryable=False)
    return DestinationError(f"SMTP failed: {exc}", retryable=True)


def _quit(connection: smtplib.SMTP) -> None:
    try:
        connection.quit()
    except (smtplib.SMTPException, OSError):
        connection.close()


# An address smtplib would send as it is: no spaces, brackets, quotes or separators.
PLAIN_ADDRESS = re.compile(r"[^\s<>()\[\],;:\"\\]+@[^\s<>()\[\],;:\"\\@]+\Z", re.ASCII)


class NotReady(Exception):
    """``ready()`` said no: nothing was sent (the transaction was reset)."""


def send_one(connection: smtplib.SMTP, sender: str, to: str, payload: bytes, ready=None) -> None:
    """``connection.sendmail(sender, [to], payload)`` for plain addresses without
    smtplib's address parsing (``quoteaddr``), which cost more CPU than the rest of the
    exchange; same commands, same errors. Any other address goes through smtplib.

    ``ready``, if given, is asked after the envelope was accepted and before DATA, the
    point after which the message may go out; False: RSET and ``NotReady``. The caller
    does its own work (a database commit) during the envelope's round trips."""
    if not (PLAIN_ADDRESS.match(sender) and PLAIN_ADDRESS.match(to)):
        if ready is not None and not ready():
            raise NotReady
        connection.sendmail(sender, [to], payload)
        return
    connection.ehlo_or_helo_if_needed()
    size = f" size={len(payload)}" if connection.does_esmtp and connection.has_extn("size") else ""
    connection.putcmd("mail", f"FROM:<{sender}>{size}")
    code, reply = connection.getreply()
    if code != 250:
        _abandon(connection, code)
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    connection.putcmd("rcpt", f"TO:<{to}>")
    code, reply = connection.getreply()
    if code not in (250, 251):
        _abandon(connection, code)
        raise smtplib.SMTPRecipientsRefused({to: (code, reply)})
    if ready is not None and not ready():
        connection._rset()
        raise NotReady
    code, reply = connection.data(payload)
    if code != 250:
        _abandon(connection, code)
        raise smtplib.SMTPDataError(code, reply)


def _abandon(connection: smtplib.SMTP, code: int) -> None:
    # What smtplib does after a refusal: the transaction is reset (421: the server is
    # closing the connection).
    if code == 421:
        connection.close()
    else:
        connection._rset()


class _SmtpSession:
    """Open SMTP connections kept for a run of sends (one per destination and its
    settings). A connection idle for a while is checked with NOOP before it is used; a
    connection that failed is dropped (the next send opens a new one). Nothing is ever
    sent twice here: a failed send raises like a single send does."""

    IDLE_CHECK = 5.0  # seconds idle after which a connection is checked before use

    def __init__(self):
        self.connections: dict[tuple, tuple[smtplib.SMTP, float]] = {}

    def sendmail(
        self, destination: Destination, sender: str, to: str, payload: bytes, ready=None
    ) -> None:
        key = (destination.pk, json.dumps(destination.config or {}, sort_keys=True, default=str))
        connection, used = self.connections.pop(key, (None, 0.0))
        if connection is not None and time.monotonic() - used > self.IDLE_CHECK:
            try:
                if connection.noop()[0] != 250:
                    raise smtplib.SMTPServerDisconnected("NOOP refused")
            except (smtplib.SMTPException, OSError):
                connection.close()
                connection = None
        if connection is None:
            connection = _smtp_connect(destination)
        try:
            send_one(connection, sender, to, payload, ready)
        except BaseException:
            connection.close()
            raise
        self.connections[key] = (connection, time.monotonic())

    def close(self) -> None:
        for connection, _ in self.connections.values():
            _quit(connection)
        self.connections.clear()


_SESSION: contextvars.ContextVar[_SmtpSession | None] = contextvars.ContextVar(
    "smtp_session", default=None
)


@contextlib.contextmanager
def smtp_session():
    """Within it, ``send_email`` keeps one SMTP connection per destination open across
    sends (a run of deliveries) instead of connecting for each message."""
    if _SESSION.get() is not None:
        yield
        return
    session = _SmtpSession()
    token = _SESSION.set(session)
    try:
        yield
    finally:
        _SESSION.reset(token)
        session.close()


def send_email(
    destination: Destination,
    *,
    to: str,
    subject: str,
    html: str,
    text: str,
    headers: dict | None = None,
    message_id: str | None = None,
    ready=None,
) -> str:
    """``ready``: see ``send_one`` (raises ``NotReady`` when it says no)."""
    _expect(destination, Destination.Kind.SMTP)
    from_email = _config(destination, "from_email", required=True)
    domain = from_email.rsplit("@", 1)[-1].strip("> ") or "localhost"
    message_id = message_id or make_msgid(domain=domain)
    extra = dict(headers or {})
    extra["Message-ID"] = message_id
    try:
        payload = message_bytes(
            from_email=from_email, to=to, subject=subject, text=text, html=html, headers=extra
        )
    except HeaderInjection as exc:
        raise DestinationError(f"Refused: {exc}", retryable=False) from exc
    sender = from_email.rsplit("<", 1)[-1].rstrip(">").strip()
    session = _SESSION.get()
    try:
        if session is not None:
            session.sendmail(destination, sender, to, payload, ready)
        else:
            connection = _smtp_connect(destination)
            try:
                send_one(connection, sender, to, payload, ready)
            finally:
                _quit(connection)
    except DestinationError:
        raise
    except (smtplib.SMTPException, OSError) as exc:
        raise _smtp_error(exc) from exc
    return message_id
