"""SMS: a journey's send_sms step through a Twilio-compatible API (a real local imitation,
tests/support/twilio.py), its consent, cap and quiet hours in the recipient's time zone,
the provider's signed status callbacks and STOP replies."""

from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest

from campaigns import channel_events, services, undeliverable
from campaigns.models import Delivery, Enrollment, InboundSms, MessageTemplate, Undeliverable
from cdp_site.personal_data import Subject, erase_subject, export_subject
from profiles.models import ConsentRecord
from tests.campaigns.conftest import at, campaign, message, person, pump, track
from tests.support import twilio as imitation

pytestmark = pytest.mark.django_db
PUBLIC = "https://cdp.example.org"
NUMBER = "+31612345678"


@pytest.fixture
def sms(db, twilio, settings):
    settings.CDP_PUBLIC_URL = PUBLIC
    destination = imitation.destination(twilio, default_region="NL", timeout=5)
    destination.api = twilio
    return destination


@pytest.fixture
def text(db):
    return MessageTemplate.objects.create(
        name="Cart text",
        channel="sms",
        body_text="Hi {{ traits.firstName }}, your {{ event.item }} is waiting",
    )


def texter(sms, text, event="Cart Abandoned"):
    return campaign(
        [{"id": "sms", "type": "send_sms", "template_id": text.pk, "destination_id": sms.pk}],
        trigger_event=event,
    )


def reached(send, web, user, *, phone=NUMBER, sms_consent=True, minutes=0, **traits):
    if sms_consent:
        traits["smsOptIn"] = True
    profile = person(send, web, user, phone=phone, **traits)
    track(send, web, user, "Cart Abandoned", minutes, item="boots")
    return profile


def callback(client, delivery, **params):
    url = f"{PUBLIC}/t/sms/status/{delivery.pk}/"
    signature = imitation.signed(url, params)
    return client.post(
        f"/t/sms/status/{delivery.pk}/", params, headers={"X-Twilio-Signature": signature}
    )


def inbound(client, sms, **params):
    url = f"{PUBLIC}/t/sms/inbound/{sms.pk}/"
    return client.post(
        f"/t/sms/inbound/{sms.pk}/",
        params,
        headers={"X-Twilio-Signature": imitation.signed(url, params)},
    )


def test_an_sms_step_posts_the_message_and_keeps_the_providers_sid(send, web, sms, text):
    texter(sms, text)
    reached(send, web, "ann")
    pump(0)

    delivery = Delivery.objects.get(channel="sms")
    (sent,) = sms.api.messages
    assert (delivery.status, delivery.provider_id) == ("sent", sent["sid"])
    assert sent["To"] == NUMBER and sent["From"] == "+14155550100"
    assert sent["Body"] == "Hi Ann, your boots is waiting"
    assert sent["StatusCallback"] == f"{PUBLIC}/t/sms/status/{delivery.pk}/"
    assert delivery.counts_toward_cap


def test_a_number_without_country_code_is_read_in_the_destinations_region(send, web, sms, text):
    texter(sms, text)
    reached(send, web, "ann", phone="06 1234 5678")
    pump(0)
    assert sms.api.messages[0]["To"] == NUMBER


def test_an_unreadable_number_fails_that_delivery_alone(send, web, sms, text):
    texter(sms, text)
    reached(send, web, "ann", phone="12")
    reached(send, web, "bob", phone="+31612345679")
    pump(0)

    outcomes = dict(Delivery.objects.values_list("status", "reason"))
    assert set(outcomes) == {"failed", "sent"}
    assert "not a valid number (read as NL" in outcomes["failed"]
    assert [m["To"] for m in sms.api.messages] == ["+31612345679"]


def test_an_invalid_to_refused_with_21211_fails_without_retrying(send, web, sms, text):
    sms.api.unreachable.add(NUMBER)
    texter(sms, text)
    reached(send, web, "ann")
    pump(0)

    delivery = Delivery.objects.get(channel="sms")
    assert delivery.status == "failed" and delivery.next_attempt_at is None
    assert "refused the To number (error 21211" in delivery.reason


def test_a_429_waits_for_its_retry_after_then_sends(send, web, sms, text):
    sms.api.script.append(429)
    texter(sms, text)
    reached(send, web, "ann")
    pump(0)

    delivery = Delivery.objects.get(channel="sms")
    assert delivery.status == "pending"
    assert delivery.next_attempt_at == at(0) + timedelta(seconds=7)
    assert delivery.reason.startswith("retrying: HTTP 429: error 20429")
    pump(0.2)
    delivery.refresh_from_db()
    assert delivery.status == "sent" and len(sms.api.messages) == 1


