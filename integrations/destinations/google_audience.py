"""Google Customer Match through the Data Manager API.

``POST {api_base}/audienceMembers:ingest`` (add) or ``:remove``, ``Authorization: Bearer``
an OAuth access token (oauth.py), at most 10,000 members a request:

    {"destinations": [{"operatingAccount": {"accountType": "GOOGLE_ADS", "accountId"},
                       "loginAccount": {...} (a manager account, when set),
                       "productDestinationId": <user list id>}],
     "audienceMembers": [{"userData": {"userIdentifiers": [{"emailAddress": h},
                                                           {"phoneNumber": h}]}}],
     "consent": {"adUserData": "CONSENT_GRANTED", "adPersonalization": "CONSENT_GRANTED"},
     "encoding": "HEX",
     "termsOfService": {"customerMatchTermsOfServiceStatus": "ACCEPTED"}}

(consent and terms on ingest only). Everyone sent has a current advertising consent, so
the request-level consent is granted for all (EU users need it stated). It answers
``{"requestId"}``; the diagnostics come later from ``GET {api_base}/requestStatus:
retrieve?requestId=``: per destination ``requestStatus`` (PROCESSING, SUCCESS,
PARTIAL_SUCCESS, FAILED), ``errorInfo.errorCounts`` and
``audienceMembersIngestionStatus.userDataIngestionStatus.uploadMatchRateRange``.

Errors are the Google API error model: ``{"error": {"code", "message", "status",
"details": [BadRequest {"fieldViolations": [{"field", "description", "reason"}]},
RequestInfo {"requestId"}]}}``. The API fails fast: one bad member fails the request, its
field violation naming ``audience_members[i]``; those members are set aside as rejected
and the others sent again.
"""

from __future__ import annotations

import re

from . import oauth
from .audiences import (
    ADD,
    AUTH,
    GONE,
    RATE,
    REFUSED,
    SERVER,
    AudienceError,
    PushResult,
    RequestStatus,
    body_json,
    retry_after,
    send,
    short,
)
from .base import _config, _timeout

GRANTED = {"adUserData": "CONSENT_GRANTED", "adPersonalization": "CONSENT_GRANTED"}
MEMBER_FIELD = re.compile(r"audience_?[mM]embers\[(\d+)\]")
# A request whose members keep being rejected one round after another stops here.
ROUNDS = 3


def _base(destination) -> str:
    return str(_config(destination, "api_base", "https://datamanager.googleapis.com/v1")).rstrip(
        "/"
    )


def _destinations(destination, audience_id: str) -> list[dict]:
    account = {
        "accountType": "GOOGLE_ADS",
        "accountId": _digits(_config(destination, "operating_account_id", required=True)),
    }
    target = {"operatingAccount": account, "productDestinationId": audience_id}
    login = _config(destination, "login_account_id")
    if login:
        target["loginAccount"] = {"accountType": "GOOGLE_ADS", "accountId": _digits(login)}
    return [target]


def _digits(value) -> str:
    return re.sub(r"\D", "", str(value))


def _member(row) -> dict:
    email, phone = row
    ids = [{"emailAddress": email}] if email else []
    if phone:
        ids.append({"phoneNumber": phone})
    return {"userData": {"userIdentifiers": ids}}


def _body(destination, audience_id: str, action: str, rows) -> dict:
    body = {
        "destinations": _destinations(destination, audience_id),
        "audienceMembers": [_member(row) for row in rows],
        "encoding": "HEX",
    }
    if action == ADD:
        body["consent"] = GRANTED
        body["termsOfService"] = {"customerMatchTermsOfServiceStatus": "ACCEPTED"}
    return body


def _call(destination, method: str, url: str, payload=None):
    """One authorised request; a 401 refreshes the access token once and tries again."""
    for attempt in (1, 2):
        token = oauth.access_token(destination, force=attempt == 2)
        response = send(
            method,
            url,
            payload=payload,
            headers={"Authorization": f"Bearer {token}"},
            timeout=_timeout(destination),
        )
        if response.status != 401:
            return response
    return response


