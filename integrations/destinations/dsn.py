"""Bounce messages read from a folder: delivery status notifications (RFC 3464) and
complaint reports (ARF, RFC 5965), parsed with the standard library's ``email`` package.

The bounce mailbox is not read over IMAP or POP: the mail server delivers it into a
maildir inside the export root (an SMTP destination's ``config.bounce_folder``), and
``new/`` is read. The caller (campaigns.bounces) applies each message's reports and then
files it away: ``cur/`` when read, ``failed/`` when it could not be (with the reason in
the log), so nothing is read twice and nothing is lost silently.

``parse(data: bytes) -> list[Report]`` raises ``NotAReport`` for a message that is
neither a DSN nor a complaint report.
"""

from __future__ import annotations

import email
import email.policy
import os
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

from cdp_site.contact_points import normalize_email

from .exports import export_root, folder_problem

MAX_BYTES = 2 * 1024 * 1024  # a DSN carries at most the original's headers or a copy of it


class NotAReport(Exception):
    pass


@dataclass(frozen=True)
class Report:
    type: str  # bounce | complaint | delivered
    email: str
    message_id: str = ""
    status: str = ""  # the DSN's status code, e.g. 5.1.1
    diagnostic: str = ""


def _address(value) -> str:
    """``rfc822; ann@example.org`` (or a bare address) as a normalised address, or ''."""
    text = str(value or "")
    if ";" in text:
        text = text.split(";", 1)[1]
    return normalize_email(text.strip().strip("<>")) or ""


def _original_message_id(message: Message) -> str:
    """The Message-ID of the message that bounced, from the returned headers or copy."""
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "text/rfc822-headers":
            headers = email.message_from_string(
                part.get_payload(decode=True).decode(errors="replace")
            )
            return str(headers.get("Message-ID") or "").strip()
        if kind == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) else inner
            return str(inner.get("Message-ID") or "").strip()
    return ""


def _status_blocks(message: Message) -> list[Message]:
    for part in message.walk():
        if part.get_content_type() == "message/delivery-status":
            blocks = part.get_payload()
            return blocks if isinstance(blocks, list) else []
    return []


def _dsn(message: Message) -> list[Report]:
    blocks = _status_blocks(message)
    if not blocks:
        raise NotAReport("a delivery-status report without its message/delivery-status part")
    message_id = _original_message_id(message)
    reports = []
    for block in blocks[1:]:  # the first block is about the message, the rest one a recipient
        action = str(block.get("Action") or "").strip().lower()
        kind = {"failed": "bounce", "delivered": "delivered"}.get(action)
        address = _address(block.get("Final-Recipient") or block.get("Original-Recipient"))
        if kind and address:
            reports.append(
                Report(
                    type=kind,
                    email=address,
                    message_id=message_id,
                    status=str(block.get("Status") or "").strip()[:20],
                    diagnostic=" ".join(str(block.get("Diagnostic-Code") or "").split())[:200],
                )
            )
    return reports


def _complaint(message: Message) -> list[Report]:
    for part in message.walk():
        if part.get_content_type() == "message/feedback-report":
            payload = part.get_payload()
            fields = payload[0] if isinstance(payload, list) and payload else part
            address = _address(fields.get("Original-Rcpt-To"))
            break
    else:
        raise NotAReport("a feedback report without its message/feedback-report part")
    message_id = _original_message_id(message)
    if not address:
        for part in message.walk():
            if part.get_content_type() == "message/rfc822":
                inner = part.get_payload()
                inner = inner[0] if isinstance(inner, list) else inner
                address = _address(inner.get("To"))
    return [Report(type="complaint", email=address, message_id=message_id)] if address else []


def parse(data: bytes) -> list[Report]:
    message = email.message_from_bytes(data, policy=email.policy.compat32)
    if message.get_content_type() != "multipart/report":
        raise NotAReport("not a multipart/report message (RFC 3464 or RFC 5965)")
    report_type = str(message.get_param("report-type") or "").lower()
    if report_type == "delivery-status":
        return _dsn(message)
    if report_type == "feedback-report":
        return _complaint(message)
    raise NotAReport(f"a report of type {report_type or '(none)'}, not delivery-status")


def maildir(folder: str) -> Path:
    """The maildir at ``folder`` inside the export root; ValueError when refused."""
    problem = folder_problem(folder)
    if problem:
        raise ValueError(problem)
    return export_root() / folder


def pending(folder: str) -> list[Path]:
    """The messages waiting in ``new/``, oldest name first (regular files only)."""
    new = maildir(folder) / "new"
    if not new.is_dir():
        return []
    return sorted(p for p in new.iterdir() if p.is_file() and not p.is_symlink())


def read(path: Path) -> bytes:
    with open(path, "rb", opener=lambda p, f: os.open(p, f | os.O_NOFOLLOW)) as handle:
        data = handle.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise NotAReport(f"larger than {MAX_BYTES // 1024 // 1024} MB")
    return data


def file_away(path: Path, *, ok: bool) -> Path:
    """Moves a handled message to ``cur/`` (read) or ``failed/`` (could not be)."""
    target = path.parent.parent / ("cur" if ok else "failed")
    target.mkdir(exist_ok=True)
    moved = target / path.name
    os.replace(path, moved)
    return moved