def test_a_500_is_retried_with_backoff(send, web, sms, text):
    sms.api.script.append(500)
    texter(sms, text)
    reached(send, web, "ann")
    pump(0)

    delivery = Delivery.objects.get(channel="sms")
    assert delivery.status == "pending" and "HTTP 500" in delivery.reason
    assert delivery.next_attempt_at == at(1)
    pump(1)
    delivery.refresh_from_db()
    assert delivery.status == "sent"


def test_signed_status_callbacks_move_the_delivery_forward_only(client, send, web, sms, text):
    texter(sms, text)
    reached(send, web, "ann")
    pump(0)
    delivery = Delivery.objects.get(channel="sms")
    sid = delivery.provider_id

    assert callback(client, delivery, MessageSid=sid, MessageStatus="queued").status_code == 204
    delivered = callback(client, delivery, MessageSid=sid, MessageStatus="delivered")
    assert delivered.status_code == 204
    late = callback(client, delivery, MessageSid=sid, MessageStatus="sent")
    assert late.status_code == 204
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.delivered_at is not None


def test_an_undelivered_callback_fails_the_delivery_with_the_carriers_code(
    client, send, web, sms, text
):
    texter(sms, text)
    reached(send, web, "ann")
    pump(0)
    delivery = Delivery.objects.get(channel="sms")
    callback(client, delivery, MessageStatus="undelivered", ErrorCode="30003")
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert delivery.reason == "the carrier reported it undelivered (error 30003)"


def test_a_callback_without_a_valid_signature_is_refused_and_changes_nothing(
    client, send, web, sms, text
):
    texter(sms, text)
    reached(send, web, "ann")
    pump(0)
    delivery = Delivery.objects.get(channel="sms")
    path = f"/t/sms/status/{delivery.pk}/"
    forged = imitation.signed(f"{PUBLIC}{path}", {"MessageStatus": "delivered"}, token="guess")
    for headers in ({}, {"X-Twilio-Signature": forged}):
        response = client.post(path, {"MessageStatus": "delivered"}, headers=headers)
        assert response.status_code == 403
    delivery.refresh_from_db()
    assert delivery.status == "sent"


def test_stop_from_a_known_number_withdraws_sms_consent_and_later_texts_are_skipped(
    client, send, web, sms, text
):
    profile = reached(send, web, "ann")
    response = inbound(client, sms, From=NUMBER, Body=" stop ", MessageSid="SM1")
    assert response.status_code == 200 and b"<Response>" in response.content
    profile.refresh_from_db()
    assert profile.consent["sms_marketing"]["status"] == "withdrawn"
    assert profile.consent["email_marketing"]["status"] != "withdrawn"
    assert InboundSms.objects.get().outcome == "stopped"
    inbound(client, sms, From=NUMBER, Body="STOP", MessageSid="SM1")  # a provider's retry
    assert InboundSms.objects.count() == 1

    texter(sms, text, event="Checkout Started")
    track(send, web, "ann", "Checkout Started", 1)
    pump(1)
    delivery = Delivery.objects.get(channel="sms")
    assert (delivery.status, delivery.reason) == ("skipped", "no consent for SMS marketing")
    assert sms.api.messages == []


@pytest.mark.parametrize("word", ["STOPALL", "unsubscribe", "Cancel", "END", "quit"])
def test_every_stop_word_withdraws_sms_consent(client, send, web, sms, word):
    profile = reached(send, web, "ann")
    inbound(client, sms, From=NUMBER, Body=word)
    profile.refresh_from_db()
    assert profile.consent["sms_marketing"]["status"] == "withdrawn"


def test_stop_from_an_unknown_number_is_acknowledged_and_recorded_only(client, send, web, sms):
    reached(send, web, "ann")
    before = ConsentRecord.objects.count()
    response = inbound(client, sms, From="+31698765432", Body="STOP")
    assert response.status_code == 200
    assert InboundSms.objects.get().outcome == "unknown_number"
    assert ConsentRecord.objects.count() == before


def test_an_unsigned_inbound_message_is_refused(client, sms, send, web):
    profile = reached(send, web, "ann")
    response = client.post(f"/t/sms/inbound/{sms.pk}/", {"From": NUMBER, "Body": "STOP"})
    assert response.status_code == 403
    profile.refresh_from_db()
    assert profile.consent["sms_marketing"]["status"] != "withdrawn"
    assert not InboundSms.objects.exists()


