"""E-mail beyond sending: transactional messages (no marketing consent, never to a
segment), sending at the recipient's local time, and bounces and complaints (the SMTP
destination's signed webhook and its bounce folder of RFC 3464 reports) marking an
address undeliverable, against a real SMTP server (aiosmtpd)."""

import json
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from campaigns import bounces, runner, services, templating, triggers
from campaigns.models import Campaign, Delivery, Enrollment, MessageTemplate, Undeliverable
from cdp_site.permissions import MARKETER
from integrations.destinations import adapters
from integrations.destinations import services as destinations
from segments import services as segments
from tests.campaigns.conftest import at, campaign, person, pump, track
from tests.support.segment_rules import rule

pytestmark = pytest.mark.django_db
SECRET = "events-secret-0042"
GOLD = {"type": "trait", "key": "tier", "op": "equals", "value": "gold"}


@pytest.fixture
def receipt(db):
    return templating.save_template(
        name="Order confirmation",
        subject="Your order {{ event.order_id }}",
        body_html="<p>Thanks for order {{ event.order_id }}</p>",
        transactional=True,
    )


def mailer(smtp, template, event="Order Completed", **fields):
    step = {"id": "mail", "type": "send_email", "template_id": template.pk}
    return campaign([{**step, "destination_id": smtp.pk}], trigger_event=event, **fields)


def test_a_transactional_message_goes_without_marketing_consent_or_unsubscribe_link(
    send, web, smtp, receipt, template
):
    mailer(smtp, receipt)
    mailer(smtp, template)  # a marketing message on the same trigger
    person(send, web, "ann", consent=False)
    track(send, web, "ann", "Order Completed", 0, order_id="A-1")
    pump(0)

    outcomes = sorted(Delivery.objects.values_list("template__name", "status", "reason"))
    assert outcomes == [
        ("Cart", "skipped", "no consent for e-mail marketing"),
        ("Order confirmation", "sent", ""),
    ]
    assert not Delivery.objects.get(status="sent").counts_toward_cap
    (mail,) = smtp.inbox.messages
    assert mail["Subject"] == "Your order A-1"
    assert mail["List-Unsubscribe"] is None
    assert "/t/u/" not in mail.get_payload()[0].get_payload(decode=True).decode()


def test_a_transactional_message_is_refused_in_a_broadcast_at_its_field(smtp, receipt):
    gold = segments.create_segment(name="gold", rule=rule(GOLD))
    step = {"id": "mail", "type": "send_email", "template_id": receipt.pk}
    with pytest.raises(services.CampaignError) as refused:
        services.create_campaign(
            name="News",
            kind=Campaign.Kind.BROADCAST,
            segment=gold,
            steps=[{**step, "destination_id": smtp.pk}],
        )
    (error,) = refused.value.errors
    assert error["field"] == "steps[0].template_id"
    assert "“Order confirmation” is transactional" in error["message"]
    assert "a broadcast or a segment's campaign cannot send it" in error["message"]
    assert not Campaign.objects.exists()


def test_the_api_refuses_a_transactional_message_in_a_segment_campaign(client_as, smtp, receipt):
    gold = segments.create_segment(name="gold", rule=rule(GOLD))
    body = {
        "name": "Welcome gold",
        "kind": "segment_entered",
        "segment": gold.pk,
        "steps": [
            {"id": "m", "type": "send_email", "template_id": receipt.pk, "destination_id": smtp.pk}
        ],
    }
    response = client_as(MARKETER).post("/api/v1/campaigns/", body, content_type="application/json")
    assert response.status_code == 400
    assert "steps[0].template_id" in response.json()["error"]["fields"]


def test_a_message_a_broadcast_sends_cannot_become_transactional(smtp, template):
    gold = segments.create_segment(name="gold", rule=rule(GOLD))
    step = {"id": "mail", "type": "send_email", "template_id": template.pk}
    campaign(
        [{**step, "destination_id": smtp.pk}],
        kind=Campaign.Kind.BROADCAST,
        segment=gold,
        start=False,
    )
    with pytest.raises(Exception) as refused:
        templating.save_template(
            template=template,
            name=template.name,
            subject=template.subject,
            body_html=template.body_html,
            transactional=True,
        )
    assert "transactional" in refused.value.message_dict
    template.refresh_from_db()
    assert not template.transactional


