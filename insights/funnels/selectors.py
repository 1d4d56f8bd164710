"""Funnels: how many people did step 1, then step 2 within the window of their first step
1, and so on; the median time each step took; the same broken down by a property of the
first step's event, a trait or the source, and per day / week / month of entering; who
dropped off where.

One statement of chained CTEs, a CTE per step: step k keeps the people of step k-1 who
did its event (after the previous step's, when ordered; after entering, in any order)
within the window of their entry, reading only their events through the (profile, name,
timestamp) index. A step is the segment grammar's event step, ``{"name": E, "where":
[PROP]}``, and its property filters compile through the segment compiler (every name and
value a bound parameter). The SQL text is built from the constants below and step
numbers; everything from a user is a parameter."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import F, Q
from django.utils import timezone

from cdp_site.counting import time_limit
from insights.periods import Period
from integrations.models import Source
from profiles.models import ProfileEvent
from segments import grammar
from segments.compiler import Compiler
from segments.explain import Describer

TIME_LIMIT_MS = 10_000
MIN_STEPS, MAX_STEPS = 2, 10
TOP = 8  # breakdown groups shown; the rest are "other"
OTHER, NONE = "(other)", "(none)"
GROUP_CHARS = 200
BREAKDOWNS = {"property": "a property of the first step", "trait": "a trait", "source": "source"}

EVENTS = "profiles_profileevent"  # unaliased: the compiled property filters name it
# A merged-away profile keeps no events (they follow its identities to the survivor), so
# the events alone say who is in a funnel.
FIRST = """s0 AS (
    SELECT {e}.profile_id, min({e}."timestamp") AS t, min({e}."timestamp") AS entered,
           NULL::timestamptz AS previous, {group} AS g
    FROM {e}
    WHERE {e}.name = %s {where}
      AND {e}."timestamp" >= %s AND {e}."timestamp" < %s
    GROUP BY {e}.profile_id
)"""
NEXT = """s{k} AS (
    SELECT s.profile_id, min({e}."timestamp") AS t, s.entered, s.t AS previous
    FROM s{previous} s JOIN {e} ON {e}.profile_id = s.profile_id
    WHERE {e}.name = %s {where}
      AND {e}."timestamp" {after} AND {e}."timestamp" <= s.entered + %s::interval
    GROUP BY s.profile_id, s.entered, s.t
)"""
AFTER = {True: "> s.t", False: ">= s.entered"}  # ordered, or any order after entering
# The group of each person who entered: a property or the source of their first step's
# first event, taken while their entering is found (the events of the period are read
# once; a lookup per person read 20 times the pages, measured on 1M events), or their
# profile's trait (a join: a subquery per person read 30 times the pages); cut to
# GROUP_CHARS. Later steps find it by joining their people to g0.
GROUP = {
    None: "NULL::text",
    "property": 'left((array_agg({e}.properties ->> %s ORDER BY {e}."timestamp"))[1], {n})',
    "source": '(array_agg({e}.source_id ORDER BY {e}."timestamp"))[1]::text',
    "trait": "NULL::text",
}
GROUP_OF = {
    "property": "g0 AS (SELECT profile_id, g FROM s0)",
    "source": "g0 AS (SELECT profile_id, g FROM s0)",
    "trait": """g0 AS (
    SELECT s0.profile_id, left(p.traits ->> %s, {n}) AS g
    FROM s0 JOIN profiles_profile p ON p.id = s0.profile_id
)""",
}
# The largest groups by people entering; a million distinct values still give TOP rows
# per step (the grouping is over the people who entered, once).
TOP_GROUPS = """top AS (
    SELECT g FROM g0 WHERE g IS NOT NULL GROUP BY g ORDER BY count(*) DESC, g LIMIT %s
)"""
TOOK = {True: "extract(epoch FROM t - previous)", False: "extract(epoch FROM t - entered)"}
# Each step's people and median, per bucket of entering and per group: a SELECT per step
# and part over its CTE (hash aggregates; only the median sorts, as it must), so the
# buckets and groups add no pass over materialised rows. Columns: step, part (0 all,
# 1 bucket, 2 group), bucket, other, group, people, median.
PARTS = {
    0: "SELECT {k}, 0, NULL::date, false, NULL::text, count(*), {median} FROM s{k}",
    1: "SELECT {k}, 1, date_trunc(%s, entered AT TIME ZONE %s)::date, false, NULL::text, "
    "count(*), NULL::float8 FROM s{k} GROUP BY 3",
    2: "SELECT {k}, 2, NULL::date, {other}, CASE WHEN {other} THEN NULL ELSE g0.g END, "
    "count(*), NULL::float8 FROM s{k} JOIN g0 USING (profile_id) GROUP BY 4, 5",
}
MEDIAN = "percentile_cont(0.5) WITHIN GROUP (ORDER BY {took})"
IS_OTHER = "(g0.g IS NOT NULL AND g0.g NOT IN (SELECT g FROM top))"
DROPPED = "SELECT profile_id FROM s{k} EXCEPT SELECT profile_id FROM s{next}"
KNOWN = f"SELECT EXISTS (SELECT 1 FROM {EVENTS} WHERE name = %s)"  # noqa: S608 (a constant)


@dataclass(frozen=True)
class Step:
    """An event with property filters as the segment grammar writes them
    (``{"property": "category", "op": "equals", "value": "Tents"}``)."""

    event: str
    where: tuple = ()

    def describe(self) -> str:
        return self.event + Describer().where(list(self.where))

    def as_json(self) -> dict:
        return {"name": self.event, **({"where": list(self.where)} if self.where else {})}

    @classmethod
    def of(cls, data: dict) -> Step:
        """From ``{"name", "where"}``, or the first version's ``{"event", "property",
        "value"}`` (funnels saved before steps had the segment grammar's filters)."""
        if "event" in data:
            prop = data.get("property") or ""
            where = ({"property": prop, "op": "equals", "value": data.get("value", "")},)
            return cls(data["event"], where if prop else ())
        return cls(data.get("name", ""), tuple(data.get("where") or ()))


@dataclass(frozen=True)
class Breakdown:
    by: str  # a key of BREAKDOWNS
    key: str = ""  # the property or trait

    def label(self) -> str:
        return {"property": f"property {self.key}", "trait": f"trait {self.key}"}.get(
            self.by, "source"
        )

    def as_json(self) -> dict:
        return {"by": self.by, "key": self.key}

    @classmethod
    def of(cls, stored: dict | None) -> Breakdown | None:
        """A saved funnel's breakdown; None for none, or for a shape this code no longer knows."""
        if not isinstance(stored, dict) or stored.get("by") not in BREAKDOWNS:
            return None
        return cls(stored["by"], str(stored.get("key") or ""))


@dataclass(frozen=True)
class FunnelResult:
    as_of: object
    counts: list[int]  # people at each step
    median_s: list[float | None]  # median seconds from the previous step (None for step 1)
    over_time: dict = field(default_factory=dict)  # bucket's first day -> people per step
    groups: dict = field(default_factory=dict)  # group -> people per step, largest first

    def conversion(self) -> list[float | None]:
        """Each step's share of the previous one (None for the first)."""
        return [None] + [
            (n / before if before else None)
            for before, n in zip(self.counts, self.counts[1:], strict=False)
        ]

    def overall(self) -> float | None:
        return self.counts[-1] / self.counts[0] if self.counts and self.counts[0] else None


def share(counts: list[int]) -> float | None:
    """The last step's share of the first (overall conversion) of a row of counts."""
    return counts[-1] / counts[0] if counts and counts[0] else None


def problems(steps: list[dict]) -> list[dict]:
    """What is wrong with steps given as ``{"name", "where"}``, each at its path
    (``steps[1].where[0].value``), checked by the segment grammar's own rules."""
    v = grammar.Validator()
    if not isinstance(steps, list) or not MIN_STEPS <= len(steps) <= MAX_STEPS:
        v.error("steps", f"A funnel has {MIN_STEPS} to {MAX_STEPS} steps.")
        return v.errors
    for k, step in enumerate(steps):
        if not isinstance(step, dict):
            v.error(f"steps[{k}]", "Expected a step: an event name and property filters.")
            continue
        for name in sorted(set(step) - {"name", "where"}):
            v.error(f"steps[{k}].{name}", f"“{name}” is not part of a step.")
        v.text(f"steps[{k}].name", step.get("name"), "an event name")
        v.where(f"steps[{k}].where", step.get("where"))
    return v.errors


def unknown_events(steps: list[Step]) -> list[str]:
    """The steps' event names never recorded (one index probe each): such a step counts
    zero people, which the page and the API say."""
    names = list(dict.fromkeys(step.event for step in steps))
    with time_limit(TIME_LIMIT_MS), connection.cursor() as cursor:
        found = []
        for name in names:
            cursor.execute(KNOWN, [name])
            if not cursor.fetchone()[0]:
                found.append(name)
    return found


def _where(step: Step) -> tuple[str, list]:
    """The step's property filters as SQL on the events table, through the segment
    compiler (property names and values are bound parameters)."""
    if not step.where:
        return "", []
    compiler, condition = Compiler(), Q()
    for item in step.where:
        condition &= compiler.compare(F("properties"), item["property"], item)
    query = ProfileEvent.objects.filter(condition).query
    sql, params = query.get_compiler(connection=connection).compile(query.where)
    return f"AND {sql}", list(params)


def _chain(steps: list[Step], *, ordered: bool, period: Period, window_days: int, by=None):
    """The steps' CTEs and their parameters, in order."""
    where, first = _where(steps[0])
    group = GROUP[by.by if by else None].format(e=EVENTS, n=GROUP_CHARS)
    sql = [FIRST.format(e=EVENTS, where=where, group=group)]
    params = [by.key] if by and by.by == "property" else []
    params += [steps[0].event, *first, period.start, period.end]
    for k in range(1, len(steps)):
        where, more = _where(steps[k])
        sql.append(NEXT.format(e=EVENTS, k=k, previous=k - 1, where=where, after=AFTER[ordered]))
        params += [steps[k].event, *more, f"{window_days} days"]
    if by:
        sql += [GROUP_OF[by.by].format(n=GROUP_CHARS), TOP_GROUPS]
        params += [by.key] if by.by == "trait" else []
    return sql, params


def funnel(
    period: Period, steps: list[Step], *, window_days: int, ordered: bool, by=None, top=TOP
) -> FunnelResult:
    ctes, params = _chain(steps, ordered=ordered, period=period, window_days=window_days, by=by)
    params += [top] if by else []
    selects = []
    for k in range(len(steps)):
        median = MEDIAN.format(took=TOOK[ordered]) if k else "NULL::float8"
        selects.append(PARTS[0].format(k=k, median=median))
        selects.append(PARTS[1].format(k=k))
        params += [period.granularity, str(period.zone)]
        if by:
            selects.append(PARTS[2].format(k=k, other=IS_OTHER))
    sql = "WITH " + ",\n".join(ctes) + "\n" + "\nUNION ALL ".join(selects)
    with time_limit(TIME_LIMIT_MS), connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    return _result(found, len(steps), by)


def _result(found, n_steps: int, by) -> FunnelResult:
    counts, medians = [0] * n_steps, [None] * n_steps
    over_time = defaultdict(lambda: [0] * n_steps)
    groups = defaultdict(lambda: [0] * n_steps)
    for k, part, bucket, other, grp, n, median in found:
        if part == 0:
            counts[k], medians[k] = n, median
        elif part == 1:
            over_time[bucket][k] = n
        else:
            groups[OTHER if other else (NONE if grp is None else grp)][k] = n
    names = _source_names(groups) if by and by.by == "source" else {}
    ordered_groups = sorted(groups, key=lambda g: (g == OTHER, -groups[g][0], g))
    return FunnelResult(
        as_of=timezone.now(),
        counts=counts,
        median_s=medians,
        over_time=dict(sorted(over_time.items())),
        groups={names.get(g, g): groups[g] for g in ordered_groups},
    )


def _source_names(groups) -> dict[str, str]:
    ids = [int(g) for g in groups if g.isdigit()]
    return {
        str(pk): name for pk, name in Source.objects.filter(pk__in=ids).values_list("pk", "name")
    }


def dropped_off(period: Period, steps: list[Step], *, window_days: int, ordered: bool, at: int):
    """The profile ids who did step ``at`` (0-based) but not the next one."""
    ctes, params = _chain(steps[: at + 2], ordered=ordered, period=period, window_days=window_days)
    sql = "WITH " + ",\n".join(ctes) + "\n" + DROPPED.format(k=at, next=at + 1)
    with time_limit(TIME_LIMIT_MS), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(row[0] for row in cursor.fetchall())


def steps_of(funnel_row) -> list[Step]:
    """A saved funnel's steps (insights.models.Funnel.steps)."""
    return [Step.of(s) for s in funnel_row.steps]
