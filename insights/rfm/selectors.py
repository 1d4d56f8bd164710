"""Reads of the RFM grid: the stored recency and frequency scores of every customer,
counted per cell with the monetary base (order revenue) summed, and the profiles in a
cell or an RFM segment. Everything reads ``profiles_profile.computed``, the values the
scores pass stored, so that a cell's number and its people are the same people."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from cdp_site.counting import time_limit
from insights import people
from profiles.computed import scores
from profiles.models import ComputedTrait

TIME_LIMIT_MS = 10_000
SCORES = (1, 2, 3, 4, 5)
GRID = """
SELECT (computed->>%(r)s)::int, (computed->>%(f)s)::int, count(*),
       coalesce(sum(CASE WHEN jsonb_typeof(computed->%(m)s) = 'number'
                         THEN (computed->>%(m)s)::numeric END), 0)
FROM profiles_profile
WHERE merged_into_id IS NULL AND jsonb_typeof(computed->%(r)s) = 'number'
  AND jsonb_typeof(computed->%(f)s) = 'number'
GROUP BY 1, 2
"""
IN_CELL = """
SELECT id FROM profiles_profile
WHERE merged_into_id IS NULL AND jsonb_typeof(computed->%(r)s) = 'number'
  AND jsonb_typeof(computed->%(f)s) = 'number'
  AND (computed->>%(r)s)::int = %(r_score)s AND (computed->>%(f)s)::int = %(f_score)s
"""
IN_SEGMENT = """
SELECT id FROM profiles_profile WHERE merged_into_id IS NULL AND computed->>%(s)s = %(segment)s
"""


@dataclass(frozen=True)
class Grid:
    as_of: object  # when the scores were computed; None: not known
    read_at: object
    customers: dict[tuple[int, int], int]  # (R, F) -> customers
    revenue: dict[tuple[int, int], float]  # (R, F) -> their order revenue
    monetary_key: str

    @property
    def total(self) -> int:
        return sum(self.customers.values())

    def segments(self) -> list[tuple[str, int, float]]:
        """(segment, customers, revenue) in the map's order, from best to worst."""
        found = {name: [0, 0.0] for name in scores.SEGMENT_ORDER}
        for cell, n in self.customers.items():
            found[scores.SEGMENTS[cell]][0] += n
            found[scores.SEGMENTS[cell]][1] += self.revenue[cell]
        return [(name, n, round(revenue, 2)) for name, (n, revenue) in found.items()]


def monetary_key() -> str:
    """The trait summed as revenue: what the monetary score ranks."""
    found = ComputedTrait.objects.filter(key=scores.MONETARY).values_list("score_of", flat=True)
    return next(iter(found), "") or "order_revenue"


def _keys() -> dict:
    return {"r": scores.RECENCY, "f": scores.FREQUENCY, "m": monetary_key()}


def grid() -> Grid:
    """Customers and revenue per (R, F) cell, every cell present (0 where empty)."""
    keys = _keys()
    with time_limit(TIME_LIMIT_MS), connection.cursor() as cursor:
        cursor.execute(GRID, keys)
        found = cursor.fetchall()
    customers = {(r, f): 0 for r in SCORES for f in SCORES}
    revenue = {(r, f): 0.0 for r in SCORES for f in SCORES}
    for r, f, n, money in found:
        if (r, f) in customers:  # a score outside 1-5 was written by hand: not a cell
            customers[(r, f)], revenue[(r, f)] = n, float(money)
    return Grid(scores.computed_at(), timezone.now(), customers, revenue, keys["m"])


@dataclass(frozen=True)
class Question:
    """Whose: the customers of one cell (``r`` and ``f``), or of one RFM segment."""

    r: int | None = None
    f: int | None = None
    segment: str = ""

    def describe(self) -> str:
        if self.segment:
            return f"RFM segment {self.segment}"
        return f"Recency {self.r}, frequency {self.f} ({scores.SEGMENTS[(self.r, self.f)]})"

    def sql(self) -> tuple[str, dict]:
        if self.segment:
            return IN_SEGMENT, {"s": scores.SEGMENT, "segment": self.segment}
        return IN_CELL, {**_keys(), "r_score": self.r, "f_score": self.f}


def profile_ids(question: Question, *, limit: int) -> list[int]:
    return people.profile_ids(question, limit=limit)


def listed(question: Question, *, limit: int) -> tuple[int, list[int]]:
    """How many people, and the first ``limit`` ids, under the reports' time limit."""
    return people.listed(question, limit=limit, time_limit_ms=TIME_LIMIT_MS)
