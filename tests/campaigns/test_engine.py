"""The journey engine end to end: events and segment changes through the real pipeline,
the runner at a controlled clock, e-mails to a real SMTP server, webhooks to a local one."""

from datetime import time

import pytest

from campaigns import runner, services, triggers
from campaigns.models import Campaign, Delivery, Enrollment, StepLog
from campaigns.step_types.split import choose_variant
from profiles.models import Profile
from segments import services as segments
from segments.services import process_profile_changes
from tests.campaigns.conftest import at, campaign, person, pump, track
from tests.profiles.conftest import message
from tests.support import segment_rules

pytestmark = pytest.mark.django_db

CART = [{"name": "Rain jacket", "price": 120}, {"name": "Wool socks", "price": 12}]


def abandonment(smtp, template):
    return [
        {"id": "wait", "type": "wait", "minutes": 60, "next": "order"},
        {
            "id": "order",
            "type": "wait_for_event",
            "event": "Order Completed",
            "timeout_minutes": 24 * 60,
            "next": "bought",
            "timeout_next": "mail",
        },
        {"id": "mail", "type": "send_email", "template_id": template.pk, "destination_id": smtp.pk},
        {"id": "bought", "type": "exit"},
    ]


def test_cart_abandonment_mails_the_carts_items_only_to_who_did_not_order(
    send,
    web,
    smtp,
    template,
):
    journey = campaign(abandonment(smtp, template), trigger_event="Checkout Started")
    person(send, web, "ann")
    person(send, web, "bob")
    track(send, web, "ann", "Checkout Started", 0, products=CART)
    track(send, web, "bob", "Checkout Started", 0, products=CART[:1])
    pump(0)
    assert Enrollment.objects.filter(campaign=journey).count() == 2
    pump(30)  # still inside the hour
    assert not Delivery.objects.exists()
    pump(61)  # the hour passed: now waiting for an order
    assert set(Enrollment.objects.values_list("state", flat=True)) == {"waiting_event"}
    track(send, web, "bob", "Order Completed", 90, revenue=120)
    pump(90)
    bob = Enrollment.objects.get(profile_id=person(send, web, "bob").pk)
    assert (bob.state, bob.exit_reason) == ("exited", "reached an exit step")
    pump(61 + 24 * 60 + 1)  # ann's wait for an order timed out
    ann = Enrollment.objects.get(profile_id=person(send, web, "ann").pk)
    assert ann.state == "completed"
    assert [m["To"] for m in smtp.inbox.messages] == ["ann@example.org"]
    mail = smtp.inbox.messages[0]
    assert mail["Subject"] == "Ann, you left something"
    html = (
        next(p for p in mail.walk() if p.get_content_type() == "text/html")
        .get_payload(decode=True)
        .decode()
    )
    assert "<b>Rain jacket</b>" in html and "<b>Wool socks</b>" in html
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.idempotency_key) == ("sent", f"{ann.pk}:mail")
    counts = services.journey_counts(campaign=journey)["steps"]
    assert counts["order"]["outcomes"] == {"waiting": 2, "event": 1, "timed_out": 1}
    assert counts["mail"]["deliveries"] == {"sent": 1}
    pump(3000)  # running again sends nothing twice
    assert len(smtp.inbox.messages) == 1


def test_entry_rules_once_every_time_and_cooldown(send, web):
    steps = [{"id": "w", "type": "wait", "minutes": 1}]
    once = campaign(steps, trigger_event="Viewed", entry="once")
    every = campaign(steps, trigger_event="Viewed", entry="every")
    cool = campaign(steps, trigger_event="Viewed", entry="cooldown", cooldown_days=3)
    person(send, web, "ann")
    track(send, web, "ann", "Viewed", 0)
    pump(0)
    track(send, web, "ann", "Viewed", 10)
    pump(10)
    triggers.read_all(now=at(10))  # a replay of the outbox enrols nobody again
    assert [Enrollment.objects.filter(campaign=c).count() for c in (once, every, cool)] == [1, 2, 1]
    track(send, web, "ann", "Viewed", 4 * 24 * 60)
    pump(4 * 24 * 60)
    assert [Enrollment.objects.filter(campaign=c).count() for c in (once, every, cool)] == [1, 3, 2]


