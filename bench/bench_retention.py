"""Retention (issue 16): a run that drops a month of CDP_BENCH_RET_EVENTS (10,000,000) raw
events, next to a plain DELETE of the same rows in the same run (rolled back), and the
batched-delete rate of resolved events with their raw copies (CDP_BENCH_RET_RESOLVED,
1,000,000, of 1,000 profiles: past their rule by event time, received this month, as an
import of old orders would be), next to one plain DELETE of as many resolved rows.

Both sets are written with COPY: the raw month into a partition 36 months old (past the
default 25 months), one event in CDP_BENCH_RET_KEPT_EVERY (50) of it named for a rule that
keeps it 84 months (moved to DEFAULT before the drop), the resolved events and their raw
copies into this month's partition. The figures are the run's own step timings
(RetentionRun.seconds). Checked after: the month's partition is gone but for the kept
events, the expired resolved events and their raw copies are gone too, and this month's
partition still takes an insert.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction

from bench.common import Row, progress, rolled_back
from cdp_site.partitions import create, existing_partitions, lock_and_connect, month_start
from integrations import services as collect
from integrations.models import Event
from integrations.partitions import ensure_event_partitions
from profiles import defaults
from profiles.models import IdentifierKind, Identity, Profile, ProfileEvent
from profiles.retention import services

EVENTS = int(os.environ.get("CDP_BENCH_RET_EVENTS", "10000000"))
RESOLVED = int(os.environ.get("CDP_BENCH_RET_RESOLVED", "1000000"))
# One event in KEPT_EVERY of the old month is one a longer rule keeps (84 months): moved
# to DEFAULT before the month is dropped (0: none).
KEPT_EVERY = int(os.environ.get("CDP_BENCH_RET_KEPT_EVERY", "50"))
KEPT_NAME = "Contract Signed"
PROFILES = 1000
CHUNK = 100_000
RAW_COPY = (
    "COPY integrations_event (id, source_id, type, event, user_id, message_id, "
    '"timestamp", received_at, payload) FROM STDIN'
)
RESOLVED_COPY = (
    "COPY profiles_profileevent (event_id, received_at, profile_id, identity_id, source_id, "
    'type, name, "timestamp", properties) FROM STDIN'
)
PAYLOAD = (
    '{{"type": "track", "event": "Page Viewed", "userId": "u{u}", "properties": '
    '{{"path": "/products/{p}", "title": "Product {p}", "referrer": "https://example.org/"}}}}'
)


def run() -> list[Row]:
    now = datetime.now(UTC).replace(microsecond=0)
    source = collect.create_source(name="Retention bench", kind="server")
    old = month_start(now.date(), -36)
    month = _month(old)
    _raw_month(source.id, old)
    resolved_ids = _resolved(source.id, now)
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {month}")
        cursor.execute("VACUUM ANALYZE profiles_profileevent")

    delete_s = rolled_back(
        "DELETE FROM integrations_event WHERE received_at >= %s AND received_at < %s",
        [old, month_start(old.date(), 1)],
    )
    plain_resolved_s = rolled_back(
        "DELETE FROM profiles_profileevent WHERE event_id = ANY(%s)", [resolved_ids]
    )
    if KEPT_EVERY:
        services.create_policy(event_name=KEPT_NAME, keep_months=84)
    started = time.perf_counter()
    record = services.run(now=now)
    total_s = time.perf_counter() - started
    assert not record.errors, record.errors
    drop_s = record.seconds[f"partition:{month}"]
    batched_s = record.seconds["events:Order Completed"]
    print(f"  run: {record.removed}, {record.seconds}", flush=True)
    _check(month, source.id, now)
    rate = RESOLVED / batched_s
    return [
        Row(
            figure=f"Retention run drops a month of {EVENTS:,} raw events (DETACH, "
            f"{record.removed.get('raw_kept_in_default', 0):,} kept moved to DEFAULT, DROP)",
            value=drop_s,
            unit="s",
            baseline="DELETE of the same rows (rolled back)",
            baseline_value=delete_s,
            target="seconds",
        ),
        Row(
            figure=f"Batched delete, {RESOLVED:,} resolved events + raw copies "
            f"({rate:,.0f} events/s)",
            value=batched_s,
            unit="s",
            baseline="one DELETE of the resolved rows alone (rolled back)",
            baseline_value=plain_resolved_s,
        ),
        Row(
            figure="Whole retention run (every step)",
            value=total_s,
            unit="s",
            baseline="DELETE of the month (rolled back)",
            baseline_value=delete_s,
        ),
    ]


def _month(start: datetime) -> str:
    name = f"integrations_event_y{start.year:04d}m{start.month:02d}"
    with transaction.atomic():
        create(
            lock_and_connect(),
            name=name,
            start=start,
            end=month_start(start.date(), 1),
            parent="integrations_event",
            column="received_at",
        )
    ensure_event_partitions()
    return name


def _ids(n: int) -> int:
    """Reserves n event ids; returns the first."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('integrations_event_id_seq')")
        first = cursor.fetchone()[0]
        cursor.execute("SELECT setval('integrations_event_id_seq', %s)", [first + n])
    return first


