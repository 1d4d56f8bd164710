"""Funnels: how many people did step 1, then step 2 within the window of their first step
1, and so on; the median time each step took; who dropped off where.

One statement of chained CTEs, a CTE per step: step k keeps the people of step k-1 who
did its event (after the previous step's, when ordered) within the window of their entry,
reading only their events through the (profile, name, timestamp) index. The SQL text is
built from the constants below and step numbers; events, properties and values are all
parameters."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from cdp_site.counting import time_limit
from insights.periods import Period

TIME_LIMIT_MS = 10_000
MIN_STEPS, MAX_STEPS = 2, 10

# A merged-away profile keeps no events (they follow its identities to the survivor), so
# the events alone say who is in a funnel.
FIRST = """s0 AS (
    SELECT e.profile_id, min(e."timestamp") AS t, min(e."timestamp") AS entered,
           NULL::timestamptz AS previous
    FROM profiles_profileevent e
    WHERE e.name = %(event0)s {where0}
      AND e."timestamp" >= %(start)s AND e."timestamp" < %(end)s
    GROUP BY e.profile_id
)"""
NEXT = """s{k} AS (
    SELECT s.profile_id, min(e."timestamp") AS t, s.entered, s.t AS previous
    FROM s{previous} s JOIN profiles_profileevent e ON e.profile_id = s.profile_id
    WHERE e.name = %(event{k})s {where}
      AND e."timestamp" {after} AND e."timestamp" <= s.entered + %(window)s::interval
    GROUP BY s.profile_id, s.entered, s.t
)"""
AFTER = {True: "> s.t", False: ">= s.entered"}  # ordered, or any order after entering
PROPERTY = "AND e.properties ->> %(property{k})s = %(value{k})s"
COUNT = """SELECT {k}, count(*), percentile_cont(0.5) WITHIN GROUP (
    ORDER BY extract(epoch FROM t - {since})) FROM s{k}"""
DROPPED = "SELECT profile_id FROM s{k} EXCEPT SELECT profile_id FROM s{next}"


@dataclass(frozen=True)
class Step:
    event: str
    property: str = ""
    value: str = ""

    def describe(self) -> str:
        return f"{self.event} ({self.property} = {self.value})" if self.property else self.event


@dataclass(frozen=True)
class FunnelResult:
    as_of: object
    counts: list[int]  # people at each step
    median_s: list[float | None]  # median seconds from the previous step (None for step 1)

    def conversion(self) -> list[float | None]:
        """Each step's share of the previous one (None for the first)."""
        return [None] + [
            (n / before if before else None)
            for before, n in zip(self.counts, self.counts[1:], strict=False)
        ]

    def overall(self) -> float | None:
        return self.counts[-1] / self.counts[0] if self.counts and self.counts[0] else None


def steps_of(funnel) -> list[Step]:
    """A saved funnel's steps (insights.models.Funnel.steps)."""
    return [Step(s["event"], s.get("property", ""), s.get("value", "")) for s in funnel.steps]


def _chain(steps: list[Step], *, ordered: bool) -> str:
    parts = [FIRST.format(where0=PROPERTY.format(k=0) if steps[0].property else "")]
    for k in range(1, len(steps)):
        where = PROPERTY.format(k=k) if steps[k].property else ""
        parts.append(NEXT.format(k=k, previous=k - 1, where=where, after=AFTER[ordered]))
    return "WITH " + ",\n".join(parts)


def _params(period: Period, steps: list[Step], window_days: int) -> dict:
    params = {"start": period.start, "end": period.end, "window": f"{window_days} days"}
    for k, step in enumerate(steps):
        params |= {f"event{k}": step.event, f"property{k}": step.property, f"value{k}": step.value}
    return params


def funnel(period: Period, steps: list[Step], *, window_days: int, ordered: bool):
    since = "previous" if ordered else "entered"
    counts = [COUNT.format(k=k, since=since) for k in range(len(steps))]
    sql = _chain(steps, ordered=ordered) + "\n" + "\nUNION ALL ".join(counts) + " ORDER BY 1"
    with time_limit(TIME_LIMIT_MS), connection.cursor() as cursor:
        cursor.execute(sql, _params(period, steps, window_days))
        found = cursor.fetchall()
    return FunnelResult(
        as_of=timezone.now(),
        counts=[n for _, n, _ in found],
        median_s=[None] + [median for _, _, median in found[1:]],
    )


def dropped_off(period: Period, steps: list[Step], *, window_days: int, ordered: bool, at: int):
    """The profile ids who did step ``at`` (0-based) but not the next one."""
    sql = _chain(steps[: at + 2], ordered=ordered) + "\n" + DROPPED.format(k=at, next=at + 1)
    with time_limit(TIME_LIMIT_MS), connection.cursor() as cursor:
        cursor.execute(sql, _params(period, steps[: at + 2], window_days))
        return sorted(row[0] for row in cursor.fetchall())
