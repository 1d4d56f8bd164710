"""Every Celery task has a time limit; a real worker stops a task past its soft limit."""

import pytest
from django.conf import settings

from cdp_site.celery import app as celery_app
from cdp_site.dev import embedded
from cdp_site.redis_client import client as redis_client
from integrations import services
from integrations.models import EventInbox, Source, SourceMinuteStats
from integrations.services import TRIGGER_KEY
from tests.support.processes import run_django, start_celery_worker, stop_process, wait_until


def test_every_task_is_killed_before_the_broker_would_hand_it_to_another_worker():
    celery_app.loader.import_default_modules()
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    ours = [t for name, t in celery_app.tasks.items() if not name.startswith("celery.")]
    assert len(ours) > 10
    for task in ours:
        soft = task.soft_time_limit or settings.CELERY_TASK_SOFT_TIME_LIMIT
        hard = task.time_limit or settings.CELERY_TASK_TIME_LIMIT
        assert soft and hard and soft < hard < visibility, task.name


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_task_past_its_soft_time_limit_is_stopped_and_its_batch_rolled_back(tmp_path):
    source = services.create_source(name="Shop", kind=Source.Kind.WEBSITE)
    redis_client().set(TRIGGER_KEY, "1", ex=300)  # ingestion queues no task of its own
    services.ingest_messages(
        source_id=source.id,
        messages=[{"type": "track", "userId": f"u{i}", "event": "Viewed"} for i in range(3)],
    )
    assert EventInbox.objects.count() == 3
    port = embedded.any_free_port()
    broker = embedded.start_redis(data_dir=tmp_path / "redis", port=port, durable=False)
    log_path = tmp_path / "worker.log"
    limits = {"CDP_TASK_SOFT_TIME_LIMIT": "1", "CDP_TASK_TIME_LIMIT": "20"}
    # The batch sleeps 4 s inside its transaction (the worker-kill test's hook).
    with log_path.open("w") as log:
        worker = start_celery_worker(
            broker_url=broker.url,
            name="limits",
            extra_env={**limits, "CDP_TEST_PROCESSING_DELAY": "4"},
            log=log,
        )
    try:
        # Sent as beat sends it, by a process of the same installation: a task's message
        # carries the limits of the process that sends it.
        send = "from integrations.tasks import process_event_batch\nprocess_event_batch.delay()"
        run_django(send, redis_url=broker.url, var_dir=tmp_path, extra_env=limits)
        wait_until(
            lambda: "Soft time limit (1s) exceeded" in log_path.read_text(),
            timeout=60,
            what="the soft time limit to stop the task",
        )
    finally:
        stop_process(worker)
        broker.stop()
    assert EventInbox.objects.count() == 3  # rolled back: the events wait for the next run
    assert not SourceMinuteStats.objects.exists()