def _raw_lines(first: int, n: int, source_id: int, start: datetime, name: str, span: int):
    for i in range(n):
        event = KEPT_NAME if KEPT_EVERY and i % KEPT_EVERY == 0 else name
        at = (start + timedelta(seconds=i * span // max(n, 1))).isoformat()
        u, p = i % 50_000, i % 997
        payload = PAYLOAD.format(u=u, p=p).replace("\\", "\\\\")
        head = f"{first + i}\t{source_id}\ttrack\t{event}\tu{u}\tm-{first + i}"
        yield f"{head}\t{at}\t{at}\t{payload}\n"


def _copy(sql: str, lines, total: int, label: str) -> None:
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        buffer, done = [], 0
        for line in lines:
            buffer.append(line)
            if len(buffer) == CHUNK:
                copy.write("".join(buffer))
                done += len(buffer)
                buffer = []
                progress(done, total, label)
        copy.write("".join(buffer))
        progress(total, total, label)


def _raw_month(source_id: int, start: datetime) -> None:
    """EVENTS raw page views received over 28 days of the old month."""
    first = _ids(EVENTS)
    lines = _raw_lines(first, EVENTS, source_id, start, "Page Viewed", 28 * 86400)
    with transaction.atomic():
        _copy(RAW_COPY, lines, EVENTS, "COPY old month")


def _resolved(source_id: int, now: datetime) -> list[int]:
    """RESOLVED orders of 30 months ago received a minute ago: raw rows and resolved rows."""
    defaults.ensure_installed()
    kind = IdentifierKind.objects.get(name="user_id")
    people = []
    for n in range(PROFILES):
        profile = Profile.objects.create(display_name=f"Bench {n}")
        people.append(
            Identity.objects.create(
                kind=kind, value=f"ret-{n}", profile=profile, first_seen_at=now, last_seen_at=now
            )
        )
    first = _ids(RESOLVED)
    when = now - timedelta(days=30 * 30)
    received = (now - timedelta(minutes=1)).isoformat()
    raw = (
        f"{first + i}\t{source_id}\ttrack\tOrder Completed\tret-{i % PROFILES}\to-{first + i}\t"
        f"{(when + timedelta(seconds=i)).isoformat()}\t{received}\t{{}}\n"
        for i in range(RESOLVED)
    )
    resolved = (
        f"{first + i}\t{received}\t{people[i % PROFILES].profile_id}\t{people[i % PROFILES].pk}\t"
        f"{source_id}\ttrack\tOrder Completed\t{(when + timedelta(seconds=i)).isoformat()}\t{{}}\n"
        for i in range(RESOLVED)
    )
    with transaction.atomic():
        _copy(RAW_COPY, raw, RESOLVED, "COPY raw copies")
        _copy(RESOLVED_COPY, resolved, RESOLVED, "COPY resolved")
    return list(range(first, first + RESOLVED))


def _check(month: str, source_id: int, now: datetime) -> None:
    assert month not in existing_partitions("integrations_event"), "the month is still there"
    assert not ProfileEvent.objects.filter(name="Order Completed").exists()
    assert not Event.objects.filter(event="Order Completed").exists()
    kept = Event.objects.filter(event=KEPT_NAME).count()
    assert kept == (-(-EVENTS // KEPT_EVERY) if KEPT_EVERY else 0), kept
    body = {"type": "track", "messageId": "after-retention", "userId": "x", "event": "New"}
    assert collect.ingest_messages(source_id=source_id, messages=[body]).stored == 1
