"""Cohort retention: people grouped by when they were first seen (or first did an event,
an order say), and the share of each cohort doing the returning event in each later
period. Two index-friendly reads joined in PostgreSQL: the cohort (profiles by their
first_seen_at, or the event's first time per profile from the (name, timestamp, profile)
index) and the returning event's (profile, period) pairs from the same index."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from django.db import connection
from django.utils import timezone

from cdp_site.counting import time_limit
from insights.periods import Period, next_bucket

TIME_LIMIT_MS = 10_000

FIRST_SEEN = """
SELECT p.id AS profile_id, date_trunc(%(granularity)s, p.first_seen_at AT TIME ZONE %(zone)s)::date
FROM profiles_profile p
WHERE p.merged_into_id IS NULL AND p.first_seen_at >= %(start)s AND p.first_seen_at < %(end)s
"""
FIRST_EVENT = """
SELECT e.profile_id, date_trunc(%(granularity)s, min(e."timestamp") AT TIME ZONE %(zone)s)::date
FROM profiles_profileevent e JOIN profiles_profile p ON p.id = e.profile_id
WHERE e.name = %(cohort_event)s AND p.merged_into_id IS NULL
GROUP BY e.profile_id HAVING min(e."timestamp") >= %(start)s AND min(e."timestamp") < %(end)s
"""
GRID = """
WITH cohort (profile_id, cohort) AS ({cohort}),
returned AS (
    SELECT DISTINCT e.profile_id,
           date_trunc(%(granularity)s, e."timestamp" AT TIME ZONE %(zone)s)::date AS period
    FROM profiles_profileevent e
    WHERE e.name = %(returning_event)s AND e."timestamp" >= %(start)s AND e."timestamp" < %(now)s
)
SELECT c.cohort, r.period, count(*) FROM cohort c JOIN returned r USING (profile_id)
WHERE r.period >= c.cohort GROUP BY 1, 2
UNION ALL
SELECT cohort, NULL, count(*) FROM cohort GROUP BY 1
"""
COHORTS = {"first_seen": FIRST_SEEN, "first_order": FIRST_EVENT}


@dataclass(frozen=True)
class Retention:
    as_of: object
    cohorts: list[date]  # the first day of each cohort's period
    sizes: list[int]
    returned: list[list[int | None]]  # [cohort][periods later]; None: not over yet

    def shares(self) -> list[list[float | None]]:
        """Each cell as a percentage of its cohort (one decimal); None where not over yet
        or the cohort is empty."""
        return [
            [None if n is None or not size else round(100 * n / size, 1) for n in row]
            for size, row in zip(self.sizes, self.returned, strict=True)
        ]


def retention(period: Period, *, cohort_by: str, cohort_event: str, returning_event: str):
    params = {
        "granularity": period.granularity,
        "zone": str(period.zone),
        "start": period.start,
        "end": period.end,
        "now": timezone.now(),
        "cohort_event": cohort_event,
        "returning_event": returning_event,
    }
    sql = GRID.format(cohort=COHORTS[cohort_by])  # constants only; every value a parameter
    with time_limit(TIME_LIMIT_MS), connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    cohorts = period.buckets()
    index = {day: i for i, day in enumerate(cohorts)}
    sizes, counts = [0] * len(cohorts), defaultdict(int)
    for cohort, returned_in, n in found:
        if returned_in is None:
            sizes[index[cohort]] = n
        else:
            counts[(cohort, returned_in)] = n
    later = _later_periods(period)
    grid = [
        [
            counts.get((cohort, later[i + k]), 0) if i + k < len(later) else None
            for k in range(len(cohorts))
        ]
        for i, cohort in enumerate(cohorts)
    ]
    return Retention(params["now"], cohorts, sizes, grid)


def _later_periods(period: Period) -> list[date]:
    """Every period start from the first cohort's up to now (one per cohort at least)."""
    days = period.buckets()
    today = period.today()
    while next_bucket(days[-1], period.granularity) <= today:
        days.append(next_bucket(days[-1], period.granularity))
    return days