def test_branch_on_a_trait_condition_and_on_an_event_since_entry(send, web, webhook):
    steps = [
        {
            "id": "vip",
            "type": "branch",
            "yes": "hook",
            "no": "bought",
            "condition": {"type": "trait", "key": "tier", "op": "equals", "value": "gold"},
        },
        {
            "id": "bought",
            "type": "branch",
            "yes": None,
            "no": "hook",
            "condition": {"type": "event_since_entry", "name": "Order Completed"},
        },
        {"id": "hook", "type": "webhook", "destination_id": webhook.pk},
    ]
    journey = campaign(steps, trigger_event="Signed Up")
    for user, tier in [("gold", "gold"), ("buyer", "basic"), ("plain", "basic")]:
        person(send, web, user, tier=tier)
        track(send, web, user, "Signed Up", 0)
    pump(0)
    track(send, web, "buyer", "Order Completed", 5)
    for enrollment in Enrollment.objects.filter(campaign=journey):  # enter again, later
        enrollment.step_id, enrollment.state, enrollment.wake_at = "", "active", at(5)
        enrollment.save()
    StepLog.objects.all().delete()
    Delivery.objects.all().delete()
    webhook.server.received.clear()
    pump(5)
    outcomes = {
        (Profile.objects.get(pk=s.profile_id).traits["firstName"], s.step_id, s.outcome)
        for s in StepLog.objects.filter(step_id__in=["vip", "bought"])
    }
    assert outcomes == {
        ("Gold", "vip", "yes"),
        ("Buyer", "vip", "no"),
        ("Plain", "vip", "no"),
        ("Buyer", "bought", "yes"),
        ("Plain", "bought", "no"),
    }
    posted = sorted(body["profile"]["traits"]["firstName"] for _, body in webhook.server.received)
    assert posted == ["Gold", "Plain"]
    headers = webhook.server.received[0][0]
    assert headers["Idempotency-Key"].endswith(":hook")


def test_split_follows_the_percentages_and_the_holdout_receives_nothing(
    send,
    web,
    webhook,
):
    steps = [
        {
            "id": "ab",
            "type": "split",
            "variants": [
                {"name": "A", "percent": 45, "next": "hook"},
                {"name": "B", "percent": 45, "next": "hook"},
                {"name": "holdout", "percent": 10, "holdout": True, "next": "hook"},
            ],
        },
        {"id": "hook", "type": "webhook", "destination_id": webhook.pk},
    ]
    journey = campaign(
        steps,
        kind=Campaign.Kind.BROADCAST,
        start=False,
        segment=segments.create_segment(
            name="all",
            rule=segment_rules.rule({"type": "trait", "key": "email", "op": "is_set"}),
        ),
    )

    send(
        web,
        *[
            message(
                "identify",
                userId=f"u{i}",
                traits={"email": f"u{i}@example.org", "marketingOptIn": True},
            )
            for i in range(400)
        ],
    )
    segments.recompute_segment(segment_id=journey.segment_id)
    services.start_campaign(campaign=journey, now=at(0))
    pump(0)
    pump(0)  # a run sends at most 200: the next one sends the rest
    variants = {
        v: Enrollment.objects.filter(campaign=journey, variant=v).count()
        for v in ("A", "B", "holdout")
    }
    assert sum(variants.values()) == 400
    assert 150 <= variants["A"] <= 210 and 150 <= variants["B"] <= 210
    assert 20 <= variants["holdout"] <= 60
    assert Enrollment.objects.filter(holdout=True).count() == variants["holdout"]
    assert len(webhook.server.received) == variants["A"] + variants["B"]
    assert not Delivery.objects.filter(variant="holdout").exists()
    assert {b["variant"] for _, b in webhook.server.received} == {"A", "B"}
    journey.refresh_from_db()
    assert journey.status == "finished"  # a broadcast ends once everyone went through
    # Deterministic: the same enrollment lands in the same variant every time.

    e = Enrollment.objects.filter(campaign=journey).first()
    assert choose_variant(e, steps[0])["name"] == e.variant


