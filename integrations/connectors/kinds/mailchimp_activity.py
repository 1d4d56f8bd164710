"""Mailchimp campaign e-mail activity → ``Email Sent``, ``Email Opened``, ``Email Link
Clicked`` and ``Email Bounced`` track calls, one per person and action, stored once.

A pass reads in three kinds of page, one request each:

1. ``GET /campaigns`` (the audience's sent campaigns of the last ``activity_days``, oldest
   first): which campaigns to read. Opens and clicks keep coming for days after a send,
   so every pass looks at the whole window, not only at what was sent since the last one;
2. per campaign, once: ``GET /reports/{id}/sent-to``, who it was sent to (``Email Sent``
   at the campaign's send time). Campaigns whose recipients were read are kept in the
   cursor (``sent``) and not read again;
3. per campaign: ``GET /reports/{id}/email-activity?since=T``, the opens, clicks and bounces
   recorded since the last pass (an hour's overlap: Mailchimp records some late).

Each record's id is campaign + person + action + time (+ link), so activity read twice is
stored once. Cursor: ``{"since", "sent"}`` between passes; within one also ``started``,
``stage`` (list, sent, activity), ``offset`` and ``campaigns`` (those left, current first).
"""

from __future__ import annotations

from datetime import timedelta

from integrations.imports.mapping import email_anonymous_id

from .. import own_changes
from ..base import ConnectorError, Page, Stream
from ..records import parse_time
from . import mailchimp_api as api

OVERLAP = timedelta(hours=1)
EVENTS = {"open": "Email Opened", "click": "Email Link Clicked", "bounce": "Email Bounced"}
SENT = "Email Sent"
CAMPAIGN_FIELDS = (
    "campaigns.id,campaigns.send_time,campaigns.settings.subject_line,"
    "campaigns.settings.title,total_items"
)
EXCLUDED = "_links,sent_to._links,emails._links"

RULES = """anonymousId = $.cdp.anonymous_id
event = $.event
timestamp = $.timestamp
context.traits = $.cdp.traits
properties.campaignId = $.campaign_id
properties.listId = $.list_id
properties.subject = $.subject_line
properties.campaignTitle = $.campaign_title
properties.url = $.url
properties.ip = $.ip
properties.bounceType = $.bounce_type
properties.deliveryStatus = $.delivery_status"""


def _person(item: dict) -> dict:
    """Who an activity is about, as the mapping wants it."""
    email = item.get("email_address")
    if not isinstance(email, str) or not email.strip():
        return {}
    return {"anonymous_id": email_anonymous_id(email), "traits": {"email": email}}


def _email_id(item: dict) -> str:
    if isinstance(item.get("email_id"), str) and item["email_id"]:
        return item["email_id"]
    email = item.get("email_address")
    return own_changes.email_hash(email) if isinstance(email, str) and email else ""


def _base(campaign: list, item: dict) -> dict:
    campaign_id, _, subject, title = campaign
    return {
        "campaign_id": campaign_id,
        "list_id": item.get("list_id"),
        "email_id": _email_id(item),
        "email_address": item.get("email_address"),
        "subject_line": subject,
        "campaign_title": title,
        "cdp": _person(item),
    }


def sent_records(campaign: list, recipients: list) -> list:
    records = []
    for item in recipients:
        if not isinstance(item, dict):
            records.append(item)  # rejected by the mapper with its reason
            continue
        record = _base(campaign, item)
        record.update(
            activity_id=f"{campaign[0]}:{record['email_id']}:sent",
            event=SENT,
            timestamp=campaign[1],
            delivery_status=item.get("status"),
        )
        records.append(record)
    return records


def activity_records(campaign: list, emails: list) -> list:
    records = []
    for item in emails:
        if not isinstance(item, dict) or not isinstance(item.get("activity"), list):
            records.append(item)
            continue
        for action in item["activity"]:
            if not isinstance(action, dict) or action.get("action") not in EVENTS:
                continue  # an action Mailchimp may add later: not one of ours yet
            record = _base(campaign, item)
            name, when = action["action"], action.get("timestamp")
            key = f"{campaign[0]}:{record['email_id']}:{name}:{when}"
            if action.get("url"):
                key += f":{action['url']}"
            record.update(
                activity_id=key,
                event=EVENTS[name],
                timestamp=when,
                url=action.get("url"),
                ip=action.get("ip"),
                bounce_type=action.get("type") if name == "bounce" else None,
            )
            records.append(record)
    return records


def _campaign(item) -> list | None:
    if not isinstance(item, dict) or not item.get("id"):
        return None
    settings = item.get("settings") if isinstance(item.get("settings"), dict) else {}
    return [item["id"], item.get("send_time"), settings.get("subject_line"), settings.get("title")]


