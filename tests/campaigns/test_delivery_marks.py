"""Each e-mail of a reserved batch is committed as being sent before its data can go out
(campaigns/delivery.py). The mark is sent to the database first and the SMTP envelope
(MAIL FROM, RCPT TO) is exchanged while it commits; DATA waits for the commit. A delivery
another worker took meanwhile is not sent (its envelope is reset) and stays theirs."""

import threading
import time

import pytest
from django.db import transaction
from django.utils import timezone

from campaigns import delivery
from campaigns.models import Delivery
from profiles.models import Profile
from tests.campaigns.conftest import pending_mails
from tests.support.smtp import smtp_server
from tests.support.threads import in_background

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


class Envelopes:
    """aiosmtpd handler: the recipients whose envelope was accepted, and the messages."""

    def __init__(self):
        self.rcpts: list[str] = []
        self.messages: list[str] = []

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
        self.rcpts.append(address)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.extend(envelope.rcpt_tos)
        return "250 OK"


@pytest.fixture
def envelopes(smtp):
    handler = Envelopes()
    with smtp_server(handler) as port:
        smtp.config = {**smtp.config, "port": port}
        smtp.save(update_fields=["config"])
        yield handler


def test_the_data_waits_for_the_mark_to_commit(send, web, smtp, template, envelopes):
    pending_mails(send, web, smtp, template, ["ann"])
    now = timezone.now()
    batch, token = delivery.reserve(now=now, limit=10)
    locked, release = threading.Event(), threading.Event()

    def hold_the_row():  # another transaction holds the row: the mark cannot commit yet
        with transaction.atomic():
            Delivery.objects.select_for_update().get(pk=batch[0].pk)
            locked.set()
            release.wait(30)

    holder = in_background(hold_the_row)
    assert locked.wait(10)
    result = {}

    def send_batch():
        result["handled"] = delivery.deliver_batch(batch, token=token, now=now)

    sender = in_background(send_batch)
    deadline = time.monotonic() + 10
    while not envelopes.rcpts and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)
    # The envelope went out while the mark waited; the message did not.
    assert envelopes.rcpts == ["ann@example.org"] and envelopes.messages == []
    release.set()
    holder.join(10)
    sender.join(30)
    assert result["handled"] == 1
    assert envelopes.messages == ["ann@example.org"]
    row = Delivery.objects.get(pk=batch[0].pk)
    assert (row.status, row.attempts) == ("sent", 1)


def test_a_delivery_another_worker_took_is_not_sent(send, web, smtp, template, envelopes):
    pending_mails(send, web, smtp, template, ["ann", "bob"])
    now = timezone.now()
    batch, token = delivery.reserve(now=now, limit=10)
    taken, kept = batch
    theirs = token + delivery.RESERVATION  # as another worker's reservation would set it
    Delivery.objects.filter(pk=taken.pk).update(next_attempt_at=theirs)

    assert delivery.deliver_batch(batch, token=token, now=now) == 1

    row = Delivery.objects.get(pk=taken.pk)
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 0, theirs)
    assert Delivery.objects.get(pk=kept.pk).status == "sent"
    # Both envelopes were offered; only the kept one's message went out.
    kept_to = Profile.objects.get(pk=kept.profile_id).traits["email"]
    assert sorted(envelopes.rcpts) == ["ann@example.org", "bob@example.org"]
    assert envelopes.messages == [kept_to]
