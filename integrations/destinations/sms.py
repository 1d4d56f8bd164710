"""SMS through a provider with Twilio's REST shape (destination kind ``sms``).

``send_sms(destination, *, to, body, status_callback="") -> str``
    ``to`` is made E.164 first (a number without a country code is read as
    ``config.default_region``'s; one that cannot be read is a DestinationError that no
    retry fixes, raised before any request). Then ``POST {base_url}/2010-04-01/Accounts/
    {account_sid}/Messages.json``, form-encoded ``To``, ``From``, ``Body`` and
    ``StatusCallback``, HTTP Basic auth ``account_sid:auth_token``. Returns the message's
    ``sid``. A refusal carries the provider's ``code`` and ``message`` (its error JSON is
    ``{code, message, more_info, status}``): 400 is final (21211: the To number is not
    valid), 429 is retried after its ``Retry-After``, 5xx retried with backoff.

``signature(auth_token, url, params) -> str`` and ``valid_signature(destination, *, url,
params, signature) -> bool``: the X-Twilio-Signature scheme: base64 of HMAC-SHA1, keyed by
the auth token, of the full URL followed by every POST parameter's name and value,
sorted by name.

``phone_of(destination, raw) -> str``: a number in E.164, or DestinationError.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import quote, urlencode

from cdp_site.contact_points import normalize_phone
from integrations import outbound

from .base import DestinationError, _config, _expect, _secret, _timeout
from .models import Destination

API_VERSION = "2010-04-01"
INVALID_TO = 21211


def phone_of(destination: Destination, raw) -> str:
    text = str(raw or "").strip()
    if not text:
        raise DestinationError("no phone number", retryable=False)
    region = str(_config(destination, "default_region", "US")).upper()
    number = normalize_phone(text, region)
    if number is None:
        raise DestinationError(
            f"the phone number is not a valid number (read as {region} when it has no "
            "country code)",
            retryable=False,
        )
    return number


def _account(destination: Destination) -> tuple[str, str, str]:
    base = str(_config(destination, "base_url", required=True)).rstrip("/")
    sid = str(_config(destination, "account_sid", required=True))
    return base, sid, _secret(destination, "auth_token")


def _basic(sid: str, token: str) -> str:
    return "Basic " + base64.b64encode(f"{sid}:{token}".encode()).decode()


def send_sms(destination: Destination, *, to, body: str, status_callback: str = "") -> str:
    _expect(destination, Destination.Kind.SMS)
    number = phone_of(destination, to)
    base, sid, token = _account(destination)
    fields = {"To": number, "From": _config(destination, "from_number", required=True)}
    fields["Body"] = body
    if status_callback:
        fields["StatusCallback"] = status_callback
    url = f"{base}/{API_VERSION}/Accounts/{quote(sid, safe='')}/Messages.json"
    try:
        response = outbound.request(
            "POST",
            url,
            body=urlencode(fields).encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Authorization": _basic(sid, token),
                "Accept": "application/json",
            },
            timeout=_timeout(destination),
        )
    except outbound.OutboundError as exc:
        raise DestinationError(exc.message, retryable=exc.retryable) from exc
    if response.status in (200, 201):
        return str(_json(response.body).get("sid") or "")
    raise _refusal(response)


def _json(body: bytes) -> dict:
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _retry_after(response: outbound.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("retry-after", "")))
    except ValueError:
        return None


def _refusal(response: outbound.Response) -> DestinationError:
    """The provider's error in words: its code and message (the status line otherwise).
    Its message is the provider's documented error text, not a body we echo blindly:
    it is cut short and only read from the error JSON's ``message``."""
    problem = response.error()
    data = _json(response.body)
    code, message = data.get("code"), str(data.get("message") or "")[:200]
    if code == INVALID_TO:
        text = f"the provider refused the To number (error {INVALID_TO}: {message or 'invalid'})"
    elif code or message:
        text = f"HTTP {response.status}: error {code}: {message}".strip()
    else:
        text = problem.message if problem else f"HTTP {response.status}"
    retryable = bool(problem and problem.retryable)
    wait = _retry_after(response) if response.status == 429 else None
    return DestinationError(text, retryable=retryable, retry_after=wait)


def signature(auth_token: str, url: str, params) -> str:
    """X-Twilio-Signature for a POST to ``url`` with form ``params`` (pairs or a dict)."""
    pairs = params.items() if isinstance(params, dict) else params
    # By name, then value; a repeated name and value counts once (as Twilio's libraries).
    data = url + "".join(f"{k}{v}" for k, v in sorted(set(pairs)))
    mac = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1)  # the scheme's choice
    return base64.b64encode(mac.digest()).decode()


def valid_signature(destination: Destination, *, url: str, params, signature_value: str) -> bool:
    if destination.kind != Destination.Kind.SMS or not signature_value:
        return False
    try:
        token = _secret(destination, "auth_token")
    except DestinationError:
        return False
    expected = signature(token, url, params)
    return hmac.compare_digest(expected.encode(), signature_value.encode())


def test_sms(destination: Destination) -> tuple[bool, str]:
    """Reads the account (``GET …/Accounts/{sid}.json``): proof of the SID and token."""
    base, sid, token = _account(destination)
    url = f"{base}/{API_VERSION}/Accounts/{quote(sid, safe='')}.json"
    try:
        response = outbound.request(
            "GET", url, headers={"Authorization": _basic(sid, token)}, timeout=_timeout(destination)
        )
    except outbound.OutboundError as exc:
        return False, exc.message
    if response.status == 200:
        return True, "The account answered: SID and token accepted."
    return False, _refusal(response).message
