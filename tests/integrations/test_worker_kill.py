"""A real Celery worker SIGKILLed in the middle of a batch loses and duplicates nothing."""

import os
import signal

import pytest
from django.conf import settings
from django.db import connection

from cdp_site.celery import app as celery_app
from cdp_site.redis_client import client as redis_client
from integrations import services
from integrations.models import EventInbox, SourceMinuteStats
from integrations.services import TRIGGER_KEY
from integrations.tasks import process_event_batch
from tests.support.processes import start_celery_worker, stop_process, wait_until

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

EVENTS = 40
BATCH = 10


def _start_worker(*, delay: float):
    return start_celery_worker(
        broker_url=settings.CELERY_BROKER_URL,
        name=f"kill-test-{os.getpid()}",
        extra_env={"CDP_TEST_PROCESSING_DELAY": str(delay)},
        pool="solo",
    )


def _wait(predicate, *, what: str, timeout: float = 60.0):
    wait_until(predicate, timeout=timeout, interval=0.1, what=what)


def _counted() -> int:
    return sum(SourceMinuteStats.objects.values_list("count", flat=True))


def _worker_inside_a_batch() -> bool:
    # The step sleeps inside the claiming transaction: its session is "idle in transaction".
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND state = 'idle in transaction' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0


def test_worker_killed_mid_batch_loses_nothing_and_counts_nothing_twice(source):
    redis_client().set(TRIGGER_KEY, "1", ex=300)  # keep ingestion from queueing its own task
    services.ingest_messages(
        source_id=source.id,
        messages=[
            {"type": "track", "userId": f"u{i}", "event": "Viewed", "messageId": f"k{i}"}
            for i in range(EVENTS)
        ],
    )
    # Other tests share this broker; a task they left queued (without our batch limit)
    # would drain every event in one batch and leave no "next batch" to kill.
    celery_app.control.purge()
    worker = _start_worker(delay=1.5)
    try:
        process_event_batch.delay(limit=BATCH)
        _wait(lambda: _counted() >= BATCH, what="the first batch to commit")
        _wait(_worker_inside_a_batch, what="the worker to be inside the next batch")
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        stop_process(worker)
    processed_before_kill = _counted()
    assert BATCH <= processed_before_kill < EVENTS
    # The killed batch rolled back: its rows are back in the inbox, not lost.
    _wait(lambda: not _worker_inside_a_batch(), what="PostgreSQL to drop the dead session")
    assert EventInbox.objects.count() == EVENTS - processed_before_kill

    worker = _start_worker(delay=0)
    try:
        process_event_batch.delay(limit=BATCH)  # what the beat safety net sends
        _wait(lambda: not EventInbox.objects.exists(), what="the inbox to drain")
    finally:
        stop_process(worker)
    assert _counted() == EVENTS
