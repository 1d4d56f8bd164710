"""Real-time membership through the real path, for the segments benchmark.

A real Celery worker (tests/support/processes.start_celery_worker, prefork, one slot, as
the default deployment runs it) works on the bench database. This process sends one
``Product Viewed`` per chosen profile through ``integrations.services.ingest_messages``
at a steady pace; the worker processes the inbox (identity resolution finds the
profile by its user id, the event row and its ProfileChange are committed together),
the ``profile_changed`` signal queues the segments evaluator, which adds the Membership
row. Each chosen profile had two product views in the window and no order, so that
third view is what brings it in.

Measured here by polling both tables every few milliseconds: from the moment the
ProfileEvent row is visible (the processing commit) to the moment the Membership row is
visible (the evaluator's commit). Also printed: the server-side stamps
(ProfileChange.created_at → Membership.entered_at) and ingest → member.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from datetime import UTC, datetime

from django.db import connection

from bench.common import percentile, progress
from integrations import services as collect
from segments.models import Membership
from tests.support.processes import start_celery_worker, stop_process

POLL = 0.005


def start_worker():
    fd, log_name = tempfile.mkstemp(prefix="segbench-worker-", suffix=".log")
    with os.fdopen(fd, "w") as log:  # the worker keeps its own copy of the descriptor
        worker = start_celery_worker(
            broker_url=os.environ["REDIS_URL"], name=f"segbench-{uuid.uuid4().hex[:6]}", log=log
        )
    return worker, log_name


def measure(*, segment, source_id: int, users: list[tuple[int, str]], interval: float):
    """users: (profile_id, user id value). Returns per-event dicts of timings (seconds)."""
    worker, log_name = start_worker()
    try:
        _warm_up(segment, source_id, users[0], collect)
        results = _run(segment, source_id, users[1:], interval, collect, connection)
    finally:
        stop_process(worker)
    print(f"  worker log: {log_name}", flush=True)
    return results


def _send(collect, source_id, user):
    message = {
        "type": "track",
        "event": "Product Viewed",
        "userId": user,
        "messageId": f"segbench-{uuid.uuid4().hex}",
        "timestamp": datetime.now(UTC).isoformat(),
        "properties": {"product_id": "P-00001", "category": "Jackets", "price": 99.5},
    }
    result = collect.ingest_messages(source_id=source_id, messages=[message])
    assert result.stored == 1, result


def _warm_up(segment, source_id, user, collect):
    """The first event starts the worker's connections and caches; not counted."""
    _send(collect, source_id, user[1])
    deadline = time.monotonic() + 120
    while not Membership.objects.filter(segment=segment, profile_id=user[0]).exists():
        if time.monotonic() > deadline:
            raise RuntimeError("the worker never brought the warm-up profile in; see its log")
        time.sleep(0.05)


def _run(segment, source_id, users, interval, collect, connection):
    sent_at, event_seen, member_seen = {}, {}, {}
    since = datetime.now(UTC)
    queue = list(users)
    next_send = time.monotonic()
    deadline = None
    shown = -1
    with connection.cursor() as cursor:
        while True:
            now = time.monotonic()
            if queue and now >= next_send:
                pid, user = queue.pop(0)
                sent_at[pid] = time.monotonic()
                _send(collect, source_id, user)
                next_send += interval
                if not queue:
                    deadline = time.monotonic() + 60
            waiting_event = [p for p in sent_at if p not in event_seen]
            waiting_member = [p for p in sent_at if p not in member_seen]
            if waiting_event:
                cursor.execute(
                    "SELECT DISTINCT profile_id FROM profiles_profileevent WHERE profile_id = "
                    "ANY(%s) AND \"timestamp\" >= %s AND name = 'Product Viewed'",
                    [waiting_event, since],
                )
                seen = time.monotonic()
                for (pid,) in cursor.fetchall():
                    event_seen[pid] = seen
            if waiting_member:
                cursor.execute(
                    "SELECT profile_id FROM segments_membership WHERE segment_id = %s "
                    "AND profile_id = ANY(%s)",
                    [segment.pk, waiting_member],
                )
                seen = time.monotonic()
                for (pid,) in cursor.fetchall():
                    member_seen[pid] = seen
                    event_seen.setdefault(pid, seen)
            if len(member_seen) != shown:
                shown = len(member_seen)
                progress(shown, len(users), "members")
            if not queue and len(member_seen) == len(users):
                break
            if deadline and time.monotonic() > deadline:
                print(f"\n  {len(users) - len(member_seen)} profiles never entered", flush=True)
                break
            time.sleep(POLL)
        cursor.execute(
            """
            SELECT m.profile_id, EXTRACT(EPOCH FROM m.entered_at - c.created_at)
            FROM segments_membership m
            JOIN LATERAL (SELECT created_at FROM profiles_profilechange c
                          WHERE c.profile_id = m.profile_id AND c.created_at >= %s
                          ORDER BY c.id LIMIT 1) c ON true
            WHERE m.segment_id = %s AND m.profile_id = ANY(%s)
            """,
            [since, segment.pk, list(sent_at)],
        )
        stamped = dict(cursor.fetchall())
    return [
        {
            "event_to_member": member_seen[p] - event_seen[p],
            "ingest_to_member": member_seen[p] - sent_at[p],
            "ingest_to_event": event_seen[p] - sent_at[p],
            "server": float(stamped[p]) if p in stamped else None,
        }
        for p in sent_at
        if p in member_seen
    ]


def summary(results: list[dict]) -> str:
    def pct(key, q):
        values = [r[key] for r in results if r[key] is not None]
        return percentile(values, q) * 1000 if values else float("nan")

    return (
        f"event visible → member visible p50 {pct('event_to_member', 50):.0f} ms, "
        f"p95 {pct('event_to_member', 95):.0f} ms; ProfileChange.created_at → "
        f"Membership.entered_at p50 {pct('server', 50):.0f} ms, p95 {pct('server', 95):.0f} ms; "
        f"ingest → member p50 {pct('ingest_to_member', 50):.0f} ms, "
        f"p95 {pct('ingest_to_member', 95):.0f} ms"
    )