def test_a_wait_until_local_time_wakes_each_person_at_their_own_nine(send, web, smtp, template):
    steps = [
        {"id": "nine", "type": "wait", "until": "09:00", "next": "mail"},
        {"id": "mail", "type": "send_email", "template_id": template.pk,
         "destination_id": smtp.pk},
    ]  # fmt: skip
    campaign(steps, trigger_event="Signed Up")
    person(send, web, "ann", timezone="America/New_York")
    person(send, web, "bob")  # no time zone: the settings' (UTC)
    for user in ("ann", "bob"):
        track(send, web, user, "Signed Up", 0)
    pump(0)

    def next_nine(tz: str):
        local = at(0).astimezone(ZoneInfo(tz))
        nine = local.replace(hour=9, minute=0, second=0)
        return nine if nine >= local else nine + timedelta(days=1)

    wakes = {e.profile_id: e.wake_at for e in Enrollment.objects.all()}
    assert sorted(wakes.values()) == sorted([next_nine("America/New_York"), next_nine("UTC")])


# --- bounces and complaints --------------------------------------------------------------


def sent_mail(send, web, smtp, template, user="ann"):
    mailer(smtp, template, event="Checkout Started")
    person(send, web, user)
    track(send, web, user, "Checkout Started", 0)
    pump(0)
    return Delivery.objects.get(channel="email", status="sent")


def dsn(recipient: str, message_id: str, *, action="failed", status="5.1.1") -> bytes:
    """A delivery status notification as a mail server writes it (RFC 3464)."""
    return f"""From: MAILER-DAEMON@mx.example.org
To: bounces@example.org
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain

Your message could not be delivered.

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org
Arrival-Date: Mon, 7 Dec 2026 10:00:00 +0000

Final-Recipient: rfc822; {recipient}
Action: {action}
Status: {status}
Diagnostic-Code: smtp; 550 5.1.1 user unknown

--b1
Content-Type: text/rfc822-headers

Message-ID: {message_id}
To: {recipient}
Subject: Hi

--b1--
""".replace("\n", "\r\n").encode()


@pytest.fixture
def bounce_folder(settings, tmp_path, smtp):
    settings.CDP_EXPORT_ROOT = tmp_path
    (tmp_path / "bounces" / "new").mkdir(parents=True)
    destinations.update_destination(
        destination=smtp, config={**smtp.config, "bounce_folder": "bounces"}
    )
    return tmp_path / "bounces"


def test_a_dsn_bounce_marks_the_address_undeliverable_and_the_next_send_is_skipped(
    send, web, smtp, template, bounce_folder
):
    first = sent_mail(send, web, smtp, template)
    message_id = smtp.inbox.messages[0]["Message-ID"]
    (bounce_folder / "new" / "1.eml").write_bytes(dsn("ann@example.org", message_id))
    (bounce_folder / "new" / "2.eml").write_bytes(b"Subject: not a report\n\nhello\n")

    counts = bounces.read_bounce_folders()
    assert counts == {"read": 1, "failed": 1, "reports": 1}
    assert [p.name for p in (bounce_folder / "cur").iterdir()] == ["1.eml"]
    assert [p.name for p in (bounce_folder / "failed").iterdir()] == ["2.eml"]
    marked = Undeliverable.objects.get()
    assert (marked.address, marked.kind, marked.via) == (
        "ann@example.org",
        "bounce",
        "bounce folder",
    )
    first.refresh_from_db()
    assert first.status == "failed" and first.reason.startswith("bounced: 5.1.1")

    mailer(smtp, template, event="Order Completed")
    track(send, web, "ann", "Order Completed", 1)
    pump(1)
    second = Delivery.objects.exclude(pk=first.pk).get()
    assert (second.status, second.reason) == ("skipped", "address undeliverable: it bounced")
    assert len(smtp.inbox.messages) == 1
    assert bounces.read_bounce_folders() == {"read": 0, "failed": 0, "reports": 0}


