"""Attribution: which channel brought a person, and what their orders were worth.

A *touch* is an event whose kept context (profiles.touches) says how the person arrived:
a UTM campaign, or a page whose referrer is another site. Its channel is

* source: the campaign's ``utm_source`` ("(not set)" when a campaign has none), else the
  referrer's host without "www.", else "(direct)";
* medium: the campaign's ``utm_medium`` ("(not set)"), else "referral", else "(none)";
* campaign: the campaign's ``utm_campaign``, else "(none)"

(Google Analytics' conventions, so that a marketer reads them without a legend).

Each profile keeps, in ``computed`` (so segments, journey branches and personalisation
read them like any computed trait), ``first_touch_*`` and ``last_touch_*``:

* first touch: the earliest event carrying any context (a campaign or a page): how they
  arrived the first time, "(direct)" when that first page had no campaign or referrer;
* last touch: the latest *touch* (the last channel that brought them back: internal
  page views do not count), the first touch when there was none.

Both are computed from the profile's events (never accumulated), for the profiles a
batch brought context events to and for every profile a merge or an unmerge regrouped:
a replay writes the same values, and a survivor's first touch is the earliest of both.

Revenue: the property the order's source maps (Source.revenue_property) when it names
one, else the event's ``revenue`` property, else its ``total`` (numbers, or strings
holding a plain decimal, below 10^15 in size), in its ``currency`` (a three-letter code,
upper-cased; the source's ``currency``, else ``settings.CDP_DEFAULT_CURRENCY``, when
missing; "XXX", ISO 4217's "no currency", when not a code). Amounts in different
currencies are never added together.
Insights (the attribution report) and campaigns (revenue of a campaign's e-mails) read
the SQL below; they may use everything in this module.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from .sql import rows

ORDER_EVENT = "Order Completed"
TOUCH_FIELDS = ("source", "medium", "campaign", "landing_page", "referrer", "at")
KEYS = [f"{which}_touch_{field}" for which in ("first", "last") for field in TOUCH_FIELDS]
LABELS = {
    "source": "source",
    "medium": "medium",
    "campaign": "campaign",
    "landing_page": "landing page",
    "referrer": "referrer",
    "at": "time",
}
KEY_LABELS = {
    key: f"{which.title()} touch {LABELS[field]}"
    for key in KEYS
    for which, field in [key.split("_touch_", 1)]
}
DIRECT = ("(direct)", "(none)", "(none)")

# The host of a URL (scheme://[user@]host[:port]...), lower-cased, without "www.".
_HOST = "regexp_replace(lower(substring({url} from '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?([^/:?#]+)')), '^www\\.', '')"  # noqa: E501


def channel_sql(ctx: str) -> dict[str, str]:
    """SQL expressions over the context column ``ctx`` (a constant like ``e.context``,
    never input): the channel's source, medium and campaign, whether it is a touch, and
    its landing page and referrer."""
    campaign = f"({ctx} ? 'campaign')"
    referrer = _HOST.format(url=f"({ctx} -> 'page' ->> 'referrer')")
    page = _HOST.format(url=f"({ctx} -> 'page' ->> 'url')")
    external = f"({referrer} IS NOT NULL AND {referrer} IS DISTINCT FROM {page})"
    return {
        # Put it beside "touch": the two together, as written here over "context", are
        # the condition of the partial index profileevent_external_touch (migration
        # 0012, only the touches), so that PostgreSQL proves it applies and drops the
        # filter. Changing either text needs a new index (a test compares them).
        "candidate": f"({ctx} ? 'campaign' OR ({ctx} -> 'page') ? 'referrer')",
        "touch": f"coalesce({campaign} OR {external}, false)",
        "source": f"CASE WHEN {campaign} THEN coalesce({ctx} -> 'campaign' ->> 'source', "
        f"'(not set)') WHEN {external} THEN {referrer} ELSE '(direct)' END",
        "medium": f"CASE WHEN {campaign} THEN coalesce({ctx} -> 'campaign' ->> 'medium', "
        f"'(not set)') WHEN {external} THEN 'referral' ELSE '(none)' END",
        "campaign": f"coalesce({ctx} -> 'campaign' ->> 'name', '(none)')",
        "landing_page": f"coalesce({ctx} -> 'page' ->> 'path', {ctx} -> 'page' ->> 'url')",
        "referrer": f"({ctx} -> 'page' ->> 'referrer')",
    }


# An order's amount and currency, over the properties column ``props`` (a constant).
_AMOUNT = (
    "CASE WHEN jsonb_typeof({p}) = 'number' THEN CASE WHEN abs(({p})::numeric) < 1e15 "
    "THEN ({p})::numeric END WHEN jsonb_typeof({p}) = 'string' THEN CASE WHEN btrim({p} #>> "
    "'{{}}') ~ '^-?[0-9]{{1,15}}(\\.[0-9]{{1,6}})?$' THEN btrim({p} #>> '{{}}')::numeric END END"
)


def revenue_sql(props: str, source: str | None = None) -> str:
    """The order's revenue, NULL when it is not a number: the property its source maps
    (``revenue_property`` of ``source``, the alias of a joined integrations_source row; a
    column value used as a JSON key, never SQL text) when the source names one, else
    ``revenue``, else ``total``."""
    defaults = (
        f"coalesce({_AMOUNT.format(p=f'({props} -> {chr(39)}revenue{chr(39)})')}, "
        f"{_AMOUNT.format(p=f'({props} -> {chr(39)}total{chr(39)})')})"
    )
    if source is None:
        return defaults
    mapped = _AMOUNT.format(p=f"({props} -> {source}.revenue_property)")
    return f"CASE WHEN {source}.revenue_property <> '' THEN {mapped} ELSE {defaults} END"


def currency_sql(props: str, source: str | None = None) -> str:
    """The order's currency code: its ``currency``, else its source's (``source``: the
    alias of a joined integrations_source row), else ``%(default_currency)s``, which must
    be bound (default_currency())."""
    code = f"upper(btrim({props} ->> 'currency'))"
    fallback = "%(default_currency)s"
    if source is not None:
        fallback = f"coalesce(nullif({source}.currency, ''), {fallback})"
    return (
        f"CASE WHEN nullif(btrim({props} ->> 'currency'), '') IS NULL "
        f"THEN {fallback} WHEN {code} ~ '^[A-Z]{{3}}$' THEN {code} ELSE 'XXX' END"
    )


def default_currency() -> str:
    return getattr(settings, "CDP_DEFAULT_CURRENCY", "USD")


def _touch_json(prefix: str, alias: str) -> str:
    sql = channel_sql(f"{alias}.c")
    pairs = [f"'{prefix}_{field}', {sql[field]}" for field in TOUCH_FIELDS if field != "at"]
    pairs.append(
        f"'{prefix}_at', to_char({alias}.at AT TIME ZONE 'UTC', "
        '\'YYYY-MM-DD"T"HH24:MI:SS.US"Z"\')'
    )
    return f"jsonb_strip_nulls(jsonb_build_object({', '.join(pairs)}))"


_TOUCH = channel_sql("e.context")["candidate"] + " AND " + channel_sql("e.context")["touch"]
REFRESH = f"""
WITH ids AS (SELECT DISTINCT unnest(%(ids)s::bigint[]) AS id),
found AS (
    SELECT ids.id,
           CASE WHEN f.at IS NULL THEN '{{}}'::jsonb
           ELSE {_touch_json("first_touch", "f")} || {_touch_json("last_touch", "coalesce_l")}
           END AS touch
    FROM ids
    LEFT JOIN LATERAL (
        SELECT e."timestamp" AS at, e.context AS c FROM profiles_profileevent e
        -- a campaign or a page: a context holding only the backfill flag is no touch
        WHERE e.profile_id = ids.id AND (e.context ? 'campaign' OR e.context ? 'page')
        ORDER BY e."timestamp", e.event_id LIMIT 1
    ) f ON true
    LEFT JOIN LATERAL (
        SELECT e."timestamp" AS at, e.context AS c FROM profiles_profileevent e
        WHERE e.profile_id = ids.id AND {_TOUCH}
        ORDER BY e."timestamp" DESC, e.event_id DESC LIMIT 1
    ) l ON true
    CROSS JOIN LATERAL (
        SELECT coalesce(l.at, f.at) AS at, coalesce(l.c, f.c) AS c
    ) coalesce_l
)
UPDATE profiles_profile p SET computed = (p.computed - %(keys)s::text[]) || found.touch
FROM found
WHERE p.id = found.id AND p.computed IS DISTINCT FROM (p.computed - %(keys)s::text[]) || found.touch
RETURNING p.id
"""  # noqa: S608  (constant fragments only; the ids and keys are parameters)
WITH_CONTEXT = """
SELECT DISTINCT profile_id FROM profiles_profileevent
WHERE event_id = ANY(%s) AND context IS NOT NULL
"""


def refresh(*, profile_ids=(), event_ids=()) -> list[int]:
    """Recomputes the first and last touch of ``profile_ids`` and of the profiles the
    events ``event_ids`` (a batch's) carried context to; returns those whose changed."""
    ids = set(profile_ids)
    if event_ids:
        ids.update(pid for (pid,) in rows(WITH_CONTEXT, [list(event_ids)]))
    if not ids:
        return []
    return [pid for (pid,) in rows(REFRESH, {"ids": sorted(ids), "keys": KEYS})]


WITH_CONTEXT_AFTER = """
SELECT DISTINCT e.profile_id FROM profiles_profileevent e
JOIN profiles_profile p ON p.id = e.profile_id AND p.merged_into_id IS NULL
WHERE e.context IS NOT NULL AND e.profile_id > %s ORDER BY 1 LIMIT %s
"""


def backfill(*, chunk: int = 1000, on_chunk=None) -> tuple[int, int]:
    """Recomputes the touches of every active profile with context events, a chunk per
    transaction (for events kept before the touches were); returns (profiles seen,
    profiles changed). Safe to run again: values are recomputed, never accumulated."""
    seen = changed = after = 0
    while True:
        with transaction.atomic():
            ids = [pid for (pid,) in rows(WITH_CONTEXT_AFTER, [after, chunk])]
            if not ids:
                return seen, changed
            changed += len(refresh(profile_ids=ids))
        seen, after = seen + len(ids), ids[-1]
        if on_chunk:
            on_chunk(seen)
