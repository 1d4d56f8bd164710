"""Reads of profiles for the dashboard (insights' home page): how many people, how many
of them identified, and the revenue of the order events. Each stays cheap at a million
profiles and ten million events: the table's estimate and a sample past 10,000 profiles,
an indexed range of one event name. Other apps may use every function here."""

from __future__ import annotations

from datetime import datetime

from django.db import connection

from cdp_site.counting import Count, count_rows

from . import attribution
from .models import Profile
from .selectors import active_profiles

SAMPLE = 5_000  # profiles read to estimate the share identified (about ±1.5 %), past CAP
# Identified: holds a verified identifier other than an anonymous id (a user id, an
# e-mail, a phone, ...), as profiles.pipeline decides who is a known customer. A sample
# of 100 percent reads every row, so the small table is counted exactly by the same query.
SPLIT = """
SELECT count(*), count(*) FILTER (WHERE EXISTS (
    SELECT 1 FROM profiles_identity i JOIN profiles_identifierkind k ON k.id = i.kind_id
    WHERE i.profile_id = p.id AND i.verified AND k.name <> 'anonymous_id'))
FROM profiles_profile p TABLESAMPLE SYSTEM (%(percent)s) WHERE p.merged_into_id IS NULL
"""
# Each order's amount and currency as the attribution report reads them (the property its
# source maps, else revenue, else total; its currency, else its source's, else the default):
# the tile and the report add up to the same figures.
REVENUE = f"""
SELECT (e."timestamp" AT TIME ZONE %(zone)s)::date,
       {attribution.currency_sql("e.properties", "s")},
       sum({attribution.revenue_sql("e.properties", "s")}), count(*)
FROM profiles_profileevent e
LEFT JOIN integrations_source s ON s.id = e.source_id
WHERE e.name = ANY(%(names)s) AND e."timestamp" >= %(start)s AND e."timestamp" <= %(end)s
GROUP BY 1, 2
"""  # noqa: S608  (constant fragments; the values are parameters)
ORDER_EVENTS = ["Order Completed"]


def profiles_count() -> Count:
    return count_rows(active_profiles(), table=Profile._meta.db_table)


def identified_split(total: Count) -> tuple[int, int, str] | None:
    """(identified, anonymous, how) of the ``total`` active profiles: counted exactly up to
    10,000 (how "exact"); past that the share identified in a sample of about SAMPLE
    profiles (a block sample of the table), times the total (how "sample"). None when
    the total is neither counted nor estimated (a table never analysed: its size, and
    so the sample's, is unknown)."""
    if total.how not in ("exact", "estimate"):
        return None
    percent, how = 100.0, "exact"
    if not total.exact:
        percent, how = min(100.0, 100.0 * SAMPLE / max(total.value, 1)), "sample"
    with connection.cursor() as cursor:
        cursor.execute(SPLIT, {"percent": percent})
        seen, identified = cursor.fetchone()
    if how == "exact":
        return identified, seen - identified, how
    share = identified / seen if seen else 0.0
    known = round(share * total.value)
    return known, total.value - known, how


def revenue_per_day(*, start: datetime, end: datetime, zone) -> list[tuple]:
    """[(local date, currency, revenue, orders)] of the order events (ORDER_EVENTS) timed
    from ``start`` to ``end``: amounts and currencies as profiles.attribution reads them,
    summed per currency, never converted."""
    params = {"zone": str(zone), "names": ORDER_EVENTS, "start": start, "end": end}
    params["default_currency"] = attribution.default_currency()
    with connection.cursor() as cursor:
        cursor.execute(REVENUE, params)
        return cursor.fetchall()