def test_no_consent_skips_the_email_with_a_reason_and_the_journey_goes_on(
    send,
    web,
    smtp,
    template,
    webhook,
):
    steps = [
        {
            "id": "mail",
            "type": "send_email",
            "template_id": template.pk,
            "destination_id": smtp.pk,
            "next": "hook",
        },
        {"id": "hook", "type": "webhook", "destination_id": webhook.pk},
    ]
    campaign(steps, trigger_event="Checkout Started")
    person(send, web, "nomail", consent=False)
    track(send, web, "nomail", "Checkout Started", 0)
    pump(0)
    mail = Delivery.objects.get(step_id="mail")
    assert (mail.status, mail.reason) == ("skipped", "no consent for e-mail marketing")
    assert not smtp.inbox.messages
    # The journey went on to the webhook, which needs the same consent by default.
    hook = Delivery.objects.get(step_id="hook")
    assert (hook.status, hook.reason) == ("skipped", "no consent for e-mail marketing")
    assert not webhook.server.received


def test_frequency_cap_skips_messages_over_the_limit(send, web, smtp, template):
    cap = {"max_messages": 2, "per_days": 7}
    services.save_protection(time_zone="UTC", channels={"email": cap})
    steps = [
        {"id": "mail", "type": "send_email", "template_id": template.pk, "destination_id": smtp.pk}
    ]
    for _ in range(3):
        campaign(steps, trigger_event="Checkout Started")
    person(send, web, "ann")
    track(send, web, "ann", "Checkout Started", 0, products=CART)
    pump(0)
    statuses = sorted(Delivery.objects.values_list("status", "reason"))
    assert statuses == [("sent", ""), ("sent", ""), ("skipped", "frequency cap")]
    assert len(smtp.inbox.messages) == 2


def test_quiet_hours_hold_the_email_until_they_end(send, web, smtp, template):
    now = at(0)
    start = (now.replace(minute=0) if now.minute else now).time()
    services.save_protection(
        time_zone="UTC",
        channels={
            "email": {
                "quiet_start": time((start.hour - 1) % 24, 0),
                "quiet_end": time((start.hour + 2) % 24, 0),
                "max_messages": 3,
                "per_days": 7,
            }
        },
    )
    steps = [
        {"id": "mail", "type": "send_email", "template_id": template.pk, "destination_id": smtp.pk}
    ]
    campaign(steps, trigger_event="Checkout Started")
    person(send, web, "ann")
    track(send, web, "ann", "Checkout Started", 0, products=CART)
    pump(0)
    enrollment = Enrollment.objects.get()
    quiet_end = now.replace(hour=(start.hour + 2) % 24, minute=0, second=0)
    if quiet_end < now:
        quiet_end += __import__("datetime").timedelta(days=1)
    assert (enrollment.state, enrollment.step_id, enrollment.wake_at) == (
        "active",
        "mail",
        quiet_end,
    )
    assert not Delivery.objects.exists() and not smtp.inbox.messages
    pump((quiet_end - now).total_seconds() / 60)
    assert Delivery.objects.get().status == "sent"
    assert len(smtp.inbox.messages) == 1
    assert Enrollment.objects.get().state == "completed"


