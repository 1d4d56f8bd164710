"""A real Celery worker SIGKILLed in the middle of a sync: the run resumes at its cursor
and every record is stored exactly once."""

import os
import signal
import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from cdp_site.celery import app as celery_app
from demo.imitations import rest as rest_api
from integrations.connectors import services
from integrations.connectors.models import SyncRun
from integrations.models import Event
from tests.support.processes import start_celery_worker, stop_process, wait_until

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

RECORDS = 60
PAGE = 10
HOLD_AT = 4  # the request the imitation holds while the worker is killed


def _worker(name: str):
    return start_celery_worker(
        broker_url=settings.CELERY_BROKER_URL, name=f"{name}-{os.getpid()}", pool="solo"
    )


@pytest.fixture
def api():
    imitation = rest_api.start(
        records=[
            {
                "id": f"c{n}",
                "email": f"p{n}@example.com",
                "updated_at": f"2026-03-01T10:00:{n:02d}Z",
            }
            for n in range(RECORDS)
        ]
    )
    release = threading.Event()
    answer = imitation.handler

    def held(imitation_, request):
        if len(imitation_.requests) == HOLD_AT and not release.is_set():
            release.wait(30)
        return answer(imitation_, request)

    imitation.handler, imitation.state["release"] = held, release
    yield imitation
    release.set()
    imitation.stop()


def test_a_worker_killed_mid_sync_resumes_and_stores_each_record_once(api):
    connection = services.create_connection(
        name="Partner API",
        kind="rest",
        base_url=api.url,
        config=rest_api.connector_config(page_size=PAGE),
        schedule_minutes=0,
    )
    celery_app.control.purge()  # tasks other tests left queued
    worker = _worker("sync-kill")
    try:
        run = services.start_run(connection=connection)
        wait_until(lambda: len(api.requests) >= HOLD_AT, timeout=60, what="the 4th page request")
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        stop_process(worker)
    api.state["release"].set()
    run.refresh_from_db()
    assert run.status == SyncRun.Status.RUNNING and run.stored == (HOLD_AT - 1) * PAGE

    # Beat's sweep finds the run stalled and queues its slice again for a new worker.
    later = timezone.now() + services.STALLED_AFTER + timedelta(seconds=1)
    assert services.resume_stalled_runs(now=later) == 1
    worker = _worker("sync-resume")
    try:
        wait_until(
            lambda: SyncRun.objects.get(id=run.id).status == SyncRun.Status.SUCCEEDED,
            timeout=60,
            what="the run to finish",
        )
    finally:
        stop_process(worker)
    run.refresh_from_db()
    assert run.stored == RECORDS
    ids = list(
        Event.objects.filter(source_id=connection.source_id).values_list("user_id", flat=True)
    )
    assert sorted(ids) == sorted(f"c{n}" for n in range(RECORDS))
