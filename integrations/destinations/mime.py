"""The bytes of one e-mail (multipart/alternative: plain text and HTML), written directly.

Why not Django's EmailMultiAlternatives: building the message with the standard library's
email package and flattening it again costs more than rendering the template, and a
campaign sends thousands of messages a second. This writes the same message (same
headers, UTF-8 parts in 7bit/8bit, quoted-printable when a line is too long for SMTP,
RFC 2047 for a non-ASCII subject) for the common case: ASCII addresses and header
values. Anything else (an internationalised address, a non-ASCII display name) goes
through Django's builder, which knows IDNA and address encoding.
"""

from __future__ import annotations

import quopri
import uuid
from email.header import Header
from email.utils import formatdate

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

# Extra headers that replace one of the message's own go through Django's builder.
RESERVED = {
    "MIME-Version",
    "Subject",
    "From",
    "To",
    "Date",
    "Content-Type",
    "Content-Transfer-Encoding",
}
MAX_LINE = 998  # octets per line, without CRLF (RFC 5322 2.1.1)


class HeaderInjection(ValueError):
    """A header value with a line break: it would start a header of its own."""


def message_bytes(
    *, from_email: str, to: str, subject: str, text: str, html: str, headers: dict[str, str]
) -> bytes:
    values = [from_email, to, *headers.values(), *headers.keys()]
    for value in [*values, subject]:
        if "\n" in value or "\r" in value:
            raise HeaderInjection("a header value contains a line break")
    if RESERVED & set(headers) or not all(v.isascii() and len(v) <= 900 for v in values):
        return _django_bytes(
            from_email=from_email, to=to, subject=subject, text=text, html=html, headers=headers
        )
    common = [
        "MIME-Version: 1.0",
        "Subject: " + _subject(subject),
        "From: " + from_email,
        "To: " + to,
        "Date: " + formatdate(localtime=settings.EMAIL_USE_LOCALTIME),
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    if not html:  # plain text only: a single part, as Django writes it
        encoding, payload = _encoded(text)
        head = [
            'Content-Type: text/plain; charset="utf-8"',
            *common,
            f"Content-Transfer-Encoding: {encoding}",
        ]
        return "\r\n".join(head).encode("ascii") + b"\r\n\r\n" + payload
    boundary = f"==============={uuid.uuid4().hex}=="
    head = [f'Content-Type: multipart/alternative; boundary="{boundary}"', *common]
    delimiter = b"--" + boundary.encode("ascii")
    body = b"".join(
        delimiter + b"\r\n" + _part(kind, content) + b"\r\n"
        for kind, content in (("text/plain", text), ("text/html", html))
    )
    return "\r\n".join(head).encode("ascii") + b"\r\n\r\n" + body + delimiter + b"--\r\n"


def _subject(subject: str) -> str:
    if subject.isascii() and len(subject) <= 900:
        return subject
    return Header(subject, "utf-8", header_name="Subject").encode()


def _encoded(body: str) -> tuple[str, bytes]:
    """The part's transfer encoding and its bytes, CRLF line ends."""
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    raw = "\r\n".join(lines).encode("utf-8")
    if all(len(line.encode("utf-8")) <= MAX_LINE for line in lines):
        return ("7bit" if raw.isascii() else "8bit"), raw
    encoded = quopri.encodestring(raw.replace(b"\r\n", b"\n")).replace(b"\n", b"\r\n")
    return "quoted-printable", encoded


def _part(content_type: str, body: str) -> bytes:
    encoding, payload = _encoded(body)
    head = (
        f'Content-Type: {content_type}; charset="utf-8"\r\nMIME-Version: 1.0\r\n'
        f"Content-Transfer-Encoding: {encoding}\r\n\r\n"
    )
    return head.encode("ascii") + payload


def _django_bytes(*, from_email, to, subject, text, html, headers) -> bytes:
    message = EmailMultiAlternatives(
        subject=subject, body=text, from_email=from_email, to=[to], headers=dict(headers)
    )
    if html:
        message.attach_alternative(html, "text/html")
    return message.message().as_bytes(linesep="\r\n")
