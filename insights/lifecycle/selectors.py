"""Lifecycle: per bucket (day, week, month) of a period, the active people who are new
(active for the first time ever), returning (active in the bucket before too),
resurrecting (not in the bucket before, but at some time earlier) and the dormant ones
(active in the bucket before, not in this one). "Active" is having done any event, or a
chosen one.

One query under a time limit: the distinct (profile, bucket) pairs of the events from the
bucket before the first up to the period's end (a bucket found among the buckets' local
midnights by width_bucket, a quarter faster than date_trunc in the zone), read in profile
order from the (profile, timestamp) index (the (name, timestamp, profile) index for a
chosen event), each pair's previous and next active bucket by window functions. Whether
someone was active before that stretch (new or resurrecting) is asked only of a
profile's first pair in it: its first_seen_at for any event (a hash join, not a probe per
person), one index probe for a chosen event. A bit mask per profile aggregated by hash
measured no faster and was left out. Buckets are whole: a week runs from Monday even when
the period starts on a Wednesday, so "the bucket before" is always a whole one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.utils import timezone

from cdp_site.counting import time_limit
from insights.periods import Period, bucket_of

TIME_LIMIT_MS = 10_000
KINDS = ("new", "returning", "resurrecting", "dormant")

# A pair's bucket is its index among the bounds (local midnights: 1 is the bucket before
# the first, 2 the first): a binary search per event, no time zone arithmetic.
PAIRS = """
WITH active AS (
    SELECT DISTINCT e.profile_id, width_bucket(e."timestamp", %(bounds)s::timestamptz[]) AS b
    FROM profiles_profileevent e
    WHERE {event} e."timestamp" >= %(since)s AND e."timestamp" < %(end)s
), marked AS (
    SELECT profile_id, b, lag(b) OVER w AS before, lead(b) OVER w AS after
    FROM active WINDOW w AS (PARTITION BY profile_id ORDER BY b)
)
"""
# An active pair's kind, and whether a pair makes its profile dormant in the bucket after;
# the counts and the people behind them (insights/lifecycle/people.py) share both.
KIND = """CASE
    WHEN before = b - 1 THEN 'returning'
    WHEN before IS NOT NULL THEN 'resurrecting'
    WHEN {earlier} THEN 'resurrecting'
    ELSE 'new' END"""
GOES_DORMANT = "(after IS NULL OR after <> b + 1)"
LIFECYCLE = f"""{PAIRS}
SELECT b, {KIND}, count(*)
FROM marked m {{join}} WHERE b >= 2 GROUP BY 1, 2
UNION ALL
SELECT b + 1, 'dormant', count(*) FROM marked
WHERE {GOES_DORMANT} AND b + 1 <= %(last)s
GROUP BY 1
"""  # noqa: S608 (constants only)
# With a chosen event, the pairs and the probe for earlier activity look at it only.
ANY_EVENT = {
    "event": "",
    "join": "JOIN profiles_profile p ON p.id = m.profile_id",
    "earlier": "p.first_seen_at < %(since)s",
}
ONE_EVENT = {
    "event": "e.name = %(name)s AND",
    "join": "",
    "earlier": "EXISTS (SELECT 1 FROM profiles_profileevent x WHERE x.profile_id = m.profile_id "
    'AND x.name = %(name)s AND x."timestamp" < %(since)s)',
}


@dataclass(frozen=True)
class Lifecycle:
    as_of: datetime
    buckets: list[date]  # the first day of each bucket
    counts: dict[str, list[int]]  # kind -> people per bucket (dormant as a positive count)

    @property
    def empty(self) -> bool:
        return not any(any(row) for row in self.counts.values())

    def rows(self) -> list[tuple]:
        """(bucket, new, returning, resurrecting, dormant, active) per bucket."""
        columns = [self.counts[kind] for kind in KINDS]
        return [
            (day, *(c[i] for c in columns), sum(c[i] for c in columns[:3]))
            for i, day in enumerate(self.buckets)
        ]


def lifecycle(period: Period, *, event: str = "") -> Lifecycle:
    buckets = period.buckets()
    params = parameters(period, event=event)
    which = ONE_EVENT if event else ANY_EVENT
    as_of = timezone.now()
    with time_limit(TIME_LIMIT_MS), connection.cursor() as cursor:
        counts = _by_pairs(cursor, which, params, buckets)
    for i, day in enumerate(buckets):
        if midnight(day, period) > as_of:  # a bucket yet to come: no one is dormant yet
            for row in counts.values():
                row[i] = 0
    return Lifecycle(as_of, buckets, counts)


def parameters(period: Period, *, event: str) -> dict:
    """The statements' parameters: the bounds of the bucket before the first and of each
    bucket (local midnights), the period's end, the chosen event."""
    buckets = period.buckets()
    before = _previous_bucket(buckets[0], period.granularity)
    bounds = [midnight(day, period) for day in [before, *buckets]]
    return {
        "bounds": bounds,
        "since": bounds[0],
        "end": period.end,
        "last": len(bounds),  # the last bucket's index
        "name": event,
    }


def _by_pairs(cursor, which: dict, params: dict, buckets: list[date]) -> dict[str, list[int]]:
    cursor.execute(LIFECYCLE.format(**which), params)
    counts = {kind: [0] * len(buckets) for kind in KINDS}
    for b, kind, n in cursor.fetchall():
        counts[kind][b - 2] = n  # index 2 is the first bucket
    return counts


def midnight(day: date, period: Period) -> datetime:
    return datetime.combine(day, time.min, tzinfo=period.zone)


def _previous_bucket(day: date, granularity: str) -> date:
    """The first day of the bucket before the one starting on ``day``."""
    return bucket_of(day - timedelta(days=1), granularity)
