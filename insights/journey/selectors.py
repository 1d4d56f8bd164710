"""The journey view's numbers, read from profiles' stage history (profiles.models
StageChange) and current stages. Every query is grouped in PostgreSQL: a report reads
counts, never profiles.

How many people were in each stage at an instant is worked out backwards from now: the
current count per stage, less what moved in after that instant, plus what moved out.
That needs only the changes since the period's start (an index range on the history),
not each profile's latest change before it.
"""

from __future__ import annotations

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

CURRENT = """
SELECT stage, count(*) FROM profiles_profile
WHERE merged_into_id IS NULL AND stage = ANY(%(stages)s) GROUP BY stage
"""
# Changes since the period's start, per local bucket (NULL: after the period's end).
CHANGES = """
SELECT CASE WHEN sc.changed_at >= %(end)s THEN NULL
            ELSE date_trunc(%(granularity)s, sc.changed_at AT TIME ZONE %(zone)s)::date END,
       sc.from_stage, sc.to_stage, count(*)
FROM profiles_stagechange sc JOIN profiles_profile p ON p.id = sc.profile_id
WHERE p.merged_into_id IS NULL AND sc.to_stage = ANY(%(stages)s) AND sc.changed_at >= %(start)s
GROUP BY 1, 2, 3
"""
# Each profile that moved in the period: its stage before the first move, after the last.
MOVES = """
SELECT first_from, last_to, count(*) FROM (
    SELECT (array_agg(sc.from_stage ORDER BY sc.changed_at, sc.id))[1] AS first_from,
           (array_agg(sc.to_stage ORDER BY sc.changed_at DESC, sc.id DESC))[1] AS last_to
    FROM profiles_stagechange sc JOIN profiles_profile p ON p.id = sc.profile_id
    WHERE p.merged_into_id IS NULL AND sc.to_stage = ANY(%(stages)s)
      AND sc.changed_at >= %(start)s AND sc.changed_at < %(end)s
    GROUP BY sc.profile_id
) moved GROUP BY 1, 2
"""
# How long people stayed in a stage they left during the period (from their move into it).
TIME_IN_STAGE = """
SELECT from_stage, count(*),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds),
       percentile_cont(0.75) WITHIN GROUP (ORDER BY seconds)
FROM (
    SELECT sc.from_stage, sc.changed_at,
           extract(epoch FROM sc.changed_at - lag(sc.changed_at)
                   OVER (PARTITION BY sc.profile_id ORDER BY sc.changed_at, sc.id)) AS seconds
    FROM profiles_stagechange sc JOIN profiles_profile p ON p.id = sc.profile_id
    WHERE p.merged_into_id IS NULL AND sc.to_stage = ANY(%(stages)s)
      AND sc.changed_at < %(end)s
      AND sc.profile_id IN (
          SELECT profile_id FROM profiles_stagechange
          WHERE to_stage = ANY(%(stages)s) AND changed_at >= %(start)s AND changed_at < %(end)s
      )
) spells
WHERE changed_at >= %(start)s AND from_stage <> '' AND seconds IS NOT NULL
GROUP BY from_stage
"""


@dataclass(frozen=True)
class Journey:
    as_of: object  # the instant the numbers are current to
    buckets: list[date]
    people: dict[str, list[int]]  # stage -> people in it at the end of each bucket
    flows: list[tuple[str, str, int]]  # (stage at the start, at the end, people); "" new
    entered: dict[str, list[int]]  # stage -> moves into it in each bucket
    conversion: dict[str, list[float | None]]  # stage -> share moving on in each bucket
    time_in_stage: dict[str, dict]  # stage -> {"left": n, "median_s": .., "p75_s": ..}


def journey(period: Period) -> Journey:
    """Everything the journey view draws for the period, in four grouped queries under a
    time limit (cdp_site.counting.TimeLimitExceeded past it)."""
    params = params_of(period)
    as_of = timezone.now()
    with time_limit(TIME_LIMIT_MS):
        current = Counter(dict(_rows(CURRENT, params)))
        changes = _rows(CHANGES, params)
        moves = _rows(MOVES, params)
        spells = _rows(TIME_IN_STAGE, params)
    buckets = period.buckets()
    people = _people_per_bucket(current, changes, buckets)
    at_start = _people_at_start(current, changes)
    return Journey(
        as_of=as_of,
        buckets=buckets,
        people=people,
        flows=_flows(at_start, moves),
        entered=_entered(changes, buckets),
        conversion=_conversion(changes, buckets, at_start, people),
        time_in_stage={
            stage: {"left": left, "median_s": median, "p75_s": p75}
            for stage, left, median, p75 in spells
        },
    )


def params_of(period: Period) -> dict:
    return {
        "stages": [str(s) for s in STAGES],
        "start": period.start,
        "end": period.end,
        "granularity": period.granularity,
        "zone": str(period.zone),
    }


def people_now() -> Counter:
    """How many active profiles are in each stage now."""
    return Counter(dict(_rows(CURRENT, {"stages": [str(s) for s in STAGES]})))


def _rows(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _net(changes) -> dict:
    """Per bucket (None after the period), the change in each stage's headcount."""
    net = defaultdict(Counter)
    for bucket, from_stage, to_stage, n in changes:
        net[bucket][to_stage] += n
        if from_stage:
            net[bucket][from_stage] -= n
    return net


def _people_at_start(current: Counter, changes) -> Counter:
    at = Counter(current)
    for moved in _net(changes).values():
        at.subtract(moved)
    return at


def _people_per_bucket(current: Counter, changes, buckets: list[date]) -> dict[str, list[int]]:
    """Walks back from now: at the end of the last bucket, now less what happened after;
    at the end of each earlier one, that less the bucket after it."""
    net = _net(changes)
    at = Counter(current)
    at.subtract(net.get(None, Counter()))
    people = {stage: [0] * len(buckets) for stage in STAGES}
    for i in range(len(buckets) - 1, -1, -1):
        for stage in STAGES:
            people[stage][i] = at[stage]
        at.subtract(net.get(buckets[i], Counter()))
    return people


def _flows(at_start: Counter, moves) -> list[tuple[str, str, int]]:
    """Movers as they moved; everyone else stayed where the period found them."""
    left = Counter()
    flows = []
    for first_from, last_to, n in moves:
        flows.append((first_from, last_to, n))
        left[first_from] += n
    for stage in STAGES:
        stayed = at_start[stage] - left[stage]
        if stayed > 0:
            flows.append((stage, stage, stayed))
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


def bucket_end(day: date, granularity: str) -> date:
    """The last local day of the bucket starting on ``day``."""
    return date.fromordinal(next_bucket(day, granularity).toordinal() - 1)
