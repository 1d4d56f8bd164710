"""Adapters: how activation reaches each destination. The campaign engine calls these.

Every function takes a ``Destination`` and keyword-only arguments, reads its settings
from ``destination.config`` and its credentials (decrypted) from the services, and raises
``DestinationError(message, retryable=...)`` on failure: ``retryable`` is True for
timeouts, refused connections, HTTP 5xx/408/429 and SMTP 4xx; False for anything a
retry cannot fix (HTTP 4xx, SMTP 5xx, bad settings, a disabled destination, an address
that is not allowed). Every HTTP request goes through ``integrations.outbound`` (public
addresses only, redirects kept on their origin without credentials, bounded time and
size); messages carry the status line, never the remote body.

``send_email(destination, *, to, subject, html, text, headers=None, message_id=None,
ready=None) -> str``
    kind ``smtp``: sends one message over SMTP (host, port, username, from_email,
    starttls from config; password from secrets). Returns the Message-ID header sent
    (``message_id`` when given, else a new one). ``ready()``, if given, is asked once the
    envelope is accepted, before the message's data; False: nothing sent, ``NotReady``.

``post_webhook(destination, *, payload: dict, idempotency_key: str) -> int``
    kind ``webhook``: JSON POST to ``config.url`` with ``X-CDP-Signature:
    sha256=<hex HMAC-SHA256 of the exact body, keyed by the signing secret>``,
    ``X-CDP-Timestamp`` (Unix seconds) and ``Idempotency-Key``. Returns the 2xx status.

``audience_update(destination, *, action: "add" | "remove", people: list[dict]) -> int``
    kinds ``google_customer_match`` and ``meta_custom_audience``. Each person is a dict
    with ``email`` and/or ``phone``; e-mail is trimmed and lower-cased, phone made E.164
    (``config.phone_region`` for numbers without a country code), both SHA-256 hex.
    Google: POST ``{"operations": [{"create"|"remove": {"userIdentifiers":
    [{"hashedEmail": h}, {"hashedPhoneNumber": h}]}}]}``. Meta: ``{"payload": {"schema":
    ["EMAIL_SHA256", "PHONE_SHA256"], "data": [[email_hash, phone_hash], ...]}}``, POST to
    add, DELETE to remove (a missing identifier is ""). Sent to ``config.endpoint`` with
    ``Authorization: Bearer <access_token>``. Returns how many people were sent (people
    with neither a usable e-mail nor phone are skipped; none left: no request, 0).

``esp_member(destination, *, action: "subscribe"|"update"|"unsubscribe", email, merge_fields)
-> int``
    kind ``esp_list`` (Mailchimp-style): ``PUT {base_url}/lists/{list_id}/members/
    {md5(lower-cased e-mail)}`` with ``{"email_address", "status_if_new", "status",
    "merge_fields"}`` (status "subscribed"/"unsubscribed"; ``update`` leaves the status
    alone and sends no "status"), HTTP Basic auth with the API key. Returns the status.

``export_segment_csv(destination, *, rows: Iterable[str], name: str) -> Path``
    kind ``csv_export``: writes the already-formatted CSV lines to ``config.folder/name``
    (".csv" added when missing) inside the export root, atomically (temporary file, then
    rename), never through a symbolic link (see exports.py).

``send_sms(destination, *, to, body, status_callback="") -> str``
    kind ``sms``: one text message through a Twilio-compatible API (see sms.py).

``test_connection(destination) -> tuple[bool, str]``
    any kind: SMTP connects, EHLO, STARTTLS and login when set; HTTP kinds request the
    test URL (or the endpoint); CSV checks the folder is writable. Never raises.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import smtplib
import time
from collections.abc import Iterable
from pathlib import Path

from cdp_site.contact_points import normalize_email, normalize_phone
from integrations import outbound

from . import exports
from .base import DestinationError, _config, _expect, _secret, _timeout  # noqa: F401
from .models import Destination
from .sms import send_sms, test_sms  # noqa: F401
from .smtp import NotReady, _smtp_connect, _smtp_error, send_email, smtp_session  # noqa: F401

# --- HTTP -----------------------------------------------------------------------------


def _request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: dict | None = None,
    timeout: float = 10.0,
) -> outbound.Response:
    """One request through the safe client (integrations/outbound.py), whatever it answers;
    raises DestinationError when no answer could be had."""
    try:
        return outbound.request(method, url, headers=headers, body=body, timeout=timeout)
    except outbound.OutboundError as exc:
        raise DestinationError(exc.message, retryable=exc.retryable) from exc


def _http(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: dict | None = None,
    timeout: float = 10.0,
) -> tuple[int, bytes]:
    """One request. Returns (status, body) for a 2xx; raises DestinationError otherwise
    (with the status line only: the remote body is never shown)."""
    response = _request(method, url, body=body, headers=headers, timeout=timeout)
    problem = response.error()
    if problem is not None:
        raise DestinationError(problem.message, retryable=problem.retryable)
    return response.status, response.body


def _json_body(payload) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str).encode()


def sign(body: bytes, secret: str) -> str:
    """The X-CDP-Signature value for a body: ``sha256=<hex HMAC-SHA256>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_webhook(destination: Destination, *, payload: dict, idempotency_key: str) -> int:
    _expect(destination, Destination.Kind.WEBHOOK)
    url = _config(destination, "url", required=True)
    secret = _secret(destination, "signing_secret")
    body = _json_body(payload)
    status, _ = _http(
        "POST",
        url,
        body=body,
        headers={
            "Content-Type": "application/json",
            "X-CDP-Signature": sign(body, secret),
            "X-CDP-Timestamp": str(int(time.time())),
            "Idempotency-Key": idempotency_key,
        },
        timeout=_timeout(destination),
    )
    return status


