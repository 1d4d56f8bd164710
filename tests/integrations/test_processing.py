"""The inbox: every stored event is processed once, per-minute counts, partitions."""

import time
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from cdp_site.partitions import existing_partitions, month_start
from integrations import partitions, processing, services, tasks
from integrations.collect.messages import Rejection
from integrations.models import EventInbox, QuarantinedEvent, RejectedEvent, SourceMinuteStats
from tests.support.processes import wait_until

pytestmark = pytest.mark.django_db


def ingest(source, n, prefix="m"):
    return services.ingest_messages(
        source_id=source.id,
        messages=[
            {"type": "track", "userId": f"u{i}", "event": "Viewed", "messageId": f"{prefix}{i}"}
            for i in range(n)
        ],
    )


def test_processing_counts_each_event_once_per_minute(source):
    assert ingest(source, 25).stored == 25
    assert processing.process_inbox_batch(limit=10) == 10
    assert processing.process_inbox_batch(limit=10) == 10
    assert processing.process_inbox_batch(limit=10) == 5
    assert processing.process_inbox_batch(limit=10) == 0
    assert sum(SourceMinuteStats.objects.values_list("count", flat=True)) == 25
    assert not EventInbox.objects.exists()


def test_steps_can_read_the_full_events(source, settings):
    seen = []
    settings.COLLECT_PROCESSING_STEPS = ["tests.integrations.test_processing.remember"]
    remember.seen = seen
    ingest(source, 3)
    processing.process_inbox_batch()
    assert [e["event"] for e in seen] == ["Viewed"] * 3
    assert seen[0]["payload"]["messageId"] == "m0"


def remember(batch):
    remember.seen.extend(batch.events())


def test_a_step_failing_on_every_event_sets_each_aside_with_none_of_its_writes(source, settings):
    settings.COLLECT_PROCESSING_STEPS = [
        "integrations.processing.count_events_per_minute",
        "tests.integrations.test_processing.explode",
    ]
    ingest(source, 4)
    assert processing.process_inbox_batch() == 4
    assert not EventInbox.objects.exists()
    assert QuarantinedEvent.objects.count() == 4
    # The counting step ran before the failing one: its writes rolled back with it.
    assert not SourceMinuteStats.objects.exists()


def explode(batch):
    raise RuntimeError("step failed")


def test_ingest_reports_duplicates_and_rejections(source):
    ingest(source, 3)
    result = services.ingest_messages(
        source_id=source.id,
        messages=[
            {"type": "track", "userId": "u", "event": "x", "messageId": "m1"},
            {"type": "track", "userId": "u"},
        ],
    )
    assert (result.stored, result.duplicates, len(result.rejections)) == (0, 1, 1)


def test_partitions_are_created_ahead_and_stranded_rows_move_out_of_default(source):
    # A month far ahead has no partition: its rows land in DEFAULT.
    stranded = datetime(2031, 5, 17, tzinfo=UTC)
    services.ingest_messages(
        source_id=source.id,
        messages=[{"type": "track", "userId": "u", "event": "x"}],
        received_at=stranded,
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM integrations_event_default")
        assert cursor.fetchone()[0] == 1
    created = partitions.ensure_event_partitions(months_ahead=1, today=date(2031, 5, 2))
    assert created == ["integrations_event_y2031m05", "integrations_event_y2031m06"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM integrations_event_default")
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT count(*) FROM integrations_event_y2031m05")
        assert cursor.fetchone()[0] == 1
    assert partitions.ensure_event_partitions(months_ahead=1, today=date(2031, 5, 2)) == []


def test_this_month_and_the_next_two_exist_after_migrating(db):
    today = date.today()
    names = existing_partitions(partitions.PARENT)
    for offset in range(3):
        start = month_start(today, offset)
        assert partitions.partition_name(start) in names


def test_rejected_events_older_than_seven_days_are_purged(source):
    old = timezone.now() - timedelta(days=8)
    services.record_rejections(
        source_id=source.id, rejections=[Rejection("x", "old", {})], received_at=old
    )
    services.record_rejections(source_id=source.id, rejections=[Rejection("x", "new", {})])
    assert services.purge_rejected_events() == 1
    assert list(RejectedEvent.objects.values_list("reason", flat=True)) == ["new"]


def test_processing_is_queued_once_while_a_trigger_is_pending(source, monkeypatch):
    sent = []
    monkeypatch.setattr(tasks.process_event_batch, "delay", lambda *a, **k: sent.append(1))
    services.clear_processing_trigger()
    services.trigger_processing()
    services.trigger_processing()
    assert sent == [1]
    services.clear_processing_trigger()
    services.trigger_processing()
    assert sent == [1, 1]
    services.clear_processing_trigger()


def test_ingestion_queues_processing_after_the_commit_off_the_callers_path(
    source, monkeypatch, django_capture_on_commit_callbacks
):
    """The answer does not wait on Redis: the trigger thread queues one task for however
    many ingestions asked meanwhile."""
    sent = []
    monkeypatch.setattr(tasks.process_event_batch, "delay", lambda *a, **k: sent.append(1))
    services.clear_processing_trigger()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        ingest(source, 2)
    assert not sent  # nothing before the commit
    for _ in range(20):  # twenty requests' commits
        callbacks[0]()
    wait_until(lambda: sent, timeout=5, what="the trigger thread's task")
    time.sleep(0.2)  # had it queued more than once, it would have by now
    assert sent == [1]
    services.clear_processing_trigger()
