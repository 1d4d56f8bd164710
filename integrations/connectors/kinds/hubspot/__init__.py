"""HubSpot CRM: contacts, companies and deals, read through the CRM search API.

api.py           the token header, the POSTs, and what HubSpot's refusals and limits mean
associations.py  a company's or deal's contacts, every page of them

Authentication: an app's access token as HubSpot issues them (a private app's or a legacy
app's token, an OAuth access token), all sent as ``Authorization: Bearer <token>``.

Reading: ``POST /crm/v3/objects/{type}/search`` with ``<modified> GTE <since>`` (contacts'
``lastmodifieddate``, companies' and deals' ``hs_lastmodifieddate``, epoch milliseconds),
sorted ascending by it, 100 a page. Cursor: ``{"since"}``, the lower bound, inclusive (the
records at the bound are read again; their message ids recognise them).

The bound moves on after every page, to the newest change the page holds, rather than
paging a whole pass by ``after``: a record changed while a pass reads moves to the end of
HubSpot's sorted results, and with an offset alone every record after its old place would
move up one and one would be skipped. Moving the bound also keeps each query far below
HubSpot's cap of 10,000 results a query, so a long backlog needs no special case. Only
where a whole page changed at the same millisecond (a bulk import) does the next page
follow ``paging.next.after`` within that instant (``{"since", "after"}``); past 10,000 such
records the rest of that instant is skipped, with a note. The bound never passes
now − INDEX_LAG_MS (HubSpot's search index trails its changes by moments).

What each stream becomes (the default mappings, editable per connection):

- contacts → identify calls, userId = the contact's id. The connection's source takes
  "CRM id" as its user id kind (``extra["user_id_kind"]``, applied by profiles), so a
  contact id never meets a website's user id of the same value.
- companies → group calls: a company alone names no person, so each changed company
  becomes one group call per contact associated with it (``POST /crm/v4/associations/
  companies/contacts/batch/read``): userId = the contact, groupId = the company, the
  company's properties as group traits. A company with no contact yields nothing.
- deals → a "Deal Updated" track call per associated contact (deal → contacts, the same
  batch API), with the amount, stage, pipeline and close date. A deal with no contact
  yields nothing (a track call needs a person); the page's note counts them.

The association expansion adds ``contactId`` and ``key`` (``<record id>:<contact id>``, the
records' primary key) to HubSpot's record. The batch read answers one page of each
record's associations, with that record's own ``paging.next.after`` where it has more;
the read sends each such ``after`` back beside its id until every record's associations
are read (the batch takes at most 1,000 ids). A slice sends at most ASSOCIATION_CALLS
batch reads: a company with more contacts than that reads goes on in the next slice
(``{"associating": [{"record", "after"}], "then": <the page's own cursor>,
"then_done"}``), its group calls stored page by page as they are read. Association
changes that touch neither record's last-modified date are seen at the next full
re-sync.

Limits: a 429 on HubSpot's per-second policies waits for ``Retry-After``; the DAILY policy
waits until midnight in the account's time zone (a setting: HubSpot answers every call
with 429 until then). 401: the token is wrong or revoked; 403: HubSpot names the scopes
the token lacks, and so do we.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from ...base import ConnectorError, Field, Kind, Page, RateLimited, Stream
from ...records import parse_time
from .api import body_of, explained, headers, post, rate_limited, scopes_in, time_zone
from .associations import go_on_associations, has_id, more_note, per_contact

logger = logging.getLogger(__name__)

PAGE_SIZE = 100  # HubSpot allows 200 a search page; 100 keeps a slice short
SEARCH_CAP = 10_000  # HubSpot's search returns at most this many results a query
# A change shows in HubSpot's search index moments after it is made: the lower bound never
# passes now minus this, so a change indexed late is still found by the next query.
INDEX_LAG_MS = 2 * 60 * 1000


@dataclass(frozen=True)
class _Object:
    type: str  # HubSpot's object type in URLs
    modified: str  # the property of its last change
    properties: tuple[str, ...]
    setting: str  # the config field naming more properties to read
    per_contact: bool  # one record per associated contact


OBJECTS = {
    "contacts": _Object(
        "contacts",
        "lastmodifieddate",
        (
            "email",
            "firstname",
            "lastname",
            "phone",
            "company",
            "jobtitle",
            "lifecyclestage",
            "createdate",
            "lastmodifieddate",
        ),
        "contact_properties",
        per_contact=False,
    ),
    "companies": _Object(
        "companies",
        "hs_lastmodifieddate",
        ("name", "domain", "industry", "city", "country", "numberofemployees", "createdate")
        + ("hs_lastmodifieddate",),
        "company_properties",
        per_contact=True,
    ),
    "deals": _Object(
        "deals",
        "hs_lastmodifieddate",
        ("dealname", "amount", "deal_currency_code", "dealstage", "pipeline", "closedate")
        + ("hs_is_closed_won", "createdate", "hs_lastmodifieddate"),
        "deal_properties",
        per_contact=True,
    ),
}


def _properties(reader, spec: _Object) -> list[str]:
    extra = str(reader.config.get(spec.setting) or "")
    more = [name.strip() for name in extra.split(",") if name.strip()]
    return list(dict.fromkeys((*spec.properties, *more)))


def _search(reader, spec: _Object, *, since: int, after: str | None, limit: int) -> dict:
    body = {
        "filterGroups": [
            {"filters": [{"propertyName": spec.modified, "operator": "GTE", "value": str(since)}]}
        ],
        "sorts": [{"propertyName": spec.modified, "direction": "ASCENDING"}],
        "properties": _properties(reader, spec),
        "limit": limit,
    }
    if after:
        body["after"] = after
    return post(reader, f"/crm/v3/objects/{spec.type}/search", body)


def _millis(record, spec: _Object) -> int:
    properties = record.get("properties") if isinstance(record, dict) else None
    when = parse_time(properties.get(spec.modified)) if isinstance(properties, dict) else None
    return int(when.timestamp() * 1000) if when else 0


def _offset(value) -> int | None:
    text = str(value) if value is not None else ""
    return int(text) if text.isdigit() else None


def _iso(millis: int) -> str:
    return datetime.fromtimestamp(millis / 1000, tz=UTC).isoformat().replace("+00:00", "Z")


def read(reader, *, stream: Stream, cursor, now: datetime | None = None) -> Page:
    spec, cursor = OBJECTS[stream.name], dict(cursor or {})
    if cursor.get("associating"):
        return go_on_associations(reader, spec, cursor)
    since, after = int(cursor.get("since") or 0), cursor.get("after")
    answer = _search(reader, spec, since=since, after=after, limit=PAGE_SIZE)
    results = answer.get("results")
    if not isinstance(results, list):
        raise ConnectorError(f"HubSpot's {spec.type} search answered without a results list.")
    records, alone, left = (
        per_contact(reader, spec, results) if spec.per_contact else (results, 0, [])
    )
    held = {str(r["id"]): r for r in results if has_id(r)}
    left = [(i, a) for i, a in left if i in held]  # never an id the search did not give
    note = f"{alone} of the {spec.type} had no associated contact: left out." if alone else ""
    page = _following(reader, spec, answer, records, since=since, after=after, note=note, now=now)
    if not left:
        return page
    # The rest of some records' associations first; then the cursor this page had.
    following = {
        "associating": [{"record": held[i], "after": a} for i, a in left],
        "then": page.cursor,
        "then_done": page.done,
    }
    return Page(records, following, done=False, note=f"{more_note(spec, left)} {note}".strip())


def _following(reader, spec, answer, records, *, since, after, note, now) -> Page:
    """The page with the cursor that goes on from it (see the module's docstring)."""
    results = answer["results"]
    newest = max([since] + [_millis(r, spec) for r in results])
    # Never a bound the search index may not have reached yet (see INDEX_LAG).
    settled = int((now or datetime.now(UTC)).timestamp() * 1000) - INDEX_LAG_MS
    bound = min(newest, settled)
    following = ((answer.get("paging") or {}).get("next") or {}).get("after")
    total, seen = answer.get("total"), (_offset(after) or 0) + len(results)
    if not results or (following is None and not (isinstance(total, int) and total > seen)):
        return Page(records, {"since": max(since, bound)}, done=True, note=note)
    # The search's total counts what is left from the bound on: an ETA for streams whose
    # records are HubSpot's own (expanded per contact, they would not match it).
    left = max(total - seen, 0) if isinstance(total, int) and not spec.per_contact else None
    if bound > since:
        progress = f"Read the {spec.type} changed up to {_iso(bound)}."
        note = f"{progress} {note}".strip()
        return Page(records, {"since": bound}, done=False, note=note, remaining=left)
    # The whole page changed at the bound itself (or too recently to move it): page
    # through that instant by offset, as far as HubSpot's cap allows.
    offset = _offset(following)
    if offset is not None and offset < SEARCH_CAP:
        cursor = {"since": since, "after": str(following)}
        return Page(records, cursor, done=False, note=note, remaining=left)
    return _past_the_cap(reader, records, spec, since=since, seen=seen, note=note)


def _past_the_cap(reader, records: list, spec: _Object, *, since: int, seen: int, note: str):
    """More records changed at one millisecond than HubSpot's search returns: what it
    gave is kept, the rest of that instant is skipped (said, and logged) so that the
    stream goes on rather than stopping at it for good."""
    at_once = {"propertyName": spec.modified, "operator": "EQ", "value": str(since)}
    body = {"filterGroups": [{"filters": [at_once]}], "limit": 1, "properties": [spec.modified]}
    counted = post(reader, f"/crm/v3/objects/{spec.type}/search", body).get("total")
    left = max(counted - seen, 0) if isinstance(counted, int) else 0
    logger.warning("HubSpot %s: %s changes at %s past the search cap", spec.type, left, since)
    skipped = (
        f"More than {SEARCH_CAP:,} {spec.type} changed at {_iso(since)}: HubSpot's search "
        f"cannot page past them, so {left:,} of them were skipped. Read them with a full "
        "export."
    )
    return Page(records, {"since": since + 1}, done=False, note=f"{skipped} {note}".strip())


def check(reader) -> None:
    """One cheap search per object (limit 1): the token works and holds every read scope;
    and the account's time zone is one we know."""
    zone = str(reader.config.get("time_zone") or "UTC")
    if time_zone(reader).key != zone:
        raise ConnectorError(
            f"The time zone {zone!r} is not known; name it as e.g. Europe/Amsterdam.",
            code="config",
        )
    missing: list[str] = []
    for spec in OBJECTS.values():
        body = {"limit": 1, "properties": ["hs_object_id"]}
        try:
            reader.post(f"/crm/v3/objects/{spec.type}/search", json=body, headers=headers(reader))
        except RateLimited as exc:
            raise rate_limited(reader, exc) from None
        except ConnectorError as exc:
            if exc.code != "permission":
                raise explained(exc) from None
            missing += scopes_in(body_of(exc)) or [f"crm.objects.{spec.type}.read"]
    if missing:
        raise ConnectorError(
            f"The HubSpot token lacks scopes (403): {', '.join(missing)}. Add them to the app "
            "(a private app: Settings → Integrations → Private apps → Scopes) and paste its "
            "token again, or turn off the streams that need them.",
            code="permission",
        )


CONTACT_RULES = """\
userId = $.id
traits.email = $.properties.email
traits.firstName = $.properties.firstname
traits.lastName = $.properties.lastname
traits.phone = $.properties.phone
traits.company = $.properties.company
traits.title = $.properties.jobtitle
traits.lifecycleStage = $.properties.lifecyclestage
traits.createdAt = $.properties.createdate
timestamp = $.properties.lastmodifieddate"""

COMPANY_RULES = """\
userId = $.contactId
groupId = $.id
traits.name = $.properties.name
traits.domain = $.properties.domain
traits.industry = $.properties.industry
traits.city = $.properties.city
traits.country = $.properties.country
traits.employees = $.properties.numberofemployees
timestamp = $.properties.hs_lastmodifieddate"""

DEAL_RULES = """\
userId = $.contactId
event = "Deal Updated"
properties.dealId = $.id
properties.dealName = $.properties.dealname
properties.amount = $.properties.amount
properties.currency = $.properties.deal_currency_code
properties.stage = $.properties.dealstage
properties.pipeline = $.properties.pipeline
properties.closeDate = $.properties.closedate
properties.closedWon = $.properties.hs_is_closed_won
timestamp = $.properties.hs_lastmodifieddate"""

KIND = Kind(
    key="hubspot",
    label="HubSpot CRM",
    source_kind="crm",
    default_base_url="https://api.hubapi.com/",
    help="Contacts, companies and deals from HubSpot, by a private app's access token.",
    config=(
        Field(
            "time_zone",
            "Account time zone",
            default="UTC",
            help="The HubSpot account's time zone (Settings → Account defaults), e.g. "
            "Europe/Amsterdam: its daily API limit resets at midnight there.",
        ),
        Field("contact_properties", "More contact properties", help="Comma-separated names."),
        Field("company_properties", "More company properties", help="Comma-separated names."),
        Field("deal_properties", "More deal properties", help="Comma-separated names."),
    ),
    secrets=(
        Field(
            "access_token",
            "Access token",
            required=True,
            help="A private app's token (pat-...) with the scopes crm.objects.contacts.read, "
            "crm.objects.companies.read and crm.objects.deals.read.",
        ),
    ),
    streams=(
        Stream(
            name="contacts",
            label="Contacts",
            primary_key="$.id",
            updated_at="$.properties.lastmodifieddate",
            message_kind="identify",
            rules=CONTACT_RULES,
            help="One identify call per changed contact; userId is the contact's CRM id.",
        ),
        Stream(
            name="companies",
            label="Companies",
            primary_key="$.key",
            updated_at="$.properties.hs_lastmodifieddate",
            message_kind="group",
            rules=COMPANY_RULES,
            help="One group call per contact of each changed company, with its traits.",
        ),
        Stream(
            name="deals",
            label="Deals",
            primary_key="$.key",
            updated_at="$.properties.hs_lastmodifieddate",
            message_kind="track",
            rules=DEAL_RULES,
            help='A "Deal Updated" track call per contact of each changed deal.',
        ),
    ),
    read=read,
    check=check,
    # HubSpot allows 100-190 requests per 10 seconds by tier, and 5 searches a second.
    default_budget=240,
    extra={"user_id_kind": "crm_id"},
)
