"""Insights: lifecycle bars of the last 12 weeks (new, returning, resurrecting, dormant),
active meaning any event and meaning an order, against counting the events the same
query has to read (the 12 weeks and the week before them) in the same run. Target:
p95 <= 2 s. Called from bench_insights.run() on its data."""

from __future__ import annotations

import os
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from bench.common import Row, latency_rows, timed_runs
from insights.lifecycle.selectors import lifecycle
from insights.periods import Period

REPEAT = int(os.environ.get("CDP_BENCH_INS_REPEAT", "7"))
EVENTS_SINCE = """
SELECT count(*) FROM profiles_profileevent WHERE {event} "timestamp" >= %(since)s
"""
ACTIVE_PER_WEEK = """
SELECT date_trunc('week', "timestamp" AT TIME ZONE %(zone)s)::date, count(DISTINCT profile_id)
FROM profiles_profileevent WHERE "timestamp" >= %(first)s AND "timestamp" < %(end)s GROUP BY 1
"""


def rows(label: str) -> list[Row]:
    today = timezone.localdate()
    zone = timezone.get_current_timezone()
    monday = today - timedelta(days=today.weekday())
    weeks = Period(monday - timedelta(weeks=11), today, "week", zone)  # 12 whole weeks
    _check(weeks)
    found = []
    for event, what in (("", "any event"), ("Order Completed", "an order")):
        found += latency_rows(
            f"lifecycle, {len(weeks.buckets())} weeks, active = {what}, {label}",
            [
                s * 1000
                for s in timed_runs(lambda e=event: lifecycle(weeks, event=e), repeat=REPEAT)
            ],
            tail=95,
            baseline="count of the same weeks' events (and the week before)",
            baseline_ms=[
                s * 1000 for s in timed_runs(lambda e=event: _count(weeks, e), repeat=REPEAT)
            ],
            target="<= 2000 ms",
        )
    return found


def _count(weeks: Period, event: str) -> None:
    since = weeks.start - timedelta(days=7)
    with connection.cursor() as cursor:
        cursor.execute(
            EVENTS_SINCE.format(event="name = %(name)s AND" if event else ""),
            {"since": since, "name": event},
        )
        cursor.fetchone()


def _check(weeks: Period) -> None:
    """The figure means nothing unless the bars are right: each week's new + returning +
    resurrecting is the week's distinct active people."""
    found = lifecycle(weeks)
    with connection.cursor() as cursor:
        params = {"zone": str(weeks.zone), "first": weeks.start, "end": weeks.end}
        cursor.execute(ACTIVE_PER_WEEK, params)
        active = dict(cursor.fetchall())
    ours = {day: new + ret + res for day, new, ret, res, *_ in found.rows()}
    assert ours == {day: active.get(day, 0) for day in found.buckets}, (ours, active)
    print(f"  lifecycle: {found.rows()[-2]}", flush=True)
