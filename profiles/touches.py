"""Where an event came from, kept beside it for attribution: the UTM campaign, the page
and the referrer of its ``context`` (Segment spec: ``context.campaign``, ``context.page``),
or of a page event's own properties. Stored in ``profiles_profileevent.context`` only when
there is something to keep, so events without it cost nothing.

Shape (every key optional, every value a string of at most ``VALUE_LENGTH``)::

    {"campaign": {"source", "medium", "name", "term", "content"},
     "page": {"path", "url", "referrer", "title"},
     "backfill": true}

``backfill`` marks history a connector read (integrations/connectors/records.py): an
order from March, synced today. Campaigns never start on it, nor on the segment entries
it causes (the processing step marks the profile's change record, changes.py).

UTM parameters missing from ``context.campaign`` are read from the page URL's query
string (``utm_source`` ...), as analytics.js does when it fills ``context.campaign``.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

VALUE_LENGTH = 300
CAMPAIGN_KEYS = ("source", "medium", "name", "term", "content")
PAGE_KEYS = ("path", "url", "referrer", "title")


def _text(value) -> str | None:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        text = str(value).strip()
        return text[:VALUE_LENGTH] if text else None
    return None


def _picked(found, keys) -> dict:
    if not isinstance(found, dict):
        return {}
    return {k: v for k in keys if (v := _text(found.get(k))) is not None}


# analytics.js's names for the UTM query parameters in context.campaign
UTM_PARAMETERS = {f"utm_{k}": k for k in CAMPAIGN_KEYS if k != "name"} | {"utm_campaign": "name"}


def _utm_of(url: str | None) -> dict:
    try:
        query = urlsplit(url).query if url else ""
    except ValueError:
        return {}
    utm = {}
    for key, value in parse_qsl(query):
        name = UTM_PARAMETERS.get(key.lower())
        if name and (text := _text(value)):
            utm.setdefault(name, text)
    return utm


def is_backfill(payload: dict) -> bool:
    """The message is history a connector backfilled (``context.backfill`` is true)."""
    context = payload.get("context")
    return isinstance(context, dict) and context.get("backfill") is True


def touch_of(payload: dict) -> dict | None:
    """The campaign and page of one raw event, or None when it carries neither."""
    context = payload.get("context") if isinstance(payload.get("context"), dict) else {}
    page = _picked(context.get("page"), PAGE_KEYS)
    if payload.get("type") == "page":
        page = {**_picked(payload.get("properties"), PAGE_KEYS), **page}
    campaign = {**_utm_of(page.get("url")), **_picked(context.get("campaign"), CAMPAIGN_KEYS)}
    touch = {}
    if campaign:
        touch["campaign"] = campaign
    if page:
        touch["page"] = page
    if is_backfill(payload):
        touch["backfill"] = True
    return touch or None
