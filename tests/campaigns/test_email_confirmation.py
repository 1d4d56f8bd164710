"""An e-mail address that only a client source stated (anyone holding the website's
public key could have typed it) is not written to until its owner confirms it: the
first message is skipped and a double opt-in with a signed link goes out instead."""

import re
import time

from django.core import signing

from campaigns.models import Delivery
from campaigns.step_types.actions import UNCONFIRMED
from integrations import services
from profiles import email_confirmation
from profiles.models import EmailConfirmation, Identity
from profiles.tasks import send_email_confirmation

from .conftest import at, campaign, drain, message, pump

ADDRESS = "walk-in@example.org"


def visitor_types_an_address(web):  # noqa: F811
    """An unsigned form on the website: a visitor, by their device, types an address."""
    unsigned = message(
        "identify",
        anonymousId="device-9",
        timestamp=at(-5).isoformat(),
        traits={"email": ADDRESS, "firstName": "Wendy", "marketingOptIn": True},
    )

    assert services.ingest_messages(source_id=web.id, messages=[unsigned]).stored == 1

    drain()
    return Identity.objects.get(value="device-9").profile


def checkout(web, minutes):  # noqa: F811
    body = message(
        anonymousId="device-9", event="Checkout Started", timestamp=at(minutes).isoformat()
    )
    services.ingest_messages(source_id=web.id, messages=[body])

    drain()


def test_an_unconfirmed_address_gets_a_double_opt_in_and_then_the_mail(
    client, send, web, smtp, template, django_capture_on_commit_callbacks
):
    steps = [
        {"id": "mail", "type": "send_email", "template_id": template.pk, "destination_id": smtp.pk}
    ]
    campaign(steps, trigger_event="Checkout Started", entry="every")
    profile = visitor_types_an_address(web)
    assert profile.traits["email"] == ADDRESS and not profile.email_confirmed

    with django_capture_on_commit_callbacks() as queued:
        checkout(web, 0)
        pump(0)
    skipped = Delivery.objects.get()
    assert (skipped.status, skipped.reason) == ("skipped", UNCONFIRMED)
    assert not smtp.inbox.messages  # nothing of the campaign went out
    assert EmailConfirmation.objects.get(address=ADDRESS).confirmed_at is None
    assert queued  # the confirmation e-mail is queued after the commit

    send_email_confirmation.apply(args=[ADDRESS])  # what the worker runs after the commit
    (asked,) = smtp.inbox.messages
    assert asked["To"] == ADDRESS
    link = re.search(r"https?://\S+/profiles/confirm-email/\S+/", asked.get_payload()).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    page = client.get(f"/{path}")
    assert page.status_code == 200 and ADDRESS in page.content.decode()
    profile.refresh_from_db()
    assert not profile.email_confirmed  # a GET (a mail scanner) confirms nothing
    assert client.post(f"/{path}").status_code == 200
    profile.refresh_from_db()
    assert profile.email_confirmed

    checkout(web, 10)
    pump(10)
    sent = Delivery.objects.filter(status="sent")
    assert sent.count() == 1
    assert [m["To"] for m in smtp.inbox.messages][-1] == ADDRESS


def test_the_confirmation_is_asked_for_once_a_week_at_most(db):
    assert email_confirmation.request(address=" Walk-In@Example.org ") is True
    assert email_confirmation.request(address=ADDRESS) is False  # same address, this week
    EmailConfirmation.objects.update(requested_at=at(-8 * 24 * 60))
    assert email_confirmation.request(address=ADDRESS) is True
    assert EmailConfirmation.objects.get().address == ADDRESS


def test_a_confirmed_address_is_never_asked_again(db):
    email_confirmation.request(address=ADDRESS)
    token = email_confirmation.link(ADDRESS).rstrip("/").rsplit("/", 1)[1]
    email_confirmation.confirm(token=token)
    EmailConfirmation.objects.update(requested_at=at(-30 * 24 * 60))
    assert email_confirmation.request(address=ADDRESS) is False


class SignedLongAgo(signing.TimestampSigner):
    def timestamp(self):
        days = email_confirmation.LINK_DAYS + 1
        return signing.b62_encode(int(time.time()) - days * 24 * 3600)


def test_an_old_link_has_expired(client, db):
    token = SignedLongAgo(salt=email_confirmation.SALT).sign_object(ADDRESS, compress=True)
    page = client.post(f"/profiles/confirm-email/{token}/")
    assert page.status_code == 400
    assert not EmailConfirmation.objects.exists()


def test_a_tampered_or_unknown_link_confirms_nothing(client, web):
    page = client.post("/profiles/confirm-email/not-a-real-token/")
    assert page.status_code == 400
    assert "not valid" in page.content.decode()
    assert not EmailConfirmation.objects.exists()
