"""The demo's mailbox: a local SMTP server (aiosmtpd, loopback only) that keeps every
message it receives, so that a newcomer sees the e-mails the journeys send. Demo only.

Each message is one file under ``var/demo/mailbox/`` (the raw message, as received, with
the envelope's sender and recipients as ``X-Demo-Envelope-*`` headers on top), so the
mailbox survives restarts. At most ``KEEP`` messages are kept (the oldest go first): a
demo left running for days does not fill the disk. The demo company's SMTP destination
(``ensure_destination``) points at it.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from pathlib import Path

from aiosmtpd.controller import Controller
from django.conf import settings

from integrations.destinations import services as destinations
from integrations.models import Destination

DESTINATION_NAME = "Trailhead · Demo mailbox (local SMTP)"
FROM_EMAIL = "Trailhead Outdoor <hello@trailhead.example>"
DEFAULT_PORT = 2525
KEEP = 5_000
MAX_MESSAGE_BYTES = 2 * 1024 * 1024
NAME = re.compile(r"^\d{19}-[0-9a-f]{32}$")  # <nanoseconds>-<uuid>: sortable by arrival


def directory() -> Path:
    return Path(settings.VAR_DIR) / "demo" / "mailbox"


# --- the server ------------------------------------------------------------------------


class Keeper:
    """aiosmtpd's handler: writes each message to its file (atomically: a reader never
    sees half a message), then trims the mailbox to ``KEEP``."""

    def __init__(self, where: Path, *, keep: int = KEEP):
        self.where, self.keep = where, keep
        self._written = 0
        self._lock = threading.Lock()
        where.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        rcpt = ", ".join(envelope.rcpt_tos)
        top = f"X-Demo-Envelope-From: {envelope.mail_from}\r\nX-Demo-Envelope-To: {rcpt}\r\n"
        name = f"{time.time_ns():019d}-{uuid.uuid4().hex}"
        part = self.where / f".{name}.part"
        part.write_bytes(top.encode("utf-8", "replace") + envelope.original_content)
        os.replace(part, self.where / f"{name}.eml")
        with self._lock:
            self._written += 1
            if self._written % 100 == 0:
                trim(self.where, self.keep)
        return "250 Message kept in the demo mailbox"


def trim(where: Path, keep: int) -> int:
    names = sorted(where.glob("*.eml"))
    gone = names[: max(0, len(names) - keep)]
    for path in gone:
        path.unlink(missing_ok=True)
    return len(gone)


def start(*, port: int = DEFAULT_PORT, where: Path | None = None) -> Controller:
    """The SMTP server on 127.0.0.1:``port`` (started; ``.stop()`` it)."""
    where = where or directory()
    controller = Controller(
        Keeper(where),
        hostname="127.0.0.1",
        port=port,
        data_size_limit=MAX_MESSAGE_BYTES,
        server_hostname="demo-mailbox.localhost",
    )
    controller.start()
    trim(where, KEEP)
    return controller


def ensure_destination(*, port: int) -> Destination:
    """The demo company's SMTP destination, pointed at the mailbox on ``port``."""
    config = {
        "host": "127.0.0.1",
        "port": port,
        "from_email": FROM_EMAIL,
        "starttls": False,
        "tls": False,
    }
    found = Destination.objects.filter(name=DESTINATION_NAME).first()
    if found is None:
        return destinations.create_destination(
            name=DESTINATION_NAME, kind=Destination.Kind.SMTP, config=config
        )
    if found.config.get("port") != port or not found.enabled:
        return destinations.update_destination(destination=found, config=config, enabled=True)
    return found


# --- reading ---------------------------------------------------------------------------


@dataclass
class Summary:
    id: str
    subject: str
    sender: str
    to: str
    date: str


@dataclass
class Message:
    id: str
    subject: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    html: str = ""
    text: str = ""


def _parse(path: Path, *, headers_only: bool = False):
    with path.open("rb") as handle:
        if headers_only:
            return BytesHeaderParser(policy=email.policy.default).parse(handle)
        return email.message_from_binary_file(handle, policy=email.policy.default)


def _header(message, name: str) -> str:
    try:
        return str(message.get(name, "") or "")
    except (ValueError, TypeError, IndexError):  # a header the policy cannot parse
        return ""


def latest(*, limit: int = 200, where: Path | None = None) -> tuple[list[Summary], int]:
    """The newest ``limit`` messages (newest first) and how many are kept in all."""
    names = sorted((where or directory()).glob("*.eml"), reverse=True)
    found = []
    for path in names[:limit]:
        try:
            parsed = _parse(path, headers_only=True)
        except OSError:  # trimmed meanwhile
            continue
        found.append(
            Summary(
                id=path.stem,
                subject=_header(parsed, "Subject") or "(no subject)",
                sender=_header(parsed, "From"),
                to=_header(parsed, "To") or _header(parsed, "X-Demo-Envelope-To"),
                date=_header(parsed, "Date"),
            )
        )
    return found, len(names)


def _body(parsed, subtype: str) -> str:
    part = parsed.get_body(preferencelist=(subtype,))
    if part is None:
        return ""
    try:
        return part.get_content()
    except (LookupError, ValueError):  # an unknown charset: shown as best it can be
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", "replace")


def read(message_id: str, *, where: Path | None = None) -> Message | None:
    """One message by id, or None (no such message, or an id that is no file name)."""
    if not NAME.match(message_id or ""):
        return None
    path = (where or directory()) / f"{message_id}.eml"
    try:
        parsed = _parse(path)
    except (FileNotFoundError, IsADirectoryError):
        return None
    # As received (folded lines joined): what the product really sent, encoded words too.
    headers = [
        (name, re.sub(r"\r?\n[ \t]+", " ", str(value))) for name, value in parsed.raw_items()
    ]
    return Message(
        id=message_id,
        subject=_header(parsed, "Subject") or "(no subject)",
        headers=headers,
        html=_body(parsed, "html"),
        text=_body(parsed, "plain"),
    )
