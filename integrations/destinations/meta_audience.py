"""Meta Custom Audiences (Marketing API): ``POST`` (add) or ``DELETE`` (remove)
``{api_base}/{audience_id}/users`` with

    {"payload": {"schema": ["EMAIL_SHA256", "PHONE_SHA256"], "data": [[e, p], ...]},
     "session": {"session_id", "batch_seq", "last_batch_flag", "estimated_num_total"}}

at most 10,000 rows a request, ``Authorization: Bearer <access token>`` (a system user's
long-lived token with ``ads_management``). It answers ``{"audience_id", "session_id",
"num_received", "num_invalid_entries", "invalid_entry_samples": {value: reason}}``; an
error is ``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``:
code 190 a token that expired or was revoked, 100 an audience that does not exist (or may
not be edited), 4/17/32/613/80003 rate limits, 1/2 temporary.
"""

from __future__ import annotations

from .audiences import (
    ADD,
    AUTH,
    DEFAULT_RETRY_AFTER,
    GONE,
    RATE,
    REFUSED,
    SERVER,
    AudienceError,
    PushResult,
    body_json,
    retry_after,
    send,
    short,
)
from .base import _config, _secret, _timeout

SCHEMA = ["EMAIL_SHA256", "PHONE_SHA256"]
RATE_CODES = {4, 17, 32, 613, 80003}
TEMPORARY_CODES = {1, 2}
EXPIRED_TOKEN = 190


def push(destination, *, audience_id: str, action: str, rows, session=None) -> PushResult:
    base = str(_config(destination, "api_base", "https://graph.facebook.com/v25.0")).rstrip("/")
    body = {"payload": {"schema": SCHEMA, "data": [list(row) for row in rows]}}
    if session:
        body["session"] = session
    response = send(
        "POST" if action == ADD else "DELETE",
        f"{base}/{audience_id}/users",
        payload=body,
        headers={"Authorization": f"Bearer {_secret(destination, 'access_token')}"},
        timeout=_timeout(destination),
    )
    answer = body_json(response)
    if not 200 <= response.status < 300:
        raise _error(response.status, answer, response, audience_id)
    return _result(answer, rows)


def _result(answer: dict, rows) -> PushResult:
    samples = answer.get("invalid_entry_samples") or {}
    samples = samples if isinstance(samples, dict) else {}
    rejected = {
        index: short(samples.get(email) or samples.get(phone) or "invalid entry")
        for index, (email, phone) in enumerate(rows)
        if (email and email in samples) or (phone and phone in samples)
    }
    invalid = _int(answer.get("num_invalid_entries"))
    received = _int(answer.get("num_received"), len(rows))
    return PushResult(
        sent=max(received - max(invalid, len(rejected)), 0),
        rejected=rejected,
        invalid=max(invalid, len(rejected)),
        session_id=str(answer.get("session_id") or ""),
    )


def _int(value, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _error(status: int, answer: dict, response, audience_id: str) -> AudienceError:
    error = answer.get("error") if isinstance(answer.get("error"), dict) else {}
    code = _int(error.get("code"), -1)
    words = short(error.get("error_user_msg") or error.get("message") or f"HTTP {status}")
    said = f"Meta answered HTTP {status}" + (f" (code {code})" if code >= 0 else "")
    if code == EXPIRED_TOKEN or status == 401:
        return AudienceError(
            f"{said}: the access token was refused ({words}). An admin must reconnect the "
            "destination with a new token.",
            reason=AUTH,
        )
    if status == 404 or code == 100:
        return AudienceError(
            f"{said}: the custom audience {audience_id} cannot be found or edited ({words}). "
            "It may have been deleted in Ads Manager: choose another audience.",
            reason=GONE,
        )
    if status == 429 or code in RATE_CODES:
        wait = retry_after(response) if "retry-after" in response.headers else None
        return AudienceError(
            f"{said}: rate limited ({words}).",
            reason=RATE,
            retry_after=wait if wait is not None else DEFAULT_RETRY_AFTER,
        )
    if status >= 500 or code in TEMPORARY_CODES:
        return AudienceError(f"{said}: a temporary error ({words}).", reason=SERVER)
    return AudienceError(f"{said}: {words}", reason=REFUSED)
