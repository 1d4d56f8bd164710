"""HubSpot's API as the HubSpot connector calls it: the token header, its POSTs, and what
its refusals mean (a 401, a 403 naming the scopes, the secondly and daily limits)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ...base import ConnectorError, RateLimited

SECONDLY_POLICIES = ("SECONDLY", "TEN_SECONDLY_ROLLING")
SECONDLY_WAIT = {"SECONDLY": 1.0, "TEN_SECONDLY_ROLLING": 10.0}


def headers(reader) -> dict:
    return {"Authorization": f"Bearer {reader.secrets.get('access_token', '')}"}


def body_of(exc: ConnectorError) -> dict:
    response = getattr(exc, "response", None)
    try:
        body = json.loads(response.body) if response is not None else {}
    except (ValueError, RecursionError):
        return {}
    return body if isinstance(body, dict) else {}


def scopes_in(body: dict) -> list[str]:
    scopes: list[str] = []
    for error in body.get("errors") or []:
        context = error.get("context") if isinstance(error, dict) else None
        if not isinstance(context, dict):
            continue
        for key in ("requiredGranularScopes", "requiredScopes"):
            for scope in context.get(key) or []:
                if isinstance(scope, str) and scope not in scopes:
                    scopes.append(scope)
    return scopes


def time_zone(reader) -> ZoneInfo:
    try:
        return ZoneInfo(str(reader.config.get("time_zone") or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def seconds_to_midnight(zone: ZoneInfo, *, now: datetime | None = None) -> float:
    """Until the next midnight in ``zone`` (when HubSpot's daily limit resets), plus a
    minute of margin."""
    here = (now or datetime.now(UTC)).astimezone(zone)
    midnight = datetime.combine(here.date() + timedelta(days=1), datetime.min.time(), zone)
    return (midnight - here).total_seconds() + 60


def rate_limited(reader, exc: RateLimited) -> RateLimited:
    policy = str(body_of(exc).get("policyName") or "")
    if policy == "DAILY":
        zone = time_zone(reader)
        wait = seconds_to_midnight(zone)
        hours, minutes = divmod(int(wait // 60), 60)
        return RateLimited(
            "HubSpot's daily API limit of this account is spent (429, DAILY): the run waits "
            f"until midnight in the account's time zone ({zone.key}), {hours} h {minutes} min "
            "from now.",
            retry_after=wait,
        )
    response = exc.response
    wait = exc.retry_after
    if policy in SECONDLY_POLICIES and not (response and response.headers.get("retry-after")):
        wait = SECONDLY_WAIT[policy]
    return RateLimited(
        f"HubSpot asked to slow down (429, {policy or 'rate limit'}); waiting {wait:.0f} s.",
        retry_after=wait,
    )


def explained(exc: ConnectorError) -> ConnectorError:
    if exc.code == "auth":
        return ConnectorError(
            "HubSpot refused the access token (401): it is wrong, expired or revoked (a "
            "private app's token rotated or the app uninstalled). Paste a current token.",
            code="auth",
        )
    if exc.code == "permission":
        scopes = scopes_in(body_of(exc))
        named = ", ".join(scopes) if scopes else "read access to contacts, companies and deals"
        return ConnectorError(
            f"The HubSpot token lacks the scopes this needs (403): {named}. Add them to the "
            "app (a private app: Settings → Integrations → Private apps → Scopes) and paste "
            "its token again.",
            code="permission",
        )
    return exc


def post(reader, path: str, body: dict) -> dict:
    try:
        answer = reader.post(path, json=body, headers=headers(reader))
    except RateLimited as exc:
        raise rate_limited(reader, exc) from None
    except ConnectorError as exc:
        raise explained(exc) from None
    if not isinstance(answer, dict):
        raise ConnectorError(f"HubSpot answered {path} with something other than an object.")
    return answer
