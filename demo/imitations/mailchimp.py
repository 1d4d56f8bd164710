"""The Mailchimp Marketing API v3, as the Mailchimp connector meets it, on loopback.

Under ``/3.0/``: ``GET ping``, ``lists/{id}``, ``lists/{id}/members`` (``since_last_changed``
and ``before_last_changed`` on ``last_changed``, ``status``, ``sort_field`` /
``sort_dir``, ``count`` (at most 1000) and ``offset``, ``total_items``), ``campaigns``
(``list_id``, ``status``, ``since_send_time``, sorted by ``send_time``), and per campaign
``reports/{id}/sent-to`` and ``reports/{id}/email-activity`` (``since`` on the activity's
time). Members are ``imitation.records``; ``state`` holds the key, the data centre, the
audiences, the campaigns, their recipients and their activity.

Authentication as Mailchimp's: HTTP Basic with any user name and the key as password, or
``Authorization: Bearer <key>`` / ``apikey <key>``. A wrong key, or a key of another data
centre than this imitation's, gets Mailchimp's 401 problem document; unknown audiences
and campaigns a 404 one. Errors are ``application/problem+json`` bodies as documented
(type, title, status, detail, instance).
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import UTC, datetime

from .server import Imitation, Request

ERRORS = "https://mailchimp.com/developer/marketing/docs/errors/"
STATUSES = ("subscribed", "unsubscribed", "cleaned", "pending", "transactional", "archived")


def subscriber_hash(email: str) -> str:
    return hashlib.md5(email.strip().lower().encode(), usedforsecurity=False).hexdigest()


def problem(status: int, title: str, detail: str) -> tuple[int, dict, dict]:
    body = {
        "type": ERRORS,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": str(uuid.uuid4()),
    }
    return status, {}, body


def _time(value) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def stamp(when: datetime | None = None) -> str:
    """A time as Mailchimp writes it: whole seconds, ``+00:00``."""
    return (when or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0).isoformat()


def member(
    email: str,
    *,
    status: str = "subscribed",
    last_changed: str = "2026-03-01T10:00:00+00:00",
    list_id: str = "",
    **merge_fields,
) -> dict:
    """A list member as the API shows it (merge fields FNAME, LNAME, PHONE: blank if not given)."""
    fields = {"FNAME": "", "LNAME": "", "PHONE": ""} | merge_fields
    return {
        "id": subscriber_hash(email),
        "email_address": email,
        "unique_email_id": subscriber_hash(email)[:10],
        "status": status,
        "merge_fields": fields,
        "ip_signup": "",
        "timestamp_signup": "",
        "ip_opt": "198.51.100.7" if status == "subscribed" else "",
        "timestamp_opt": last_changed if status == "subscribed" else "",
        "last_changed": last_changed,
        "source": "Hosted Signup Form",
        "unsubscribe_reason": "N/A (Unsubscribed by admin)" if status == "unsubscribed" else "",
        "tags": [],
        "list_id": list_id,
    }


def _key_of(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value).decode().partition(":")[2]
        except (ValueError, UnicodeDecodeError):
            return ""
    if scheme.lower() in ("bearer", "apikey"):
        return value.strip()
    return ""


def _page(items: list, query: dict) -> tuple[list, int]:
    count = min(int(query.get("count", 10)), 1000)
    offset = int(query.get("offset", 0))
    return items[offset : offset + count], len(items)


def _between(value, since, before) -> bool:
    when = _time(value)
    if when is None:
        return since is None and before is None
    return (since is None or when > since) and (before is None or when < before)


def _members(imitation: Imitation, list_id: str, query: dict):
    since, before = _time(query.get("since_last_changed")), _time(query.get("before_last_changed"))
    with imitation.lock:
        found = [
            m
            for m in imitation.records
            if m.get("list_id", list_id) in (list_id, "")
            and _between(m.get("last_changed"), since, before)
            and (not query.get("status") or m.get("status") == query["status"])
        ]
    field = query.get("sort_field")
    if field in ("last_changed", "timestamp_opt", "timestamp_signup"):
        found.sort(
            key=lambda m: _time(m.get(field)) or datetime.min.replace(tzinfo=UTC),
            reverse=query.get("sort_dir") == "DESC",
        )
    chunk, total = _page(found, query)
    return 200, {}, {"members": chunk, "list_id": list_id, "total_items": total}


def _campaigns(imitation: Imitation, query: dict):
    since = _time(query.get("since_send_time"))
    found = [
        c
        for c in imitation.state.get("campaigns", [])
        if (not query.get("list_id") or c["recipients"]["list_id"] == query["list_id"])
        and (not query.get("status") or c["status"] == query["status"])
        and (since is None or (_time(c.get("send_time")) or since) > since)
    ]
    if query.get("sort_field") == "send_time":
        found.sort(key=lambda c: c.get("send_time") or "", reverse=query.get("sort_dir") == "DESC")
    chunk, total = _page(found, query)
    return 200, {}, {"campaigns": chunk, "total_items": total}


def _report(imitation: Imitation, campaign_id: str, what: str, query: dict):
    campaigns = {c["id"]: c for c in imitation.state.get("campaigns", [])}
    if campaign_id not in campaigns:
        return problem(404, "Resource Not Found", "The requested resource could not be found.")
    if what == "sent-to":
        chunk, total = _page(imitation.state.get("sent_to", {}).get(campaign_id, []), query)
        return 200, {}, {"sent_to": chunk, "campaign_id": campaign_id, "total_items": total}
    since = _time(query.get("since"))
    emails = []
    for item in imitation.state.get("activity", {}).get(campaign_id, []):
        kept = [a for a in item.get("activity", []) if _between(a.get("timestamp"), since, None)]
        if kept or since is None:
            emails.append({**item, "activity": kept})
    chunk, total = _page(emails, query)
    return 200, {}, {"emails": chunk, "campaign_id": campaign_id, "total_items": total}


def _route(imitation: Imitation, parts: list[str], query: dict):
    lists = imitation.state.get("lists", {})
    if parts == ["ping"]:
        return 200, {}, {"health_status": "Everything's Chimpy!"}
    if parts == ["campaigns"]:
        return _campaigns(imitation, query)
    if len(parts) == 3 and parts[0] == "reports":
        return _report(imitation, parts[1], parts[2], query)
    if len(parts) in (2, 3) and parts[0] == "lists":
        if parts[1] not in lists:
            return problem(404, "Resource Not Found", "The requested resource could not be found.")
        if len(parts) == 2:
            return 200, {}, lists[parts[1]]
        if parts[2] == "members":
            return _members(imitation, parts[1], query)
    return problem(404, "Resource Not Found", "The requested resource could not be found.")


def api(imitation: Imitation, request: Request):
    key = imitation.state.get("api_key", "")
    offered = _key_of(request)
    if not offered or offered != key or offered.rpartition("-")[2] != imitation.state["dc"]:
        return problem(
            401,
            "API Key Invalid",
            "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
        )
    if request.method != "GET":
        return problem(405, "Method Not Allowed", "The requested method is not allowed.")
    path = request.path
    if not path.startswith("/3.0/"):
        return problem(404, "Resource Not Found", "The requested resource could not be found.")
    return _route(imitation, [p for p in path[len("/3.0/") :].split("/") if p], request.query)


def add_campaign(
    imitation: Imitation,
    *,
    campaign_id: str,
    list_id: str,
    send_time: str,
    subject: str = "Spring news",
    recipients: list[str] = (),
    status: str = "sent",
) -> dict:
    """A sent campaign with its recipients (all delivered); activity via ``add_activity``."""
    campaign = {
        "id": campaign_id,
        "type": "regular",
        "status": status,
        "send_time": send_time,
        "emails_sent": len(recipients),
        "recipients": {"list_id": list_id},
        "settings": {"subject_line": subject, "title": subject},
    }
    with imitation.lock:
        imitation.state.setdefault("campaigns", []).append(campaign)
        imitation.state.setdefault("sent_to", {})[campaign_id] = [
            {
                "email_id": subscriber_hash(email),
                "email_address": email,
                "status": "sent",
                "open_count": 0,
                "campaign_id": campaign_id,
                "list_id": list_id,
            }
            for email in recipients
        ]
    return campaign


def add_activity(
    imitation: Imitation, campaign_id: str, email: str, action: str, timestamp: str, **extra
) -> None:
    """One open, click (``url=``) or bounce (``type="hard"``) of a recipient."""
    list_id = next(
        c["recipients"]["list_id"] for c in imitation.state["campaigns"] if c["id"] == campaign_id
    )
    with imitation.lock:
        emails = imitation.state.setdefault("activity", {}).setdefault(campaign_id, [])
        item = next((e for e in emails if e["email_address"] == email), None)
        if item is None:
            item = {
                "campaign_id": campaign_id,
                "list_id": list_id,
                "list_is_active": True,
                "email_id": subscriber_hash(email),
                "email_address": email,
                "activity": [],
            }
            emails.append(item)
        entry = {"action": action, "timestamp": timestamp, "ip": "203.0.113.9"}
        if action == "bounce":
            entry["type"] = extra.get("type", "hard")
        if action == "click":
            entry["url"] = extra.get("url", "https://shop.example.com/")
        item["activity"].append(entry)


def start(
    *,
    api_key: str = "0123456789abcdef0123456789abcdef-us21",
    list_id: str = "a1b2c3d4e5",
    members: list[dict] | None = None,
) -> Imitation:
    """A running imitation of one account (the key's data centre) with one audience."""
    imitation = Imitation(handler=api, records=list(members or []))
    imitation.state.update(
        api_key=api_key,
        dc=api_key.rpartition("-")[2],
        lists={
            list_id: {
                "id": list_id,
                "name": "Newsletter",
                "stats": {"member_count": len(members or [])},
            }
        },
    )
    return imitation.start()
