"""Mailchimp (Marketing API v3): an audience's members, and campaign e-mail activity.

**Members** (``GET /lists/{list_id}/members``, oldest change first) become identify calls
keyed by the e-mail address, each with what the member's status says:

- ``subscribed``: e-mail marketing consent granted (``context.consent.categoryPreferences.
  email_marketing = true``, the consent convention of profiles/consent.py), at the
  member's ``last_changed``, from this connection's source; the address is deliverable.
- ``unsubscribed``: that consent withdrawn (or denied, if never granted), likewise.
- ``cleaned``: Mailchimp stopped mailing a bouncing address: ``emailUndeliverable`` is
  set, and consent is left as it was: a dead mailbox is not a person saying no.
- ``pending``, ``transactional``, ``archived``: nothing about consent.

A member changed by our own audience sync at exactly its ``last_changed`` is skipped
(integrations/connectors/own_changes.py), so our own decision is not read back as news.

Cursor: ``{"since": T}`` between runs: the next pass asks for members changed since T.
A pass reads the window [since, before) by offset; ``before`` (the pass's start, less a
margin for clocks that differ) keeps members changed during the pass out of it, and if
one leaves the window mid-pass (changed again) ``total_items`` changes, the offsets no
longer hold, and the pass goes on from the last member it read (``from``); what is read
twice is stored once (message ids).

**Activity**: see mailchimp_activity.py.
"""

from __future__ import annotations

from datetime import timedelta

from integrations.imports.mapping import email_anonymous_id

from .. import own_changes
from ..base import ConnectorError, Field, Kind, Page, Stream
from ..records import newest as newest_of
from ..records import parse_time
from . import mailchimp_activity as activity
from . import mailchimp_api as api

OVERLAP = timedelta(seconds=1)  # Mailchimp's times are whole seconds; "since" may be exclusive
# A pass reads members changed up to this long before it starts: Mailchimp's clock and
# ours may differ, and a member changed during the pass must fall outside its window
# (it is read by the next pass).
CLOCK_MARGIN = timedelta(minutes=5)
SUBSCRIBED, UNSUBSCRIBED, CLEANED = "subscribed", "unsubscribed", "cleaned"
# Every member field stays readable by an admin's mapping; only the bulky links go.
EXCLUDED = "_links,members._links"


def _consent(member: dict) -> dict | None:
    status = member.get("status")
    if status not in (SUBSCRIBED, UNSUBSCRIBED):
        return None
    consent = {
        "categoryPreferences": {"email_marketing": status == SUBSCRIBED},
        "via": "mailchimp",
        "mailchimpStatus": status,
        "changedAt": member.get("last_changed"),
    }
    extra = {
        "signupSource": member.get("source"),
        "optedInAt": member.get("timestamp_opt") if status == SUBSCRIBED else None,
        "unsubscribeReason": member.get("unsubscribe_reason") if status == UNSUBSCRIBED else None,
    }
    return consent | {k: v for k, v in extra.items() if v not in (None, "")}


def shape_member(member) -> object:
    """The member as Mailchimp sent it, empty merge fields left out (a blank FNAME is not
    a name), and ``cdp``: what the mapping needs that is not a field of its own."""
    if not isinstance(member, dict):
        return member  # the mapper rejects it with its reason
    record = dict(member)
    merge = member.get("merge_fields")
    if isinstance(merge, dict):
        record["merge_fields"] = {k: v for k, v in merge.items() if v not in ("", None)}
    derived: dict = {}
    email = member.get("email_address")
    if isinstance(email, str) and email.strip():
        derived["anonymous_id"] = email_anonymous_id(email)
    consent = _consent(member)
    if consent is not None:
        derived["consent"] = consent
    status = member.get("status")
    if status in (SUBSCRIBED, CLEANED):
        derived["undeliverable"] = status == CLEANED
    tags = member.get("tags")
    if isinstance(tags, list):
        derived["tags"] = [t["name"] for t in tags if isinstance(t, dict) and t.get("name")]
    record["cdp"] = derived
    return record


def _member_hash(member) -> str:
    if not isinstance(member, dict):
        return ""
    if isinstance(member.get("id"), str) and member["id"]:
        return member["id"]
    email = member.get("email_address")
    return own_changes.email_hash(email) if isinstance(email, str) and email else ""


def _not_ours(conf: dict, members: list) -> tuple[list, int]:
    changes = [
        (_member_hash(m), m.get("last_changed") if isinstance(m, dict) else None) for m in members
    ]
    ours = own_changes.recorded(list_id=str(conf["list_id"]).strip(), changes=changes)
    return [m for i, m in enumerate(members) if i not in ours], len(ours)


def _earlier(value: str, by: timedelta) -> str:
    when = parse_time(value)
    return api.iso(when - by) if when is not None else value


