"""Insights: the stage-history backfill and the journey view at the scale of a real company.

Data: the segments benchmark's generator (CDP_BENCH_INS_PROFILES profiles, 1,000,000, and
CDP_BENCH_INS_EVENTS events over 90 days, 10,000,000), then every profile's stage history
replayed from its events by ``backfill_stage_history`` (the figure of step 1), and the
stage-flow rollup its trigger appended to compacted, as the scheduled task does.

1. Backfill: profiles replayed per second, against a COPY of the same events in the same
   order (reading them is what the replay cannot do without).
2. Journey view numbers (``insights.journey.selectors.journey``) for the last 30 days per
   day and the last 90 days per week, and the whole page rendered (Django's test client,
   no network): p50 / p95 of CDP_BENCH_INS_REPEAT runs (7), against counting the active
   profiles per stage (one scan of the profiles table) in the same run. Target: p95
   <= 300 ms.
3. The people behind the biggest flow of the 30 days: count and first page.
4. A retention grid of the last 12 weeks (cohorts by first seen, returning to order),
   against counting those weeks' orders through the same index. Target: p95 <= 2 s.
5. Paths: three steps after a product view within 24 hours, over the last 30 days,
   against reading the views themselves. Target: p95 <= 2 s.
6. A 4-step ordered funnel over 30 days (view, add, checkout, order; 7-day window),
   against a hand-written query of the same funnel. Targets: p50 <= 2 s and <= 1.5 x.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta

from django.db import connection
from django.test import Client
from django.utils import timezone

from bench import (
    insights_attribution,
    insights_dashboard,
    insights_funnels,
    insights_lifecycle,
    insights_rfm,
    insights_throughput,
    segments_data,
)
from bench.common import Row, latency_rows, percentile, progress, timed_runs
from cdp_site import services as site_services
from insights import services as insights_services
from insights.funnels.selectors import Step, funnel
from insights.journey import people, selectors
from insights.paths.selectors import SAMPLE, paths
from insights.periods import Period
from insights.retention.selectors import retention
from profiles import services as profile_services
from profiles.models import StageChange

PROFILES = int(os.environ.get("CDP_BENCH_INS_PROFILES", "1000000"))
EVENTS = int(os.environ.get("CDP_BENCH_INS_EVENTS", "10000000"))
REPEAT = int(os.environ.get("CDP_BENCH_INS_REPEAT", "7"))
CHUNK = 2000
READ_ALL = """
COPY (SELECT profile_id, event_id, name, type, "timestamp" FROM profiles_profileevent
      ORDER BY profile_id, "timestamp", event_id) TO STDOUT
