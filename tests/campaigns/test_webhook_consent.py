"""A webhook destination names the consent purpose it needs and the traits it may receive:
people without that consent are skipped with the reason, and the body carries only the
selected traits (plus the profile id and the campaign and event context). Through the
real journey: events into the pipeline, the runner, a local HTTP server."""

import pytest

from campaigns.models import Delivery
from integrations.destinations import services as destinations
from integrations.destinations.models import DeadLetter, Destination
from tests.campaigns.conftest import campaign, person, pump, track

pytestmark = pytest.mark.django_db

TRAITS = {"tier": "gold", "phone": "+31 20 123 4567", "lastName": "Lovelace", "city": "Delft"}


def hook_journey(destination):
    return campaign(
        [{"id": "hook", "type": "webhook", "destination_id": destination.pk}],
        trigger_event="Signed Up",
    )


def reconfigure(destination: Destination, **config) -> Destination:
    return destinations.update_destination(
        destination=destination, config={**destination.config, **config}
    )


def test_people_without_the_destinations_consent_purpose_are_skipped_with_the_reason(
    send, web, webhook
):
    reconfigure(webhook, consent_purpose="advertising")
    hook_journey(webhook)
    ann = person(send, web, "ann")  # e-mail marketing only
    bob = person(send, web, "bob", adsOptIn=True)
    for user in ("ann", "bob"):
        track(send, web, user, "Signed Up", 0)
    pump(0)
    outcomes = {d.profile_id: (d.status, d.reason) for d in Delivery.objects.all()}
    assert outcomes == {
        ann.pk: ("skipped", "no consent for advertising"),
        bob.pk: ("sent", ""),
    }
    assert [body["profile"]["traits"]["firstName"] for _, body in webhook.server.received] == [
        "Bob"
    ]


def test_a_webhook_saved_before_purposes_existed_needs_email_marketing(send, web, webhook):
    config = {k: v for k, v in webhook.config.items() if k != "consent_purpose"}
    Destination.objects.filter(pk=webhook.pk).update(config=config)
    hook_journey(webhook)
    person(send, web, "cy", consent=False)
    track(send, web, "cy", "Signed Up", 0)
    pump(0)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.reason) == ("skipped", "no consent for e-mail marketing")
    assert webhook.server.received == []


def test_the_body_carries_only_the_selected_traits(send, web, webhook):
    reconfigure(webhook, traits=["tier", "firstName", "notATrait"])
    hook_journey(webhook)
    profile = person(send, web, "dee", **TRAITS)
    track(send, web, "dee", "Signed Up", 0, plan="pro")
    pump(0)
    [(_, body)] = webhook.server.received
    assert body["profile"] == {"id": profile.pk, "traits": {"tier": "gold", "firstName": "Dee"}}
    assert (body["event"]["event"], body["event"]["properties"]) == ("Signed Up", {"plan": "pro"})
    assert body["step_id"] == "hook" and body["campaign_id"]
    assert "email" not in str(body["profile"]) and "Lovelace" not in str(body)


def test_no_selected_traits_sends_the_profile_id_only(send, web, webhook):
    reconfigure(webhook, traits=[])
    hook_journey(webhook)
    profile = person(send, web, "eve", **TRAITS)
    track(send, web, "eve", "Signed Up", 0)
    pump(0)
    [(_, body)] = webhook.server.received
    assert body["profile"] == {"id": profile.pk, "traits": {}}


def test_a_dead_letter_keeps_only_the_selected_traits_too(send, web, webhook):
    reconfigure(webhook, traits=["tier"])
    webhook.server.statuses = [422]
    hook_journey(webhook)
    profile = person(send, web, "fay", **TRAITS)
    track(send, web, "fay", "Signed Up", 0)
    pump(0)
    letter = DeadLetter.objects.get()
    assert letter.payload["profile"] == {"id": profile.pk, "traits": {"tier": "gold"}}