def _start_pass(cursor: dict) -> dict:
    since = cursor.get("since")
    before = api.iso(api.now() - CLOCK_MARGIN)
    return {"since": since, "from": since, "before": before, "offset": 0}


def _resumed(cursor: dict) -> Page:
    """Members left (or entered) the window since the last page, so the offsets moved:
    go on from the newest member read (everything older was read)."""
    newest = cursor.get("newest")
    restart = _earlier(newest, OVERLAP) if newest else cursor.get("since")
    following = {**cursor, "from": restart, "offset": 0, "total": None}
    return Page(
        [],
        following,
        done=False,
        note="Members changed while being read; going on from the last one read.",
    )


def read_members(reader, *, stream: Stream, cursor) -> Page:
    headers = api.preflight(reader)
    conf = api.config(reader)
    size = api.page_size(conf)
    cursor = dict(cursor or {})
    if "before" not in cursor:
        cursor = _start_pass(cursor)
    params = {
        "count": size,
        "offset": cursor["offset"],
        "sort_field": "last_changed",
        "sort_dir": "ASC",
        "before_last_changed": cursor["before"],
        "exclude_fields": EXCLUDED,
    }
    if cursor.get("from"):
        params["since_last_changed"] = cursor["from"]
    body = api.get_from_list(reader, conf, "/members", headers=headers, params=params)
    members, total = api.items(body, "members")
    known = cursor.get("total")
    if cursor["offset"] and total is not None and known is not None and total != known:
        return _resumed(cursor)
    records, skipped = _not_ours(conf, members)
    note = f"{skipped} change(s) our own audience sync made were not read back." if skipped else ""
    newest = newest_of(
        (m.get("last_changed") if isinstance(m, dict) else None for m in members),
        cursor.get("newest"),
    )
    if api.more(cursor["offset"], len(members), size, total):
        following = {**cursor, "offset": cursor["offset"] + len(members), "total": total}
        following["newest"] = newest
        # total_items comes with every page: what is left of the pass (the run's ETA).
        left = None if total is None else max(total - following["offset"], 0)
        records = [shape_member(m) for m in records]
        return Page(records, following, done=False, note=note, remaining=left)
    # The next pass starts a second before this one's end: a member changed in that very
    # second is read again and recognised, never missed.
    done = {"since": _earlier(cursor["before"], OVERLAP)}
    return Page([shape_member(m) for m in records], done, done=True, note=note)


def read(reader, *, stream: Stream, cursor) -> Page:
    if stream.name == "members":
        return read_members(reader, stream=stream, cursor=cursor)
    return activity.read_activity(reader, stream=stream, cursor=cursor)


def check(reader) -> None:
    """``/ping``, then the configured audience: a message for each way it goes wrong."""
    headers = api.preflight(reader)
    conf = api.config(reader)
    api.list_path(conf)  # a missing audience id says so before any request
    body = api.get(reader, "ping", headers=headers)
    if not isinstance(body, dict) or "health_status" not in body:
        raise ConnectorError(
            "The base URL answered /ping, but not as the Mailchimp Marketing API does; "
            "use https://<dc>.api.mailchimp.com/3.0/ or leave the default."
        )
    api.get_from_list(reader, conf, "", headers=headers, params={"fields": "id,name"})


MEMBER_RULES = """anonymousId = $.cdp.anonymous_id
traits.email = $.email_address
traits.firstName = $.merge_fields.FNAME
traits.lastName = $.merge_fields.LNAME
traits.phone = $.merge_fields.PHONE
traits.mailchimpStatus = $.status
traits.mailchimpTags = $.cdp.tags
traits.emailUndeliverable = $.cdp.undeliverable
context.consent = $.cdp.consent
timestamp = $.last_changed"""

KIND = Kind(
    key="mailchimp",
    label="Mailchimp",
    source_kind="server",
    default_base_url=api.DEFAULT_BASE_URL,
    base_url_for=api.base_url_for,
    help="An audience's members (with their e-mail consent) and campaign e-mail activity.",
    config=api.CONFIG,
    secrets=(Field("api_key", "API key", required=True, help="e.g. 0123…abcd-us21"),),
    # Mailchimp allows 10 connections at once; a run makes one at a time.
    default_budget=600,
    streams=(
        Stream(
            name="members",
            label="Audience members",
            primary_key="$.email_address",
            updated_at="$.last_changed",
            message_kind="identify",
            rules=MEMBER_RULES,
            help="Subscribed and unsubscribed members state e-mail marketing consent.",
        ),
        Stream(
            name="activity",
            label="Campaign e-mail activity",
            primary_key="$.activity_id",
            updated_at="$.timestamp",
            message_kind="track",
            rules=activity.RULES,
            once_per_record=True,
            help="Email Sent, Email Opened, Email Link Clicked and Email Bounced per person.",
        ),
    ),
    read=read,
    check=check,
)