def push(destination, *, audience_id: str, action: str, rows, session=None) -> PushResult:
    verb = "ingest" if action == ADD else "remove"
    url = f"{_base(destination)}/audienceMembers:{verb}"
    left = list(range(len(rows)))  # indexes into rows still to send
    rejected: dict[int, str] = {}
    for _ in range(ROUNDS):
        payload = _body(destination, audience_id, action, [rows[i] for i in left])
        response = _call(destination, "POST", url, payload)
        answer = body_json(response)
        if 200 <= response.status < 300:
            return PushResult(
                sent=len(left),
                rejected=rejected,
                invalid=len(rejected),
                request_id=str(answer.get("requestId") or ""),
            )
        bad = _member_violations(answer) if response.status == 400 else {}
        if not bad or any(i >= len(left) for i in bad):
            raise _error(response, answer, audience_id)
        rejected.update({left[i]: reason for i, reason in bad.items()})
        left = [index for n, index in enumerate(left) if n not in bad]
        if not left:
            return PushResult(sent=0, rejected=rejected, invalid=len(rejected))
    raise AudienceError(
        f"Google kept rejecting members after {ROUNDS} rounds; the rest wait for the next run.",
        reason=SERVER,
    )


def _member_violations(answer: dict) -> dict[int, str]:
    """{member index in the request: reason} from a BadRequest's field violations."""
    found = {}
    for detail in _details(answer):
        for violation in detail.get("fieldViolations") or []:
            match = MEMBER_FIELD.search(str(violation.get("field") or ""))
            if match:
                reason = violation.get("reason") or violation.get("description") or "invalid"
                found[int(match.group(1))] = short(reason)
    return found


def _details(answer: dict) -> list[dict]:
    error = answer.get("error") if isinstance(answer.get("error"), dict) else {}
    return [d for d in error.get("details") or [] if isinstance(d, dict)]


def _request_id(answer: dict) -> str:
    for detail in _details(answer):
        if detail.get("requestId"):
            return str(detail["requestId"])
    return ""


def _error(response, answer: dict, audience_id: str) -> AudienceError:
    error = answer.get("error") if isinstance(answer.get("error"), dict) else {}
    status = response.status
    state = str(error.get("status") or "")
    words = short(error.get("message") or state or f"HTTP {status}")
    request = _request_id(answer)
    said = f"Google answered HTTP {status}{' ' + state if state else ''}" + (
        f" (request {request})" if request else ""
    )
    if status in (401, 403):
        return AudienceError(
            f"{said}: {words}. An admin must reconnect the destination (or grant the OAuth "
            "user access to the Google Ads account).",
            reason=AUTH,
        )
    if status == 404:
        return AudienceError(
            f"{said}: the Customer Match list {audience_id} was not found ({words}). It may "
            "have been deleted in Google Ads: choose another list.",
            reason=GONE,
        )
    if status == 429:
        return AudienceError(
            f"{said}: rate limited.", reason=RATE, retry_after=retry_after(response)
        )
    if status >= 500:
        return AudienceError(f"{said}: a temporary error ({words}).", reason=SERVER)
    return AudienceError(f"{said}: {words}", reason=REFUSED)


def check_request(destination, *, request_id: str) -> RequestStatus | None:
    url = f"{_base(destination)}/requestStatus:retrieve?requestId={request_id}"
    response = _call(destination, "GET", url)
    answer = body_json(response)
    if not 200 <= response.status < 300:
        raise _error(response, answer, "")
    statuses = answer.get("requestStatusPerDestination") or []
    status = statuses[0] if statuses and isinstance(statuses[0], dict) else {}
    state = str(status.get("requestStatus") or "")
    if state in ("", "PROCESSING", "REQUEST_STATUS_UNKNOWN"):
        return None
    ingestion = (status.get("audienceMembersIngestionStatus") or {}).get(
        "userDataIngestionStatus"
    ) or {}
    counts = (status.get("errorInfo") or {}).get("errorCounts") or []
    return RequestStatus(
        state=state,
        match_rate=match_rate(str(ingestion.get("uploadMatchRateRange") or "")),
        failed=sum(_count(c.get("recordCount")) for c in counts if isinstance(c, dict)),
        record_count=_count(ingestion.get("recordCount")),
    )


def _count(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def match_rate(value: str) -> str:
    """MATCH_RATE_RANGE_20_TO_30 -> "20–30 %"; LESS_THAN_20 -> "under 20 %"."""
    if found := re.fullmatch(r"MATCH_RATE_RANGE_(\d+)_TO_(\d+)", value):
        return f"{found.group(1)}–{found.group(2)} %"
    if found := re.fullmatch(r"MATCH_RATE_RANGE_LESS_THAN_(\d+)", value):
        return f"under {found.group(1)} %"
    if value == "MATCH_RATE_RANGE_NOT_ELIGIBLE":
        return "not eligible"
    return ""
