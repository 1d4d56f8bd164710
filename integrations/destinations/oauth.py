"""OAuth 2 refresh-token flow (Google): an access token for a destination, refreshed at
``config.token_url`` when it is missing, expires within a minute, or was refused, and
kept encrypted beside the destination's secrets (never shown: not a declared secret).

    POST token_url  grant_type=refresh_token&client_id=..&client_secret=..&refresh_token=..
    200 {"access_token", "expires_in", "scope", "token_type"}
    400 {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}

A refused refresh token (invalid_grant, invalid_client, unauthorized_client, or a 401) is
an ``AudienceError(reason="auth")``: the sync pauses until an admin reconnects.
"""

from __future__ import annotations

import json
import time

from cdp_site import crypto

from . import selectors
from .audiences import AUTH, RATE, REFUSED, SERVER, AudienceError, body_json, retry_after, send
from .audiences import short as _short
from .base import _config, _secret, _timeout
from .models import Destination

TOKEN = "access_token"  # noqa: S105 (the name a secret is stored under)
EXPIRES = "access_token_expires_at"
MARGIN = 60  # seconds: a token about to expire is refreshed first
REFUSED_GRANTS = {"invalid_grant", "invalid_client", "unauthorized_client"}


def access_token(destination: Destination, *, force: bool = False) -> str:
    stored = selectors.get_secrets(destination=destination)
    token, expires = stored.get(TOKEN), float(stored.get(EXPIRES) or 0)
    if token and not force and expires - MARGIN > time.time():
        return token
    return _refresh(destination)


def _refresh(destination: Destination) -> str:
    url = _config(destination, "token_url", "https://oauth2.googleapis.com/token")
    response = send(
        "POST",
        url,
        form={
            "grant_type": "refresh_token",
            "client_id": _config(destination, "client_id", required=True),
            "client_secret": _secret(destination, "client_secret"),
            "refresh_token": _secret(destination, "refresh_token"),
        },
        timeout=_timeout(destination),
    )
    answer = body_json(response)
    if response.status == 200 and answer.get("access_token"):
        store(destination, answer["access_token"], float(answer.get("expires_in") or 3600))
        return answer["access_token"]
    raise _refused(response, answer)


def _refused(response, answer: dict) -> AudienceError:
    code = str(answer.get("error") or "")
    words = _short(answer.get("error_description") or code or f"HTTP {response.status}")
    if code in REFUSED_GRANTS or response.status == 401:
        return AudienceError(
            f"Google refused the refresh token ({code or response.status}: {words}). An admin "
            "must reconnect the destination: sign in with Google again and save the new "
            "refresh token.",
            reason=AUTH,
        )
    if response.status == 429:
        return AudienceError(
            "Google's token endpoint is rate limiting.",
            reason=RATE,
            retry_after=retry_after(response),
        )
    if response.status >= 500:
        return AudienceError(
            f"Google's token endpoint answered HTTP {response.status}.", reason=SERVER
        )
    return AudienceError(f"The token refresh failed ({words}).", reason=REFUSED)


def store(destination: Destination, token: str, expires_in: float) -> None:
    """Keeps the new access token, encrypted, with the destination's secrets."""
    current = selectors.get_secrets(destination=destination)
    current[TOKEN] = token
    current[EXPIRES] = time.time() + expires_in
    encrypted = crypto.encrypt(json.dumps(current))
    Destination.objects.filter(pk=destination.pk).update(secrets_encrypted=encrypted)
    destination.secrets_encrypted = encrypted