"""
PER_STAGE_BASELINE = {"baseline": "count of active profiles per stage", "target": "<= 300 ms"}
PER_STAGE = "SELECT stage, count(*) FROM profiles_profile WHERE merged_into_id IS NULL GROUP BY 1"


def run() -> list[Row]:
    """Every section, or those CDP_BENCH_INS_ONLY names (comma-separated, e.g.
    "attribution,throughput"): on the same data, without the stage-history backfill
    unless "backfill" is named."""
    segments_data.load(profiles=PROFILES, events=EVENTS)
    label = f"{PROFILES:,} profiles, {EVENTS:,} events"
    only = {s for s in os.environ.get("CDP_BENCH_INS_ONLY", "").split(",") if s}
    rows = []
    for name, section in SECTIONS.items():
        if not only or name in only:
            rows += section(label)
    return rows


def _backfill(label: str) -> list[Row]:
    started = time.perf_counter()
    with connection.cursor() as cursor, cursor.cursor.copy(READ_ALL) as copy:
        read = sum(1 for _ in copy)  # PostgreSQL sends each row of a COPY as one message
    read_s = time.perf_counter() - started
    started = time.perf_counter()
    done = profile_services.backfill_stage_history(
        chunk=CHUNK, on_chunk=lambda n: progress(n, PROFILES, "backfill")
    )
    backfill_s = time.perf_counter() - started
    summed, kept = insights_services.compact_stage_flows()  # as the scheduled task would
    print(f"  rollup compacted: {summed:,} rows into {kept:,}", flush=True)
    changes = StageChange.objects.count()
    print(f"  {read:,} events read; {done:,} profiles replayed, {changes:,} changes", flush=True)
    return [
        Row(
            figure=f"Stage history backfill, {label}",
            value=backfill_s,
            unit="s",
            baseline="COPY of the same events in the same order",
            baseline_value=read_s,
        ),
        Row(
            figure=f"Stage history backfill rate, {label}",
            value=done / backfill_s,
            unit="profiles/s",
            baseline="profiles whose events are read per s",
            baseline_value=done / read_s,
            show_ratio=False,
        ),
    ]


def _timed(fn) -> list[float]:
    return [seconds * 1000 for seconds in timed_runs(fn, repeat=REPEAT)]


def _per_stage() -> None:
    with connection.cursor() as cursor:
        cursor.execute(PER_STAGE)
        cursor.fetchall()


def _journey(label: str) -> list[Row]:
    today = timezone.localdate()
    zone = timezone.get_current_timezone()
    month = Period(today - timedelta(days=29), today, "day", zone)
    quarter = Period(today - timedelta(days=89), today, "week", zone)
    baseline = _timed(_per_stage)
    _print_query_times(quarter)
    client = Client(HTTP_HOST="localhost")
    client.force_login(
        site_services.create_user(email="bench-insights@example.org", role="Marketer").user
    )
    page = f"/insights/journey/?start={quarter.first_day}&end={today}&granularity=week"
    assert client.get(page).status_code == 200
    timings = {
        "journey numbers, 30 days per day": _timed(lambda: selectors.journey(month)),
        "journey numbers, 90 days per week": _timed(lambda: selectors.journey(quarter)),
        "journey page (HTML), 90 days per week": _timed(lambda: client.get(page)),
    }
    rows = []
    for what, ms in timings.items():
        rows += latency_rows(
            f"{what}, {label}", ms, tail=95, **PER_STAGE_BASELINE, baseline_ms=baseline
        )
    biggest = max((f for f in selectors.journey(month).flows if f[0] != f[1]), key=lambda f: f[2])
    period = {"start": month.first_day, "end": today, "granularity": "day"}
    form = people.PeopleForm(
        {**period, "kind": "flow", "stage": biggest[0], "to_stage": biggest[1]}
    )
    assert form.is_valid(), form.errors
    question = form.question()
    listed = _timed(lambda: (people.count(question), people.profile_ids(question, limit=100)))
    rows += latency_rows(
        f"people behind a flow ({biggest[2]:,}: count + first 100), {label}",
        listed,
        tail=95,
        baseline="count of active profiles per stage",
        baseline_ms=baseline,
        target="",
    )
    return rows


def _print_query_times(period: Period) -> None:
    """Where the journey's time goes: p50 of each of its queries, printed (no row)."""
    params = selectors.params_of(period)
    for name in ("BEFORE", "CHANGES", "SPELLS"):
        sql = getattr(selectors, name)

        def query(sql=sql):
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                cursor.fetchall()

        print(f"  {name}: p50 {percentile(_timed(query), 50):,.1f} ms", flush=True)


ORDERS_SINCE = """
SELECT count(*) FROM profiles_profileevent WHERE name = 'Order Completed' AND "timestamp" >= %s
"""


def _retention(label: str) -> list[Row]:
    """A 12 x 12 weekly grid (cohorts by first seen, coming back to order), against
    counting the orders of the same weeks through the same index."""
    today = timezone.localdate()
    zone = timezone.get_current_timezone()
    weeks = Period(today - timedelta(weeks=12) + timedelta(days=1), today, "week", zone)

    def count_orders():
        with connection.cursor() as cursor:
            cursor.execute(ORDERS_SINCE, [weeks.start])
            cursor.fetchone()

    grid = _timed(
        lambda: retention(
            weeks, cohort_by="first_seen", cohort_event="", returning_event="Order Completed"
        )
    )
    return latency_rows(
        f"retention grid, {len(weeks.buckets())} weekly cohorts, {label}",
        grid,
        tail=95,
        baseline="count of the same weeks' orders",
        baseline_ms=_timed(count_orders),
        target="<= 2000 ms",
    )