def test_a_dsn_saying_delivered_marks_the_delivery_delivered(
    send, web, smtp, template, bounce_folder
):
    first = sent_mail(send, web, smtp, template)
    message_id = smtp.inbox.messages[0]["Message-ID"]
    report = dsn("ann@example.org", message_id, action="delivered", status="2.0.0")
    (bounce_folder / "new" / "1.eml").write_bytes(report)
    bounces.read_bounce_folders()
    first.refresh_from_db()
    assert first.status == "delivered" and first.delivered_at is not None
    assert not Undeliverable.objects.exists()


def test_a_bounce_after_the_step_skips_the_queued_send(send, web, smtp, template, client):
    destinations.update_destination(destination=smtp, secrets={"events_secret": SECRET})
    mailer(smtp, template, event="Checkout Started")
    person(send, web, "ann")
    track(send, web, "ann", "Checkout Started", 0)
    triggers.read_all(now=at(0))
    runner.run_due(now=at(0))  # the step ran: its e-mail waits to be sent
    events(client, smtp, [{"type": "bounce", "email": "ANN@example.org", "message_id": ""}])
    runner.deliver_due(now=at(0))
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.reason) == ("skipped", "address undeliverable: it bounced")
    assert smtp.inbox.messages == []


def events(client, smtp, items, secret=SECRET):
    body = json.dumps(items).encode()
    return client.post(
        f"/t/email/events/{smtp.pk}/",
        body,
        content_type="application/json",
        headers={"X-CDP-Signature": adapters.sign(body, secret)},
    )


def test_the_events_webhook_applies_each_item_and_sets_bad_ones_aside(
    send, web, smtp, template, client
):
    destinations.update_destination(destination=smtp, secrets={"events_secret": SECRET})
    first = sent_mail(send, web, smtp, template)
    message_id = smtp.inbox.messages[0]["Message-ID"]
    items = [
        {"type": "delivered", "email": "ann@example.org", "message_id": message_id},
        {"type": "complaint", "email": "bob@example.org"},
        {"type": "opened", "email": "cat@example.org"},
        {"type": "bounce", "email": "not an address"},
    ]
    response = events(client, smtp, items)
    assert response.status_code == 200
    assert response.json() == {
        "accepted": 2,
        "errors": [
            {"index": 2, "field": "type",
             "message": "type must be one of bounce, complaint, delivered."},
            {"index": 3, "field": "email", "message": "email must be an e-mail address."},
        ],
    }  # fmt: skip
    first.refresh_from_db()
    assert first.status == "delivered"
    assert list(Undeliverable.objects.values_list("address", "kind")) == [
        ("bob@example.org", "complaint")
    ]


def test_the_events_webhook_refuses_a_wrong_signature_and_a_body_that_is_no_list(smtp, client):
    destinations.update_destination(destination=smtp, secrets={"events_secret": SECRET})
    item = [{"type": "bounce", "email": "ann@example.org"}]
    assert events(client, smtp, item, secret="guess").status_code == 403
    body = b'{"type": "bounce"}'
    response = client.post(
        f"/t/email/events/{smtp.pk}/",
        body,
        content_type="application/json",
        headers={"X-CDP-Signature": adapters.sign(body, SECRET)},
    )
    assert response.status_code == 400
    assert "JSON list" in response.json()["error"]["message"]
    assert not Undeliverable.objects.exists()


def test_an_sms_message_template_needs_only_its_text(db):
    made = templating.save_template(name="Hi", channel="sms", body_text="Hi {{ traits.firstName }}")
    assert (made.channel, made.subject, made.body_html) == ("sms", "", "")
    with pytest.raises(Exception) as empty:
        templating.save_template(name="Empty", channel="sms", body_text="  ")
    assert empty.value.message_dict == {"body_text": ["Write the text message."]}
    assert MessageTemplate.objects.count() == 1
