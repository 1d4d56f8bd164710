"""A real Celery worker SIGKILLed after the SMTP server took an e-mail and before the
send was recorded: after a restart the e-mail is not sent again (at most once, see
campaigns/delivery.py), the other pending e-mail goes out, and the interrupted delivery
ends as failed with its reason once its lease runs out."""

import os
import signal
import time

import pytest
from django.conf import settings
from django.utils import timezone

from campaigns import delivery, runner
from campaigns.models import Delivery
from campaigns.tasks import retry_deliveries
from cdp_site.celery import app as celery_app
from tests.campaigns.conftest import pending_mails
from tests.support.processes import start_celery_worker, stop_process, wait_until

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def _worker(delay: float):
    return start_celery_worker(
        broker_url=settings.CELERY_BROKER_URL,
        name=f"send-kill-{os.getpid()}",
        extra_env={"CDP_TEST_SEND_DELAY": str(delay)},
        pool="solo",
    )


def test_email_arrives_exactly_once_when_the_worker_dies_mid_send(send, web, smtp, template):
    pending_mails(send, web, smtp, template, ["ann", "bob"])  # two deliveries wait
    celery_app.control.purge()  # tasks queued by the signals above are not this test's
    worker = _worker(delay=60)
    try:
        retry_deliveries.delay()
        wait_until(lambda: len(smtp.inbox.messages) == 1, timeout=60, what="the first e-mail")
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        stop_process(worker)
    interrupted = Delivery.objects.get(status="sending")
    assert interrupted.attempts == 1
    worker = _worker(delay=0)
    try:
        retry_deliveries.delay()
        wait_until(lambda: len(smtp.inbox.messages) == 2, timeout=60, what="the other e-mail")
        time.sleep(2)
    finally:
        stop_process(worker)
    assert sorted(m["To"] for m in smtp.inbox.messages) == ["ann@example.org", "bob@example.org"]
    # The interrupted one's lease runs out: failed with its reason, never sent again.
    runner.deliver_due(now=timezone.now() + delivery.LEASE + timezone.timedelta(minutes=1))
    interrupted.refresh_from_db()
    assert (interrupted.status, interrupted.reason) == ("failed", delivery.INTERRUPTED)
    assert len(smtp.inbox.messages) == 2
    assert Delivery.objects.filter(status="sent").count() == 1