def test_goal_event_ends_the_journey_as_converted_and_credits_the_email(
    send,
    web,
    smtp,
    template,
):
    steps = [
        {
            "id": "mail",
            "type": "send_email",
            "template_id": template.pk,
            "destination_id": smtp.pk,
            "next": "wait",
        },
        {"id": "wait", "type": "wait", "minutes": 3 * 24 * 60, "next": "again"},
        {
            "id": "again",
            "type": "send_email",
            "template_id": template.pk,
            "destination_id": smtp.pk,
        },
    ]
    journey = campaign(
        steps,
        trigger_event="Checkout Started",
        goal_event="Order Completed",
        conversion_window_days=7,
    )
    person(send, web, "ann")
    track(send, web, "ann", "Checkout Started", 0, products=CART)
    pump(0)
    track(send, web, "ann", "Order Completed", 120, revenue=132)
    pump(120)
    enrollment = Enrollment.objects.get()
    assert enrollment.state == "converted"
    assert enrollment.converted_at == at(120)
    assert Delivery.objects.get().converted_at == at(120)
    pump(4 * 24 * 60)  # the second e-mail never goes: the journey ended
    assert len(smtp.inbox.messages) == 1
    assert services.journey_counts(campaign=journey)["converted"] == 1


def test_segment_entry_enrols_only_while_active_and_paused_journeys_keep_their_place(
    send,
    web,
    webhook,
):
    segment = segments.create_segment(
        name="gold",
        rule=segment_rules.rule({"type": "trait", "key": "tier", "op": "equals", "value": "gold"}),
    )
    steps = [
        {"id": "w", "type": "wait", "minutes": 10, "next": "hook"},
        {"id": "hook", "type": "webhook", "destination_id": webhook.pk},
    ]
    journey = campaign(steps, kind=Campaign.Kind.SEGMENT_ENTERED, segment=segment)
    person(send, web, "ann", tier="gold")
    process_profile_changes()
    pump(0)
    assert Enrollment.objects.filter(campaign=journey).count() == 1
    services.pause_campaign(campaign=journey)
    person(send, web, "bob", tier="gold")
    process_profile_changes()
    pump(20)  # paused: bob does not enter, ann's timer waits
    assert Enrollment.objects.filter(campaign=journey).count() == 1
    assert not webhook.server.received
    services.resume_campaign(campaign=journey)
    pump(21)
    assert len(webhook.server.received) == 1
    exited = campaign(steps, kind=Campaign.Kind.SEGMENT_EXITED, segment=segment)
    person(send, web, "ann", tier="silver")
    process_profile_changes()
    pump(22)
    assert Enrollment.objects.filter(campaign=exited).count() == 1


def test_a_failing_webhook_is_retried_with_backoff_then_failed_with_its_reason(
    send,
    web,
    webhook,
):
    webhook.server.statuses = [503] * 10
    campaign(
        [{"id": "hook", "type": "webhook", "destination_id": webhook.pk}], trigger_event="Signed Up"
    )
    person(send, web, "ann")
    track(send, web, "ann", "Signed Up", 0)
    pump(0)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert delivery.reason.startswith("retrying:") and "503" in delivery.reason
    assert delivery.next_attempt_at == at(1)
    minutes = 0
    for _ in range(6):
        minutes += 20
        runner.deliver_due(now=at(minutes))
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 5)
    assert "HTTP 503" in delivery.reason
    assert len(webhook.server.received) == 5


def test_someone_waiting_at_a_step_removed_from_the_journey_exits_with_the_reason(send, web):
    journey = campaign(
        [{"id": "w", "type": "wait", "minutes": 60, "next": "x"}, {"id": "x", "type": "exit"}],
        trigger_event="Viewed",
    )
    person(send, web, "ann")
    track(send, web, "ann", "Viewed", 0)
    pump(0)
    services.update_campaign(campaign=journey, steps=[{"id": "x", "type": "exit"}])
    pump(61)
    enrollment = Enrollment.objects.get(campaign=journey)
    assert enrollment.state == "exited" and "w was removed" in enrollment.exit_reason
