"""HubSpot's CRM API, as the HubSpot connector meets it, in HubSpot's documented JSON shapes.

- ``POST /crm/v3/objects/{contacts|companies|deals}/search``: ``filterGroups`` (OR of ANDs;
  EQ, NEQ, GT, GTE, LT, LTE; dates as epoch milliseconds or ISO text), one sort,
  ``properties``, ``limit`` (at most 200, else 400) and ``after``. It answers
  ``{"total", "results", "paging": {"next": {"after", "link"}}}``, and, as HubSpot, never
  more than ``cap`` results a query (10,000; configurable so a test can reach it): the
  paging stops there while ``total`` still counts every match, and an ``after`` at or past
  the cap is refused with a 400.
- ``POST /crm/v4/associations/{from}/{to}/batch/read``: ``{"inputs": [{"id", "after"}]}``
  (at most 1,000 inputs, else 400) → ``results`` of ``{"from": {"id"}, "to":
  [{"toObjectId", "associationTypes"}], "paging": {"next": {"after", "link"}}}``: one
  page of each object's associations (``association_page`` of them, 500 unless set),
  ``paging`` only where that object has more, its ``after`` to send beside the id for the
  next page. Ids with no association come back in ``errors`` (NO_ASSOCIATIONS_FOUND) with
  a 207.
- ``Authorization: Bearer <token>`` (private-app and OAuth access tokens alike): a wrong
  one gets HubSpot's 401 (INVALID_AUTHENTICATION); a token without an object's read scope
  gets HubSpot's 403 (MISSING_SCOPES, the scopes named in ``errors[].context``).
- Every answer carries the ``X-HubSpot-RateLimit-*`` headers; once ``daily_limit``
  requests are spent, a 429 whose body names the DAILY policy. Secondly limits are played
  with ``fail_next(429, headers={"Retry-After": "1"}, body=SECONDLY_LIMIT)``.

Records are kept as HubSpot returns them: ``{"id", "properties": {...}, "createdAt",
"updatedAt", "archived"}``; ``put`` builds one, ``associate`` links two.
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

from .server import Imitation, Request

OBJECT_TYPES = ("contacts", "companies", "deals")
MODIFIED = {
    "contacts": "lastmodifieddate",
    "companies": "hs_lastmodifieddate",
    "deals": "hs_lastmodifieddate",
}
# What a search returns when it names no properties (HubSpot's documented defaults).
DEFAULT_PROPERTIES = {
    "contacts": (
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
    ),
    "companies": ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
    "deals": (
        "amount",
        "closedate",
        "createdate",
        "dealname",
        "dealstage",
        "hs_lastmodifieddate",
        "hs_object_id",
        "pipeline",
    ),
}
# HubSpot-defined association type ids (unlabelled), by (from, to).
ASSOCIATION_TYPES = {
    ("contacts", "companies"): 279,
    ("companies", "contacts"): 280,
    ("deals", "contacts"): 3,
    ("contacts", "deals"): 4,
}
SEARCH_CAP = 10_000
MAX_SEARCH_LIMIT = 200
MAX_BATCH_INPUTS = 1000
ASSOCIATION_PAGE = 500
SECONDLY_LIMIT = {
    "status": "error",
    "message": "You have reached your secondly limit.",
    "errorType": "RATE_LIMIT",
    "correlationId": "c9f6c7d1-5d1e-4b0e-9d3a-0a6d3c2f1e01",
    "policyName": "SECONDLY",
}
DAILY_LIMIT = {
    "status": "error",
    "message": "You have reached your daily limit.",
    "errorType": "RATE_LIMIT",
    "correlationId": "4b7c1f0e-2f4e-4a36-9a4c-2d9e0e7d6a02",
    "policyName": "DAILY",
}


def missing_scopes(*scopes: str) -> dict:
    """HubSpot's 403 body for a token without the scopes a call needs."""
    return {
        "status": "error",
        "message": "This app hasn't been granted all required scopes to make this call. "
        "Read more about required scopes here: https://developers.hubspot.com/scopes.",
        "correlationId": str(uuid.uuid4()),
        "errors": [
            {
                "message": "One or more of the following scopes are required.",
                "context": {"requiredGranularScopes": list(scopes)},
            }
        ],
        "links": {"scopes": "https://developers.hubspot.com/scopes"},
        "category": "MISSING_SCOPES",
    }


def _error(category: str, message: str) -> dict:
    return {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
    }


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- the data -------------------------------------------------------------------------


def put(
    imitation: Imitation,
    object_type: str,
    object_id,
    *,
    modified: datetime,
    created: datetime | None = None,
    **properties,
) -> dict:
    """Adds or replaces a record, as HubSpot would after an edit at ``modified``."""
    created = created or modified
    record = {
        "id": str(object_id),
        "properties": {
            **{k: (None if v is None else str(v)) for k, v in properties.items()},
            "createdate": iso(created),
            MODIFIED[object_type]: iso(modified),
            "hs_object_id": str(object_id),
        },
        "createdAt": iso(created),
        "updatedAt": iso(modified),
        "archived": False,
    }
    with imitation.lock:
        imitation.state["objects"][object_type][str(object_id)] = record
    return record


