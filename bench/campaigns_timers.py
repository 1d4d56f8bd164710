"""The campaigns benchmark's third figure, timers (see bench/bench_campaigns.py): N
enrollments due at one instant, then a backlog of N overdue, moved by real workers."""

from __future__ import annotations

import os
import time
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from bench import campaigns_support as support
from bench.common import Row, percentile, progress
from campaigns import runner
from campaigns.models import Enrollment, StepLog
from campaigns.tasks import run_due_steps

TIMERS = int(os.environ.get("CDP_BENCH_CAMP_TIMERS", "100000"))
TIMER_WORKERS = int(os.environ.get("CDP_BENCH_CAMP_TIMER_WORKERS", "2"))
TIMER_LEAD = float(os.environ.get("CDP_BENCH_CAMP_TIMER_LEAD", "20"))
POLL = 0.01


INSERT_TIMERS = """
INSERT INTO campaigns_enrollment (campaign_id, profile_id, state, step_id, wake_at,
    waiting_for, variant, holdout, context, entered_at, exit_reason, attempts, last_error)
SELECT %(campaign)s, g, 'active', 'w1', %(wake)s, '', '', false,
       jsonb_build_object('_waiting', jsonb_build_object('step', 'w1', 'since', %(since)s,
                                                         'why', 'wait')),
       %(entered)s, '', 0, ''
FROM generate_series(1, %(n)s) g
"""
BASELINE_UPDATE = """
UPDATE campaigns_enrollment SET step_id = 'w2', wake_at = wake_at + interval '1 day',
    context = jsonb_build_object('_waiting', jsonb_build_object('step', 'w2',
                                 'since', now()::text, 'why', 'wait'))
WHERE campaign_id = %s AND step_id = 'w1'
"""


def run() -> list[Row]:
    steps = [
        {"id": "w1", "type": "wait", "minutes": 60, "next": "w2"},
        {"id": "w2", "type": "wait", "minutes": 1440},
    ]
    warm = support.start_campaign(
        {"name": "Timers warm-up", "kind": "event", "trigger_event": "Never W"}, steps
    )
    instant = support.start_campaign(
        {"name": "Timers", "kind": "event", "trigger_event": "Never T"}, steps
    )
    backlog = support.start_campaign(
        {"name": "Backlog", "kind": "event", "trigger_event": "Never B"}, steps
    )
    now = timezone.now()
    far = now + timedelta(days=1)
    with connection.cursor() as cursor:
        for campaign, wake, n in ((instant, far, TIMERS), (backlog, far, TIMERS), (warm, now, 50)):
            cursor.execute(
                INSERT_TIMERS,
                {
                    "campaign": campaign.pk,
                    "wake": wake,
                    "n": n,
                    "since": now.isoformat(),
                    "entered": now,
                },
            )
        cursor.execute("ANALYZE campaigns_enrollment")
    base = []
    for _ in range(3):
        with transaction.atomic(), connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute(BASELINE_UPDATE, [instant.pk])
            base.append(time.perf_counter() - started)
            assert cursor.rowcount == TIMERS
            transaction.set_rollback(True)
    base_seconds = min(base)

    workers, logs = support.start_workers(TIMER_WORKERS, "timerbench")
    try:
        run_due_steps.delay()
        support.wait_for(
            lambda: not Enrollment.objects.filter(campaign=warm, step_id="w1").exists(),
            timeout=120,
            what="the warm-up timers",
        )
        support.wait_for(lambda: support.workers_ready(len(workers)), timeout=120, what="workers")
        due_at = timezone.now() + timedelta(seconds=TIMER_LEAD)
        Enrollment.objects.filter(campaign=instant).update(wake_at=due_at)
        run_due_steps.delay()  # a tick before T (beat's): the runner plans the rest
        seen = _watch(instant, due_at.timestamp(), "timers fired")
        # A backlog: the same number overdue at once (no preparation possible).
        Enrollment.objects.filter(campaign=backlog).update(wake_at=timezone.now())
        kicked = time.time()
        run_due_steps.delay()
        backlog_seen = _watch(backlog, kicked, "backlog moved")
    finally:
        support.stop_workers(workers, logs)
    return _timer_rows(instant, backlog, due_at, seen, backlog_seen, kicked, base_seconds)


def _watch(campaign, since: float, label: str) -> list[tuple[float, int]]:
    """Polled every POLL seconds from ``since``: (wall time, how many still wait at w1)."""
    seen = []
    remaining, deadline = TIMERS, since + 600
    with connection.cursor() as cursor:
        while remaining and time.time() < deadline:
            cursor.execute(
                "SELECT count(*) FROM campaigns_enrollment WHERE campaign_id = %s "
                "AND step_id = 'w1'",
                [campaign.pk],
            )
            left = cursor.fetchone()[0]
            at = time.time()
            if at >= since:
                seen.append((at, left))
                if left != remaining or not left:
                    progress(TIMERS - left, TIMERS, label)
            remaining = left
            time.sleep(POLL)
    return seen


def _timer_rows(instant, backlog, due_at, seen, backlog_seen, kicked, base_seconds):
    for campaign in (instant, backlog):
        logs_written = StepLog.objects.filter(campaign=campaign).count()
        moved = Enrollment.objects.filter(campaign=campaign, step_id="w2").count()
        assert moved == TIMERS and logs_written == 2 * TIMERS, (moved, logs_written)
    due = due_at.timestamp()
    lags, previous = [], TIMERS
    for at, left in seen:
        lags.extend([at - due] * (previous - left))
        previous = left
    first = next(at for at, left in seen if left < TIMERS)
    p50, p95, worst = percentile(lags, 50), percentile(lags, 95), max(lags)
    as_of_t = StepLog.objects.filter(campaign=instant, step_id="w1", at=due_at).count()
    lead = runner.stage_lead(TIMERS).total_seconds() if TIMERS >= runner.STAGE_MIN else 0
    backlog_seconds = backlog_seen[-1][0] - kicked
    print(
        f"  timers: {TIMERS:,} due at one instant, {TIMER_WORKERS} workers: lag p50 "
        f"{p50:.2f} s, p95 {p95:.2f} s, max {worst:.2f} s; first moved after "
        f"{first - due:.2f} s; {as_of_t:,} logged as of T; preparation planned {lead:.1f} s "
        f"before T; a backlog of {TIMERS:,} overdue: all moved in {backlog_seconds:.2f} s "
        f"({TIMERS / backlog_seconds:,.0f}/s); raw UPDATE of the same rows "
        f"{base_seconds:.2f} s",
        flush=True,
    )
    what = f"{TIMERS:,} due at one instant, {TIMER_WORKERS} workers"
    base = "raw UPDATE … SET of the same rows"
    return [
        Row(
            f"Timers: due → step run, p50 ({what})", p50 * 1000, "ms", base, base_seconds * 1000, ""
        ),
        Row(
            f"Timers: due → step run, p95 ({what})", p95 * 1000, "ms", base, base_seconds * 1000, ""
        ),
        Row(
            f"Timers: due → all fired (max lag) ({what})",
            worst * 1000,
            "ms",
            base,
            base_seconds * 1000,
            "<= 1,000 ms",
        ),
        Row(
            f"Timers: a backlog of {TIMERS:,} overdue, all moved ({TIMER_WORKERS} workers)",
            backlog_seconds * 1000,
            "ms",
            base,
            base_seconds * 1000,
            "",
        ),
    ]