# --- audiences ------------------------------------------------------------------------


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def hashed_identifiers(person: dict, *, region: str = "US") -> tuple[str, str]:
    """(email hash, phone hash) of one person; "" where the identifier is missing/invalid."""
    email = normalize_email(person.get("email"))
    raw_phone = str(person.get("phone") or "").strip()
    phone = normalize_phone(raw_phone, region) if raw_phone else None
    return (_sha256(email) if email else "", _sha256(phone) if phone else "")


def audience_update(destination: Destination, *, action: str, people: list[dict]) -> int:
    _expect(
        destination, Destination.Kind.GOOGLE_CUSTOMER_MATCH, Destination.Kind.META_CUSTOM_AUDIENCE
    )
    if action not in ("add", "remove"):
        raise DestinationError(f"Unknown audience action {action!r}.", retryable=False)
    endpoint = _config(destination, "endpoint", required=True)
    token = _secret(destination, "access_token")
    region = _config(destination, "phone_region", "US")
    rows = [hashed_identifiers(person, region=region) for person in people]
    rows = [row for row in rows if row[0] or row[1]]
    if not rows:
        return 0
    if destination.kind == Destination.Kind.GOOGLE_CUSTOMER_MATCH:
        verb = "create" if action == "add" else "remove"
        operations = []
        for email_hash, phone_hash in rows:
            ids = []
            if email_hash:
                ids.append({"hashedEmail": email_hash})
            if phone_hash:
                ids.append({"hashedPhoneNumber": phone_hash})
            operations.append({verb: {"userIdentifiers": ids}})
        method, payload = "POST", {"operations": operations}
    else:
        method = "POST" if action == "add" else "DELETE"
        payload = {
            "payload": {
                "schema": ["EMAIL_SHA256", "PHONE_SHA256"],
                "data": [[email_hash, phone_hash] for email_hash, phone_hash in rows],
            }
        }
    _http(
        method,
        endpoint,
        body=_json_body(payload),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        timeout=_timeout(destination),
    )
    return len(rows)


# --- e-mail platform list -------------------------------------------------------------


def _basic(api_key: str) -> str:
    return "Basic " + base64.b64encode(f"cdp:{api_key}".encode()).decode()


def member_hash(email: str) -> str:
    return hashlib.md5(email.strip().lower().encode()).hexdigest()  # noqa: S324 (the API's id)


ESP_STATUS = {"subscribe": "subscribed", "unsubscribe": "unsubscribed", "update": None}