def put_raw(imitation: Imitation, object_type: str, key: str, record: dict) -> None:
    """Stores a record as given (a malformed one, say a record without its id)."""
    with imitation.lock:
        imitation.state["objects"][object_type][key] = record


def associate(imitation: Imitation, from_type: str, from_id, to_type: str, to_id) -> None:
    """Links two records both ways, as HubSpot's associations are."""
    with imitation.lock:
        links = imitation.state["associations"]
        links.add((from_type, str(from_id), to_type, str(to_id)))
        links.add((to_type, str(to_id), from_type, str(from_id)))


# --- the search -----------------------------------------------------------------------


def _millis(value) -> int | None:
    if value is None:
        return None
    text = str(value)
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


def _comparable(name: str, value):
    if name in ("createdate", "lastmodifieddate", "hs_lastmodifieddate", "closedate"):
        return _millis(value)
    return None if value is None else str(value)


_OPERATORS = {
    "EQ": lambda a, b: a == b,
    "NEQ": lambda a, b: a != b,
    "GT": lambda a, b: a > b,
    "GTE": lambda a, b: a >= b,
    "LT": lambda a, b: a < b,
    "LTE": lambda a, b: a <= b,
}


def _matches(record: dict, groups: list) -> bool:
    if not groups:
        return True
    properties = record.get("properties") or {}
    for group in groups:
        passed = True
        for item in group.get("filters") or []:
            name = item["propertyName"]
            have = _comparable(name, properties.get(name))
            want = _comparable(name, item.get("value"))
            if have is None or want is None or not _OPERATORS[item["operator"]](have, want):
                passed = False
                break
        if passed:
            return True
    return False


def _sorted(records: list[dict], sorts: list) -> list[dict]:
    if not sorts:
        return sorted(records, key=lambda r: int(r.get("id") or 0))
    name = sorts[0]["propertyName"]
    descending = sorts[0].get("direction") == "DESCENDING"

    def key(record):
        value = _comparable(name, (record.get("properties") or {}).get(name))
        return (value is None, value if value is not None else 0, int(record.get("id") or 0))

    return sorted(records, key=key, reverse=descending)


def _shown(record: dict, object_type: str, wanted: list | None) -> dict:
    names = set(wanted or DEFAULT_PROPERTIES[object_type])
    names |= {"createdate", "hs_object_id", MODIFIED[object_type]}
    properties = record.get("properties") or {}
    shown = {k: v for k, v in record.items() if k != "properties"}
    shown["properties"] = {k: properties.get(k) for k in sorted(names)}
    return shown


def search(imitation: Imitation, request: Request, object_type: str):
    body = request.json() or {}
    limit = int(body.get("limit") or 10)
    after = int(body.get("after") or 0)
    cap = imitation.state["cap"]
    if limit > MAX_SEARCH_LIMIT:
        return 400, {}, _error("VALIDATION_ERROR", f"limit must be at most {MAX_SEARCH_LIMIT}.")
    if after >= cap:
        return 400, {}, _error("VALIDATION_ERROR", f"Search results are limited to {cap:,}.")
    with imitation.lock:
        records = list(imitation.state["objects"][object_type].values())
    found = _sorted(
        [r for r in records if _matches(r, body.get("filterGroups"))], body.get("sorts")
    )
    end = min(after + limit, cap, len(found))
    answer = {
        "total": len(found),
        "results": [_shown(r, object_type, body.get("properties")) for r in found[after:end]],
    }
    if end < min(len(found), cap):
        link = f"{imitation.url}crm/v3/objects/{object_type}/search?after={end}"
        answer["paging"] = {"next": {"after": str(end), "link": link}}
    return 200, {}, answer


# --- associations ---------------------------------------------------------------------


def _offset(after) -> int:
    try:
        return int(base64.urlsafe_b64decode(str(after)).decode().rsplit("-", 1)[-1])
    except (ValueError, UnicodeDecodeError):
        return 0


def _after(offset: int) -> str:
    return base64.urlsafe_b64encode(f"MC0yLTE1OTc0MDA2NTg-{offset}".encode()).decode()


def _no_associations(from_type: str, from_id: str, to_type: str) -> dict:
    return {
        "status": "error",
        "category": "OBJECT_NOT_FOUND",
        "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
        "context": {"fromObjectId": [from_id]},
        "message": f"No {to_type} are associated with {from_type} {from_id}.",
    }


