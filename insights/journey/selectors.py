"""The journey view's numbers, read from the stage-flow rollup (insights.models.StageFlow:
moves between stages per hour, kept by PostgreSQL in the transaction that records them),
never from profiles one by one.

How many people were in each stage at an instant is the sum of every move before it
(each move adds one to its stage and takes one from the stage it left), so a period
costs two grouped reads of a table of at most one row per hour and kind of move.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date

from django.db import connection
from django.utils import timezone

from cdp_site.counting import time_limit
from insights.periods import Period, next_bucket
from profiles.models.stage import STAGE_ORDER, Stage

STAGES = [*STAGE_ORDER, Stage.LAPSED]
NEW = ""  # from_stage of a profile's first change
TIME_LIMIT_MS = 10_000
SPELL_BASE = 1.05  # insights_spell(): the rollup keeps time in a stage to within 5 %

BEFORE = """
SELECT from_stage, to_stage, sum(moves) FROM insights_stageflow
WHERE hour < %(start)s GROUP BY 1, 2
"""
CHANGES = """
SELECT date_trunc(%(granularity)s, hour AT TIME ZONE %(zone)s)::date, from_stage, to_stage,
       sum(moves)
FROM insights_stageflow WHERE hour >= %(start)s AND hour < %(end)s
GROUP BY 1, 2, 3 HAVING sum(moves) <> 0
"""
# Spells are kept per UTC day: the period's local days, widened to whole UTC days.
SPELLS = """
SELECT from_stage, spell, sum(moves) FROM insights_stagespell
WHERE day >= (%(start)s AT TIME ZONE 'UTC')::date AND day <= (%(end)s AT TIME ZONE 'UTC')::date
GROUP BY 1, 2 HAVING sum(moves) > 0
"""
EVERYTHING = "SELECT from_stage, to_stage, sum(moves) FROM insights_stageflow GROUP BY 1, 2"


@dataclass(frozen=True)
class Journey:
    as_of: object  # the instant the numbers are current to
    buckets: list[date]
    people: dict[str, list[int]]  # stage -> people in it at the end of each bucket
    flows: list[tuple[str, str, int]]  # (from, to, moves) in the period; from "" is new
    entered: dict[str, list[int]]  # stage -> moves into it in each bucket
    conversion: dict[str, list[float | None]]  # stage -> share moving on in each bucket
    time_in_stage: dict[str, dict]  # stage -> {"left": n, "median_s": .., "p75_s": ..}


def params_of(period: Period) -> dict:
    return {
        "start": period.start,
        "end": period.end,
        "granularity": period.granularity,
        "zone": str(period.zone),
    }


def journey(period: Period) -> Journey:
    """Everything the journey view draws for the period, in three grouped reads of the
    rollup under a time limit (cdp_site.counting.TimeLimitExceeded past it)."""
    params = params_of(period)
    as_of = timezone.now()
    with time_limit(TIME_LIMIT_MS):
        before = _rows(BEFORE, params)
        changes = _rows(CHANGES, params)
        spells = _rows(SPELLS, params)
    buckets = period.buckets()
    at_start = _net(before)
    people = _people_per_bucket(at_start, changes, buckets)
    return Journey(
        as_of=as_of,
        buckets=buckets,
        people=people,
        flows=_flows(changes),
        entered=_entered(changes, buckets),
        conversion=_conversion(changes, buckets, at_start, people),
        time_in_stage=_time_in_stage(spells),
    )


def people_now() -> Counter:
    """How many profiles are in each stage now (the sum of every move so far)."""
    return _net(_rows(EVERYTHING, {}))


def _rows(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _net(moves) -> Counter:
    """People per stage after these (from, to, n) moves, starting from nobody."""
    at = Counter()
    for from_stage, to_stage, n in moves:
        at[to_stage] += n
        if from_stage:
            at[from_stage] -= n
    return at


def _people_per_bucket(at_start: Counter, changes, buckets: list[date]) -> dict[str, list[int]]:
    per_bucket = defaultdict(list)
    for bucket, from_stage, to_stage, n in changes:
        per_bucket[bucket].append((from_stage, to_stage, n))
    at = Counter(at_start)
    people = {stage: [0] * len(buckets) for stage in STAGES}
    for i, bucket in enumerate(buckets):
        at.update(_net(per_bucket.get(bucket, [])))
        for stage in STAGES:
            people[stage][i] = at[stage]
    return people


def _flows(changes) -> list[tuple[str, str, int]]:
    moved = Counter()
    for _, from_stage, to_stage, n in changes:
        moved[(from_stage, to_stage)] += n
    flows = [(a, b, n) for (a, b), n in moved.items() if n > 0]
    return sorted(flows, key=lambda f: (_rank(f[0]), _rank(f[1])))


def _rank(stage: str) -> int:
    return -1 if stage == NEW else STAGES.index(stage)


def _entered(changes, buckets: list[date]) -> dict[str, list[int]]:
    index = {bucket: i for i, bucket in enumerate(buckets)}
    entered = {stage: [0] * len(buckets) for stage in STAGES}
    for bucket, _, to_stage, n in changes:
        if bucket in index:
            entered[to_stage][index[bucket]] += n
    return entered


def _conversion(changes, buckets, at_start: Counter, people) -> dict[str, list[float | None]]:
    """For each funnel stage but the last, the share of the people in it at a bucket's
    start who moved further along the funnel during the bucket (None: nobody was in it)."""
    index = {bucket: i for i, bucket in enumerate(buckets)}
    onward = {stage: [0] * len(buckets) for stage in STAGE_ORDER[:-1]}
    for bucket, from_stage, to_stage, n in changes:
        further = _rank(to_stage) > _rank(from_stage) and to_stage != Stage.LAPSED
        if bucket in index and from_stage in onward and further:
            onward[from_stage][index[bucket]] += n
    shares = {}
    for stage, moved in onward.items():
        before = [at_start[stage], *people[stage][:-1]]
        shares[stage] = [m / b if b > 0 else None for m, b in zip(moved, before, strict=True)]
    return shares


def _time_in_stage(spells) -> dict[str, dict]:
    """Median and 75th percentile of the time spent in each stage by the moves out of it
    in the period, from the rollup's histogram (log buckets of 5 %: each percentile is
    the middle of its bucket)."""
    histograms = defaultdict(list)
    for stage, spell, n in spells:
        histograms[stage].append((spell, n))
    found = {}
    for stage, histogram in histograms.items():
        histogram.sort()
        left = sum(n for _, n in histogram)
        found[stage] = {
            "left": left,
            "median_s": _percentile(histogram, left, 0.5),
            "p75_s": _percentile(histogram, left, 0.75),
        }
    return found


def _percentile(histogram: list[tuple[int, int]], total: int, share: float) -> float:
    seen = 0
    for spell, n in histogram:
        seen += n
        if seen >= share * total:
            return math.pow(SPELL_BASE, spell + 0.5)
    return math.pow(SPELL_BASE, histogram[-1][0] + 0.5)


def bucket_end(day: date, granularity: str) -> date:
    """The last local day of the bucket starting on ``day``."""
    return date.fromordinal(next_bucket(day, granularity).toordinal() - 1)