def esp_member(destination: Destination, *, action: str, email: str, merge_fields: dict) -> int:
    _expect(destination, Destination.Kind.ESP_LIST)
    if action not in ESP_STATUS:
        raise DestinationError(f"Unknown list action {action!r}.", retryable=False)
    base = str(_config(destination, "base_url", required=True)).rstrip("/")
    list_id = _config(destination, "list_id", required=True)
    api_key = _secret(destination, "api_key")
    address = email.strip().lower()
    status = ESP_STATUS[action]
    body = {
        "email_address": address,
        "status_if_new": status or "subscribed",
        "merge_fields": merge_fields or {},
    }
    if status:
        body["status"] = status
    code, _ = _http(
        "PUT",
        f"{base}/lists/{list_id}/members/{member_hash(address)}",
        body=_json_body(body),
        headers={"Content-Type": "application/json", "Authorization": _basic(api_key)},
        timeout=_timeout(destination),
    )
    return code


# --- CSV ------------------------------------------------------------------------------

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def export_segment_csv(destination: Destination, *, rows: Iterable[str], name: str) -> Path:
    _expect(destination, Destination.Kind.CSV_EXPORT)
    folder = _config(destination, "folder", required=True)
    filename = _SAFE_NAME.sub("-", name).strip(".-") or "export"
    if not filename.endswith(".csv"):
        filename += ".csv"
    try:
        return exports.write_csv(folder=folder, filename=filename, rows=rows)
    except exports.ExportFolderError as exc:
        raise DestinationError(exc.message, retryable=False) from exc
    except OSError as exc:
        raise DestinationError(_folder_error(folder, exc), retryable=True) from exc


def _folder_error(folder: str, exc: OSError) -> str:
    return f"Cannot write to the export folder {folder}: {exc.strerror or exc}"


# --- test connection ------------------------------------------------------------------


def test_connection(destination: Destination) -> tuple[bool, str]:
    try:
        return _test(destination)
    except DestinationError as exc:
        return False, exc.message
    except (smtplib.SMTPException, OSError) as exc:
        return False, _smtp_error(exc).message


def _test(destination: Destination) -> tuple[bool, str]:
    kind = destination.kind
    timeout = _timeout(destination)
    if kind == Destination.Kind.SMTP:
        connection = _smtp_connect(destination)
        try:
            connection.noop()
        finally:
            connection.quit()
        login = " and logged in" if _config(destination, "username") else ""
        return True, f"Connected to {destination.config.get('host')}{login}."
    if kind == Destination.Kind.SMS:
        return test_sms(destination)
    if kind == Destination.Kind.CSV_EXPORT:
        folder = _config(destination, "folder", required=True)
        try:
            exports.check_writable(folder=folder)
        except exports.ExportFolderError as exc:
            return False, exc.message
        except OSError as exc:
            return False, _folder_error(folder, exc)
        return True, f"The export folder {folder} is writable."
    if kind == Destination.Kind.ESP_LIST:
        base = str(_config(destination, "base_url", required=True)).rstrip("/")
        url = f"{base}/lists/{_config(destination, 'list_id', required=True)}"
        status, _ = _http(
            "GET",
            url,
            headers={"Authorization": _basic(_secret(destination, "api_key"))},
            timeout=timeout,
        )
        return True, f"The list answered HTTP {status}."
    if kind == Destination.Kind.GOOGLE_DATA_MANAGER:
        from . import oauth  # an access token from the refresh token proves the grant

        oauth.access_token(destination, force=True)
        return True, "Google issued an access token for the refresh token."
    # webhook and the audiences: the test URL, or the endpoint itself (Meta: or the API).
    url = _config(destination, "test_url") or (
        _config(destination, "url", required=True)
        if kind == Destination.Kind.WEBHOOK
        else _config(destination, "endpoint") or _config(destination, "api_base", required=True)
    )
    headers = {}
    if kind != Destination.Kind.WEBHOOK:
        headers["Authorization"] = f"Bearer {_secret(destination, 'access_token')}"
    response = _request("OPTIONS", url, headers=headers, timeout=timeout)
    if response.status in (405, 501):
        # Reachable, but OPTIONS not allowed: still proof the server is there.
        return True, f"{url} is reachable (it does not answer OPTIONS)."
    problem = response.error()
    if problem is not None:
        return False, problem.message
    return True, f"{url} answered HTTP {response.status}."


# Not a pytest test, even when a test module imports it by name.
test_connection.__test__ = False