def _paths(label: str) -> list[Row]:
    """Three steps after a product view, within 24 hours, over the last 30 days (the most
    recent 20,000 views), against reading those views alone through the same index."""
    today = timezone.localdate()
    month = Period(today - timedelta(days=29), today, "day", timezone.get_current_timezone())
    question = {"event": "Product Viewed", "direction": "next", "steps": 3, "hours": 24, "top": 8}

    def read_views():
        with connection.cursor() as cursor:
            cursor.execute(VIEWS, [month.start, SAMPLE])
            cursor.fetchall()

    return latency_rows(
        f"paths, 3 steps after Product Viewed (sample {SAMPLE:,}), {label}",
        _timed(lambda: paths(month, **question)),
        tail=95,
        baseline="reading the same views",
        baseline_ms=_timed(read_views),
        target="<= 2000 ms",
    )


VIEWS = """
SELECT event_id, profile_id, "timestamp" FROM profiles_profileevent
WHERE name = 'Product Viewed' AND "timestamp" >= %s ORDER BY "timestamp" DESC LIMIT %s
"""


# The same funnel as a DBA would write it: each step's first time after the step before.
HAND_FUNNEL = """
WITH v AS (
    SELECT profile_id, min("timestamp") AS t, min("timestamp") AS entered
    FROM profiles_profileevent
    WHERE name = 'Product Viewed' AND "timestamp" >= %(start)s AND "timestamp" < %(end)s
    GROUP BY profile_id
), a AS (
    SELECT v.profile_id, min(e."timestamp") AS t, v.entered FROM v
    JOIN profiles_profileevent e ON e.profile_id = v.profile_id AND e.name = 'Product Added'
     AND e."timestamp" > v.t AND e."timestamp" <= v.entered + interval '7 days'
    GROUP BY v.profile_id, v.entered
), c AS (
    SELECT a.profile_id, min(e."timestamp") AS t, a.entered FROM a
    JOIN profiles_profileevent e ON e.profile_id = a.profile_id AND e.name = 'Checkout Started'
     AND e."timestamp" > a.t AND e."timestamp" <= a.entered + interval '7 days'
    GROUP BY a.profile_id, a.entered
), o AS (
    SELECT c.profile_id FROM c
    JOIN profiles_profileevent e ON e.profile_id = c.profile_id AND e.name = 'Order Completed'
     AND e."timestamp" > c.t AND e."timestamp" <= c.entered + interval '7 days'
    GROUP BY c.profile_id
)
SELECT (SELECT count(*) FROM v), (SELECT count(*) FROM a), (SELECT count(*) FROM c),
       (SELECT count(*) FROM o)
"""


def _funnel(label: str) -> list[Row]:
    today = timezone.localdate()
    month = Period(today - timedelta(days=29), today, "day", timezone.get_current_timezone())
    steps = [Step(name) for name in FUNNEL_STEPS]

    def hand():
        with connection.cursor() as cursor:
            cursor.execute(HAND_FUNNEL, {"start": month.start, "end": month.end})
            return list(cursor.fetchone())

    ours = funnel(month, steps, window_days=7, ordered=True).counts
    assert ours == hand(), (ours, hand())  # the same people, or the figure means nothing
    print(f"  funnel: {ours}", flush=True)
    return latency_rows(
        f"funnel, 4 steps over 30 days, {label}",
        _timed(lambda: funnel(month, steps, window_days=7, ordered=True)),
        tail=95,
        baseline="the same funnel hand-written",
        baseline_ms=_timed(hand),
        target="p50 <= 2000 ms, <= 1.5 x",
    )


FUNNEL_STEPS = ["Product Viewed", "Product Added", "Checkout Started", "Order Completed"]


SECTIONS = {
    "backfill": _backfill,
    "journey": _journey,
    "retention": _retention,
    "paths": _paths,
    "funnel": _funnel,
    "funnels": insights_funnels.rows,
    "dashboard": insights_dashboard.rows,
    "attribution": insights_attribution.rows,
    "rfm": insights_rfm.rows,
    "throughput": insights_throughput.rows,
    "lifecycle": insights_lifecycle.rows,
}