def batch_associations(imitation: Imitation, request: Request, from_type: str, to_type: str):
    inputs = (request.json() or {}).get("inputs") or []
    if len(inputs) > MAX_BATCH_INPUTS:
        message = f"Batch read accepts at most {MAX_BATCH_INPUTS} inputs; got {len(inputs)}."
        return 400, {}, _error("VALIDATION_ERROR", message)
    started = iso(datetime.now(UTC))
    with imitation.lock:
        links = sorted(imitation.state["associations"], key=_link_order)
        size = imitation.state["association_page"]
    results, errors = [], []
    type_id = ASSOCIATION_TYPES.get((from_type, to_type), 1)
    kind = [{"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}]
    for item in inputs:
        from_id = str(item.get("id"))
        found = [
            {"toObjectId": int(to_id) if to_id.isdigit() else to_id, "associationTypes": kind}
            for (f_type, f_id, t_type, to_id) in links
            if (f_type, f_id, t_type) == (from_type, from_id, to_type)
        ]
        if not found:
            errors.append(_no_associations(from_type, from_id, to_type))
            continue
        start = _offset(item["after"]) if item.get("after") else 0
        result = {"from": {"id": from_id}, "to": found[start : start + size]}
        if start + size < len(found):
            after = _after(start + size)
            link = f"{imitation.url}crm/v4/objects/{from_type}/{from_id}/associations/{to_type}"
            result["paging"] = {"next": {"after": after, "link": f"{link}?after={after}"}}
        results.append(result)
    answer = {"status": "COMPLETE", "results": results, "startedAt": started}
    answer["completedAt"] = iso(datetime.now(UTC))
    if errors:
        answer |= {"numErrors": len(errors), "errors": errors}
    return (207 if errors else 200), {}, answer


def _link_order(link: tuple) -> tuple:
    # The associated ids in numeric order, as HubSpot pages them.
    f_type, f_id, t_type, to_id = link
    return (f_type, f_id, t_type, int(to_id) if to_id.isdigit() else 0, to_id)


# --- the door -------------------------------------------------------------------------


def _limits(imitation: Imitation) -> tuple[dict, bool]:
    """The rate-limit headers of this answer; True when the daily limit is spent."""
    with imitation.lock:
        imitation.state["used"] += 1
        used, daily = imitation.state["used"], imitation.state["daily_limit"]
    headers = {
        "X-HubSpot-RateLimit-Daily": str(daily),
        "X-HubSpot-RateLimit-Daily-Remaining": str(max(daily - used, 0)),
        "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
        "X-HubSpot-RateLimit-Max": "190",
        "X-HubSpot-RateLimit-Remaining": "189",
    }
    return headers, used > daily


def _scope_refusal(imitation: Imitation, object_type: str):
    needed = f"crm.objects.{object_type}.read"
    if needed in imitation.state["scopes"]:
        return None
    return 403, {}, missing_scopes(needed)


def _route(imitation: Imitation, request: Request):
    parts = request.path.strip("/").split("/")
    if (
        request.method == "POST"
        and len(parts) == 5
        and parts[:3] == ["crm", "v3", "objects"]
        and parts[3] in OBJECT_TYPES
        and parts[4] == "search"
    ):
        return _scope_refusal(imitation, parts[3]) or search(imitation, request, parts[3])
    if (
        request.method == "POST"
        and len(parts) == 7
        and parts[:3] == ["crm", "v4", "associations"]
        and parts[5:] == ["batch", "read"]
        and parts[3] in OBJECT_TYPES
        and parts[4] in OBJECT_TYPES
    ):
        refusal = _scope_refusal(imitation, parts[3]) or _scope_refusal(imitation, parts[4])
        return refusal or batch_associations(imitation, request, parts[3], parts[4])
    return 404, {}, _error("OBJECT_NOT_FOUND", f"No route for {request.method} {request.path}.")


def handle(imitation: Imitation, request: Request):
    headers, spent = _limits(imitation)
    offered = request.headers.get("authorization", "")
    if offered != f"Bearer {imitation.state['token']}":
        return (
            401,
            {},
            _error(
                "INVALID_AUTHENTICATION",
                "Authentication credentials not found. This API supports OAuth 2.0 authentication "
                "and you can find more details at https://developers.hubspot.com/docs/methods/auth/"
                "oauth-overview",
            ),
        )
    if spent:
        return 429, headers, DAILY_LIMIT
    status, extra, body = _route(imitation, request)
    return status, headers | extra, body


def start(
    *,
    token: str,
    cap: int = SEARCH_CAP,
    daily_limit: int = 250_000,
    association_page: int = ASSOCIATION_PAGE,
    scopes: tuple[str, ...] = tuple(f"crm.objects.{t}.read" for t in OBJECT_TYPES),
    port: int = 0,
) -> Imitation:
    """A running imitation with no records; ``put`` and ``associate`` fill it."""
    imitation = Imitation(handler=handle)
    imitation.state.update(
        objects={t: {} for t in OBJECT_TYPES},
        associations=set(),
        token=token,
        cap=cap,
        daily_limit=daily_limit,
        used=0,
        scopes=set(scopes),
        association_page=association_page,
    )
    return imitation.start(port)
