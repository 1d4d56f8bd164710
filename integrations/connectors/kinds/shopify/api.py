"""Talking to one store's GraphQL Admin API: its access token and its cost-based limits.

Tokens, as Shopify issues them to an app of the merchant's own organisation:

- client credentials (a Dev Dashboard app: client ID in the settings, client secret among
  the secrets): ``POST /admin/oauth/access_token`` answers ``{"access_token", "scope",
  "expires_in": 86399}``. The token is stored back encrypted with its expiry and renewed
  TOKEN_MARGIN before it expires, or at once when Shopify answers 401;
- a fixed admin API access token (a custom app made in the Shopify admin): used as it is;
  a 401 fails the run with a message to enter a new one.

Limits: every answer reports ``extensions.cost`` (``requestedQueryCost`` and
``throttleStatus {maximumAvailable, currentlyAvailable, restoreRate}``). A throttled query
is answered 200 with ``errors: [{"extensions": {"code": "THROTTLED"}}]``: the run waits
(``RateLimited``) until the bucket holds the query's cost again. When an answer leaves less
in the bucket than the query costs, the next page waits for it before it is sent.
"""

from __future__ import annotations

import math
import re
import time
from urllib.parse import urlencode

from ...base import ConnectorError, RateLimited

API_VERSION = "2025-10"
TOKEN_MARGIN = 300.0  # seconds before expiry that a token is renewed
DEFAULT_LIFETIME = 86399.0
DEFAULT_THROTTLE_WAIT = 2.0
MAX_THROTTLE_WAIT = 120.0
ACCESS_DENIED = ("ACCESS_DENIED",)
_VERSION = re.compile(r"^(\d{4}-\d{2}|unstable)$")


def uses_client_credentials(reader) -> bool:
    return bool(reader.config.get("client_id") and reader.secrets.get("client_secret"))


def access_token(reader, *, renew: bool = False) -> str:
    """The token to send: a fixed one, or a client-credentials token renewed when it is
    missing, about to expire, or refused (``renew``)."""
    token = reader.secrets.get("access_token") or ""
    if not uses_client_credentials(reader):
        if not token:
            raise ConnectorError(
                "Enter the app's admin API access token, or its client ID and secret.",
                code="config",
            )
        return token
    try:
        expires_at = float(reader.secrets.get("token_expires_at") or 0)
    except (TypeError, ValueError):
        expires_at = 0.0
    if renew or not token or expires_at - TOKEN_MARGIN <= time.time():
        token = _issue_token(reader)
    return token


def _issue_token(reader) -> str:
    client_id = reader.config["client_id"]
    form = {
        "client_id": client_id,
        "client_secret": reader.secrets["client_secret"],
        "grant_type": "client_credentials",
    }
    try:
        response = reader.send(
            "POST",
            "admin/oauth/access_token",
            body=urlencode(form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    except ConnectorError as exc:
        if exc.retryable:
            raise
        raise ConnectorError(
            f"Shopify issued no access token to client ID {client_id} ({exc.message}). "
            "Check the client ID and secret, and that the app is installed on this store.",
            code="auth",
        ) from None
    answer = reader.parse(response)
    token = answer.get("access_token") if isinstance(answer, dict) else None
    if not isinstance(token, str) or not token:
        raise ConnectorError("Shopify's token answer holds no access_token.", code="auth")
    lifetime = answer.get("expires_in")
    if isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or lifetime <= 0:
        lifetime = DEFAULT_LIFETIME
    reader.save_secrets({"access_token": token, "token_expires_at": int(time.time() + lifetime)})
    return token


def graphql(reader, query: str, variables: dict | None = None) -> tuple[dict, float]:
    """``(data, wait)``: the answer's data, and the seconds the next query should wait
    for the cost bucket to hold its cost again (0 when it does)."""
    version = reader.config.get("api_version") or API_VERSION
    if not _VERSION.match(str(version)):
        raise ConnectorError(
            f"API version {str(version)[:20]!r}: write it as Shopify does, e.g. {API_VERSION}.",
            code="config",
        )
    path = f"admin/api/{version}/graphql.json"
    payload = {"query": query, "variables": variables or {}}
    token = access_token(reader)
    try:
        body = reader.post(path, json=payload, headers=_auth(token))
    except RateLimited:
        raise
    except ConnectorError as exc:
        if exc.code != "auth":
            raise
        if not uses_client_credentials(reader):
            raise ConnectorError(
                "Shopify refused the admin API access token (401): it was revoked or the "
                "app uninstalled. Enter a new token.",
                code="auth",
            ) from None
        # An issued token may be revoked before its time: one new token, one more try.
        body = reader.post(path, json=payload, headers=_auth(access_token(reader, renew=True)))
    return _answer(body)


def _auth(token: str) -> dict:
    return {"X-Shopify-Access-Token": token}


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def refill_seconds(cost) -> float | None:
    """Seconds until the bucket holds the query's requested cost; None when the answer
    does not say."""
    if not isinstance(cost, dict) or not isinstance(cost.get("throttleStatus"), dict):
        return None
    status = cost["throttleStatus"]
    needed = _number(cost.get("requestedQueryCost"))
    available = _number(status.get("currentlyAvailable"))
    rate = _number(status.get("restoreRate"))
    if needed is None or available is None or not rate or rate <= 0:
        return None
    # Shopify reports whole points, rounded: the bucket may hold up to half a point less
    # than it says, and a query sent the instant the estimate is met would be throttled.
    short = needed - available + 1
    return short / rate if short > 0 else 0.0


def _messages(errors) -> list[tuple[str, str]]:
    """(code, message) of each GraphQL error."""
    if isinstance(errors, str):
        return [("", errors)]
    found = []
    for error in errors if isinstance(errors, list) else [errors]:
        if isinstance(error, dict):
            extensions = error.get("extensions")
            code = extensions.get("code", "") if isinstance(extensions, dict) else ""
            found.append((str(code), str(error.get("message") or code or "unknown error")))
        else:
            found.append(("", str(error)))
    return found


def _answer(body) -> tuple[dict, float]:
    if not isinstance(body, dict):
        raise ConnectorError("Shopify answered with something that is not a GraphQL answer.")
    extensions = body.get("extensions")
    cost = extensions.get("cost") if isinstance(extensions, dict) else None
    if body.get("errors"):
        errors = _messages(body["errors"])
        if any(code == "THROTTLED" for code, _ in errors):
            wait = refill_seconds(cost)
            wait = DEFAULT_THROTTLE_WAIT if wait is None else min(max(wait, 1.0), MAX_THROTTLE_WAIT)
            raise RateLimited(
                f"Shopify throttled the query (its cost bucket is low); waiting {wait:.0f} s "
                "for it to refill.",
                retry_after=wait,
            )
        text = "; ".join(message for _, message in errors)[:400]
        denied = any(code in ACCESS_DENIED for code, _ in errors)
        raise ConnectorError(
            f"Shopify answered with an error: {text}"
            + (" Grant the app the read scope of this stream." if denied else ""),
            code="permission" if denied else "answer",
        )
    data = body.get("data")
    if not isinstance(data, dict):
        raise ConnectorError("Shopify's answer holds no data.")
    wait = refill_seconds(cost) or 0.0
    return data, min(math.ceil(wait * 10) / 10, MAX_THROTTLE_WAIT)