def test_sms_without_consent_is_skipped_and_the_cap_counts_sms(send, web, sms, text):
    services.save_protection(
        time_zone="UTC",
        channels={"sms": {"max_messages": 1, "per_days": 7}},
    )
    texter(sms, text)
    texter(sms, text)
    reached(send, web, "ann")
    reached(send, web, "bob", phone="+31612345679", sms_consent=False)
    pump(0)
    outcomes = sorted(Delivery.objects.values_list("status", "reason"))
    assert outcomes == [
        ("sent", ""),
        ("skipped", "frequency cap"),
        ("skipped", "no consent for SMS marketing"),
        ("skipped", "no consent for SMS marketing"),
    ]


def quiet_around(tz: str) -> tuple[time, time]:
    """Quiet hours of three hours around the tests' clock in ``tz``'s local time."""
    local = at(0).astimezone(ZoneInfo(tz))
    return time((local - timedelta(hours=1)).hour), time((local + timedelta(hours=2)).hour)


def test_quiet_hours_are_kept_in_the_recipients_time_zone(send, web, sms, text):
    start, end = quiet_around("Asia/Tokyo")  # 9 hours from UTC: outside in UTC
    services.save_protection(
        time_zone="UTC",
        channels={"sms": {"max_messages": None, "per_days": 7, "quiet_start": start,
                          "quiet_end": end}},
    )  # fmt: skip
    texter(sms, text)
    reached(send, web, "ann", timezone="Asia/Tokyo")  # a trait
    person(send, web, "cat", phone="+31612345670", smsOptIn=True)
    send(web, message(userId="cat", event="Cart Abandoned", context={"timezone": "Asia/Tokyo"},
                      timestamp=at(0).isoformat()))  # fmt: skip
    reached(send, web, "bob", phone="+31612345679")  # no time zone: the settings' (UTC)
    pump(0)

    tokyo_end = at(0).astimezone(ZoneInfo("Asia/Tokyo")).replace(minute=0, second=0)
    tokyo_end += timedelta(hours=2)
    held = Enrollment.objects.filter(step_id="sms", state="active")
    assert {e.wake_at for e in held} == {tokyo_end}
    assert held.count() == 2
    assert [m["To"] for m in sms.api.messages] == ["+31612345679"]


def test_status_url_is_the_public_callback_of_the_delivery(settings):
    settings.CDP_PUBLIC_URL = PUBLIC
    assert channel_events.status_url(42) == f"{PUBLIC}/t/sms/status/42/"


def test_the_journey_page_offers_sms_messages_and_destinations_to_an_sms_step(
    client_as, sms, text, smtp, template
):
    journey = campaign(
        [
            {"id": "nine", "type": "wait", "until": "09:00", "next": "sms"},
            {"id": "sms", "type": "send_sms", "template_id": text.pk, "destination_id": sms.pk},
        ],
        trigger_event="Cart Abandoned",
        start=False,
    )
    page = client_as("Marketer").get(f"/campaigns/{journey.pk}/").text
    step = page.split('name="steps[1].template_id"')[1].split("</select>")[0]
    assert f'value="{text.pk}" selected>Cart text' in step
    assert f'value="{template.pk}"' not in step  # an e-mail is not offered to an SMS step
    destinations = page.split('name="steps[1].destination_id"')[1].split("</select>")[0]
    assert sms.name in destinations and smtp.name not in destinations
    assert "until 09:00" in page and "in each person's local time" in page
    assert "SMS: at most 3 per person in 7 days; no quiet hours" in page


def test_erasing_a_person_takes_their_texts_and_undeliverable_address_and_no_one_elses(
    client, send, web, sms
):
    ann = reached(send, web, "ann")
    inbound(client, sms, From=NUMBER, Body="STOP")
    inbound(client, sms, From="+31698765432", Body="STOP")
    undeliverable.mark(channel="email", address="ann@example.org", kind="bounce", via="webhook")
    undeliverable.mark(channel="email", address="bob@example.org", kind="bounce", via="webhook")

    subject = Subject(
        profile_ids=(ann.pk,), identifiers=(("phone", NUMBER), ("email", "ann@example.org"))
    )
    exported = export_subject(subject)
    assert [r["from_number"] for r in exported["sms_replies"]] == [NUMBER]
    assert [r["address"] for r in exported["undeliverable_addresses"]] == ["ann@example.org"]
    erase_subject(subject)
    assert list(InboundSms.objects.values_list("from_number", flat=True)) == ["+31698765432"]
    assert list(Undeliverable.objects.values_list("address", flat=True)) == ["bob@example.org"]