def _window_start(conf: dict) -> str:
    try:
        days = int(conf.get("activity_days") or 30)
    except (TypeError, ValueError):
        raise ConnectorError("activity_days: a whole number of days.", code="config") from None
    return api.iso(api.now() - timedelta(days=max(days, 1)))


def _list_campaigns(reader, headers: dict, conf: dict, cursor: dict, size: int) -> Page:
    params = {
        "list_id": str(conf.get("list_id") or "").strip(),
        "status": "sent",
        "since_send_time": cursor["window"],
        "sort_field": "send_time",
        "sort_dir": "ASC",
        "count": size,
        "offset": cursor["offset"],
        "fields": CAMPAIGN_FIELDS,
    }
    body = api.get(reader, "campaigns", headers=headers, params=params)
    found, total = api.items(body, "campaigns")
    campaigns = cursor["campaigns"] + [c for c in map(_campaign, found) if c is not None]
    if api.more(cursor["offset"], len(found), size, total):
        following = {**cursor, "campaigns": campaigns, "offset": cursor["offset"] + len(found)}
        return Page([], following, done=False, note=f"{len(campaigns)} campaigns to read.")
    # Campaigns that left the window need no memory of their recipients any more.
    ids = {c[0] for c in campaigns}
    sent = [c for c in cursor["sent"] if c in ids]
    return _next_campaign({**cursor, "campaigns": campaigns, "sent": sent}, [], done_one=False)


def _next_campaign(cursor: dict, records: list, *, done_one: bool) -> Page:
    """The page that ends the current step: on to the next campaign, or the pass ends."""
    campaigns = cursor["campaigns"][1:] if done_one else cursor["campaigns"]
    if not campaigns:
        started = parse_time(cursor["started"])
        return Page(
            records, {"since": api.iso(started - OVERLAP), "sent": cursor["sent"]}, done=True
        )
    stage = "activity" if campaigns[0][0] in cursor["sent"] else "sent"
    following = {**cursor, "campaigns": campaigns, "stage": stage, "offset": 0}
    return Page(records, following, done=False)


def _read_report(
    reader, headers: dict, cursor: dict, size: int, what: str, *, key, records, then, since=None
) -> Page:
    """One page of the current campaign's report ``what``: its items (under ``key``) as
    ``records(campaign, items)``; once the report is read, the page ``then(records)``
    makes of the last ones. A campaign deleted since the pass listed it is skipped: the
    pass goes on without it rather than stop for good."""
    campaign = cursor["campaigns"][0]
    params = {"count": size, "offset": cursor["offset"], "exclude_fields": EXCLUDED}
    if since:
        params["since"] = since
    try:
        body = api.get(reader, f"reports/{campaign[0]}/{what}", headers=headers, params=params)
    except ConnectorError as exc:
        if exc.status == 404:
            return _gone(cursor)
        raise
    found, total = api.items(body, key)
    read = records(campaign, found)
    if api.more(cursor["offset"], len(found), size, total):
        return Page(read, {**cursor, "offset": cursor["offset"] + len(found)}, done=False)
    return then(read)


def _gone(cursor: dict) -> Page:
    page = _next_campaign(cursor, [], done_one=True)
    page.note = f"Campaign {cursor['campaigns'][0][0]} is gone from Mailchimp; skipped."
    return page


def _read_sent(reader, headers: dict, cursor: dict, size: int) -> Page:
    def then(records: list) -> Page:
        sent = cursor["sent"] + [cursor["campaigns"][0][0]]
        return Page(records, {**cursor, "stage": "activity", "offset": 0, "sent": sent}, done=False)

    return _read_report(
        reader, headers, cursor, size, "sent-to", key="sent_to", records=sent_records, then=then
    )


def _read_activity(reader, headers: dict, cursor: dict, size: int) -> Page:
    return _read_report(
        reader,
        headers,
        cursor,
        size,
        "email-activity",
        key="emails",
        since=cursor.get("since"),
        records=activity_records,
        then=lambda records: _next_campaign(cursor, records, done_one=True),
    )


def read_activity(reader, *, stream: Stream, cursor) -> Page:
    headers = api.preflight(reader)
    conf = api.config(reader)
    api.list_path(conf)  # a missing audience id says so before any request
    size = api.page_size(conf)
    cursor = dict(cursor or {})
    if "stage" not in cursor:
        cursor = {
            "since": cursor.get("since"),
            "sent": list(cursor.get("sent") or []),
            "started": api.iso(api.now()),
            "window": _window_start(conf),
            "stage": "list",
            "offset": 0,
            "campaigns": [],
        }
    if cursor["stage"] == "list":
        return _list_campaigns(reader, headers, conf, cursor, size)
    if cursor["stage"] == "sent":
        return _read_sent(reader, headers, cursor, size)
    return _read_activity(reader, headers, cursor, size)
