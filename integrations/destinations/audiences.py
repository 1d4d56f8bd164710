"""Audience sync adapters: a batch of hashed members added to or removed from one platform
audience. Campaigns' audience sync (campaigns/audiences/) calls these; they receive plain
rows, never domain models.

``push(destination, *, audience_id, action, rows, session=None) -> PushResult``
    ``action`` "add" | "remove"; ``rows`` a list of ``(email_sha256, phone_sha256)`` hex
    strings ("" where missing), at most ``batch_limit(destination)`` of them.
    ``session`` (Meta only, a full upload in parts): ``{"session_id", "batch_seq",
    "last_batch_flag", "estimated_num_total"}``. Returns what the platform accepted and
    which rows it rejected (their indexes, with the reason); raises ``AudienceError``.

``check_request(destination, *, request_id) -> RequestStatus | None``
    Google: the diagnostics of an earlier request (``requestStatus:retrieve``): its state,
    the match-rate range and how many records failed. None while it is processing, or
    for a platform without such a report.

``AudienceError.reason`` says what the sync does about it:

- ``"auth"``: the credentials were refused (an expired or revoked token, a 401, Google's
  ``invalid_grant``): the sync pauses until an admin reconnects the destination;
- ``"gone"``: the audience no longer exists on the platform (404, Meta error code 100):
  the sync is marked broken;
- ``"rate"``: 429 or a platform rate-limit code: try again after ``retry_after`` seconds;
- ``"server"``: 5xx, a timeout, a refused connection: try again with backoff;
- ``"refused"``: anything else the platform refused; the batch is set aside as failed.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

from cdp_site.contact_points import normalize_email, normalize_phone
from integrations import outbound

from .base import DestinationError
from .models import Destination

ADD, REMOVE = "add", "remove"
# Both platforms take at most 10,000 members a request.
BATCH_LIMIT = 10_000
DEFAULT_RETRY_AFTER = 60
AUTH, GONE, RATE, SERVER, REFUSED = "auth", "gone", "rate", "server", "refused"


class AudienceError(DestinationError):
    def __init__(self, message: str, *, reason: str, retry_after: float | None = None):
        super().__init__(message, retryable=reason in (RATE, SERVER))
        self.reason = reason
        self.retry_after = retry_after


@dataclass
class PushResult:
    sent: int  # rows the platform took
    rejected: dict[int, str] = field(default_factory=dict)  # row index -> reason
    invalid: int = 0  # rows the platform said were invalid (may exceed those identified)
    request_id: str = ""
    session_id: str = ""


@dataclass
class RequestStatus:
    state: str  # SUCCESS, PARTIAL_SUCCESS, FAILED
    match_rate: str = ""  # e.g. "20-30 %"
    failed: int = 0
    record_count: int = 0


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# A number already written in E.164 (as identity resolution stores them) is taken as it
# is: parsing one costs ~0.1 ms, which a 100,000-member upload cannot afford.
E164 = re.compile(r"^\+[1-9]\d{7,14}$")


def hash_member(email, phone, *, region: str = "US") -> tuple[str, str]:
    """(e-mail hash, phone hash): e-mail trimmed and lower-cased, phone in E.164 (a
    national number read as ``region``'s); "" where missing or invalid."""
    address = normalize_email(email)
    raw = str(phone or "").strip()
    number = raw if E164.match(raw) else normalize_phone(raw, region or "US") if raw else None
    return (sha256(address) if address else "", sha256(number) if number else "")


def body_json(response: outbound.Response) -> dict:
    try:
        parsed = json.loads(response.body or b"{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def retry_after(response: outbound.Response) -> float:
    """Seconds from a Retry-After header (a number; a date counts as the default)."""
    try:
        return max(float(response.headers.get("retry-after", "")), 0.0)
    except ValueError:
        return float(DEFAULT_RETRY_AFTER)


def send(method: str, url: str, *, payload=None, headers=None, timeout=10.0, form=None):
    """One request through the safe client; a failure to get any answer is a "server"
    error (retryable) or, for an address that is not allowed, "refused"."""
    sent = dict(headers or {})
    body = None
    if form is not None:
        body = urlencode(form).encode()
        sent["Content-Type"] = "application/x-www-form-urlencoded"
    elif payload is not None:
        body = json.dumps(payload, separators=(",", ":")).encode()
        sent["Content-Type"] = "application/json"
    try:
        return outbound.request(
            method, url, headers=sent, body=body, timeout=timeout, max_bytes=8 * 1024 * 1024
        )
    except outbound.OutboundError as exc:
        raise AudienceError(exc.message, reason=SERVER if exc.retryable else REFUSED) from exc


def short(text, limit: int = 200) -> str:
    """A platform's own error words, one line, bounded (they name the field or token)."""
    return " ".join(str(text or "").split())[:limit]


SYNC_KINDS = (Destination.Kind.META_CUSTOM_AUDIENCE, Destination.Kind.GOOGLE_DATA_MANAGER)
