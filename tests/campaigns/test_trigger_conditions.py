"""Entry conditions of triggered journeys (campaigns/entry_conditions.py): the event's
property filters, the entry audience, and time-of-day waits on the person's clock
(protection.recipient_zone). People and events go through the real pipeline."""

from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from campaigns import triggers
from campaigns.models import ActivationSettings, Campaign, Enrollment, TriggerCursor
from segments.models import Membership, MembershipChange, Segment
from tests.campaigns.conftest import at, campaign, person, pump, track
from tests.profiles.conftest import message

pytestmark = pytest.mark.django_db
WAIT = [{"id": "wait", "type": "wait", "minutes": 600}]
OVER_50 = [{"property": "cart.total", "op": ">", "value": 50}]


def entered(journey) -> set[int]:
    return set(Enrollment.objects.filter(campaign=journey).values_list("profile_id", flat=True))


def test_a_cart_of_40_does_not_enter_and_a_cart_of_60_does(send, web):
    journey = campaign(WAIT, trigger_event="Checkout Started", trigger_filters=OVER_50)
    small, big = person(send, web, "small"), person(send, web, "big")
    track(send, web, "small", "Checkout Started", 1, cart={"total": 40})
    track(send, web, "big", "Checkout Started", 1, cart={"total": 60})
    pump(2)
    assert entered(journey) == {big.pk}
    assert Enrollment.objects.get(campaign=journey).context["properties"]["cart"]["total"] == 60
    assert small.pk not in entered(journey)


def test_every_filter_must_hold_and_numbers_in_text_count_as_numbers(send, web):
    filters = [
        *OVER_50,
        {"property": "currency", "op": "=", "value": "EUR"},
        {"property": "coupon", "op": "exists"},
        {"property": "items", "op": "contains", "value": "Boots"},
    ]
    journey = campaign(WAIT, trigger_event="Checkout Started", trigger_filters=filters)
    good = {"cart": {"total": "60.5"}, "currency": "EUR", "coupon": "X", "items": ["Boots"]}
    people = {}
    for user, properties in {
        "text-number": good,
        "dollars": {**good, "currency": "USD"},
        "no-coupon": {k: v for k, v in good.items() if k != "coupon"},
        "no-boots": {**good, "items": ["Hat"]},
    }.items():
        people[user] = person(send, web, user)
        track(send, web, user, "Checkout Started", 1, **properties)
    pump(2)
    assert entered(journey) == {people["text-number"].pk}


def test_malformed_property_values_never_stop_the_trigger_reader(send, web):
    journey = campaign(WAIT, trigger_event="Checkout Started", trigger_filters=OVER_50)
    odd = [
        {"cart": {"total": "abc"}},
        {"cart": {"total": None}},
        {"cart": {"total": {"amount": 99}}},
        {"cart": {"total": [60]}},
        {"cart": {"total": True}},
        {"cart": {"total": "1e999"}},
        {"cart": "sixty"},
        {"cart": [{"total": 60}]},
        {},
    ]
    for i, properties in enumerate(odd):
        person(send, web, f"odd{i}")
        track(send, web, f"odd{i}", "Checkout Started", 1, **properties)
    person(send, web, "fine")
    track(send, web, "fine", "Checkout Started", 1, cart={"total": 75})
    pump(2)
    fine = Enrollment.objects.get(campaign=journey)
    assert fine.context["properties"]["cart"]["total"] == 75
    cursor = TriggerCursor.objects.get(name=triggers.PROFILE_CURSOR)
    assert triggers.read_profile_changes(now=at(3)) == 0 and cursor.last_id > 0


def test_the_entry_audience_lets_in_only_people_matching_it_when_the_event_comes(send, web):
    gold_only = {
        "version": 1,
        "root": {
            "type": "group",
            "match": "all",
            "children": [{"type": "trait", "key": "plan", "op": "equals", "value": "gold"}],
        },
    }
    journey = campaign(WAIT, trigger_event="Checkout Started", entry_audience=gold_only)
    gold = person(send, web, "gold", plan="gold")
    person(send, web, "silver", plan="silver")
    late = person(send, web, "late", plan="silver")
    for user in ("gold", "silver", "late"):
        track(send, web, user, "Checkout Started", 1)
    pump(2)
    assert entered(journey) == {gold.pk}
    # Audience is read at trigger time: becoming gold later lets the next event in.
    person(send, web, "late", plan="gold", minutes=3)
    track(send, web, "late", "Checkout Started", 4)
    pump(5)
    assert entered(journey) == {gold.pk, late.pk}


def test_a_segment_trigger_respects_its_entry_audience(send, web):
    vip, cart = (
        Segment.objects.create(name="VIP", rule={}),
        Segment.objects.create(name="Cart", rule={}),
    )
    in_vip = {
        "version": 1,
        "root": {
            "type": "group",
            "match": "all",
            "children": [{"type": "segment", "segment_id": vip.pk}],
        },
    }
    journey = campaign(
        WAIT, kind=Campaign.Kind.SEGMENT_ENTERED, segment=cart, entry_audience=in_vip
    )
    a, b = person(send, web, "a"), person(send, web, "b")
    Membership.objects.create(segment=vip, profile_id=a.pk, entered_at=at(0))
    for profile in (a, b):
        MembershipChange.objects.create(
            segment=cart,
            profile_id=profile.pk,
            change=MembershipChange.Change.ENTERED,
            at=timezone.now(),
        )
    pump(2)
    assert entered(journey) == {a.pk}


def _wake(journey, profile) -> object:
    return Enrollment.objects.get(campaign=journey, profile_id=profile.pk).wake_at


def test_wait_until_nine_is_nine_on_each_persons_own_clock(send, web):
    ActivationSettings.objects.update_or_create(pk=1, defaults={"time_zone": "America/New_York"})
    journey = campaign(
        [{"id": "nine", "type": "wait", "until": "09:00"}], trigger_event="Checkout Started"
    )
    tokyo = person(send, web, "tokyo", timezone="Asia/Tokyo")
    amsterdam = person(send, web, "amsterdam", timezone="Europe/Amsterdam")
    browser = person(send, web, "browser", timezone="Not/AZone")
    nowhere = person(send, web, "nowhere")
    for user in ("tokyo", "amsterdam", "nowhere"):
        track(send, web, user, "Checkout Started", 1)
    send(
        web,
        message(
            userId="browser",
            event="Checkout Started",
            timestamp=at(1).isoformat(),
            context={"timezone": "Asia/Tokyo"},
        ),
    )
    pump(2)
    local = {
        name: _wake(journey, profile).astimezone(ZoneInfo(zone))
        for name, profile, zone in (
            ("tokyo", tokyo, "Asia/Tokyo"),
            ("amsterdam", amsterdam, "Europe/Amsterdam"),
            ("browser", browser, "Asia/Tokyo"),
            ("nowhere", nowhere, "America/New_York"),
        )
    }
    assert {(t.hour, t.minute) for t in local.values()} == {(9, 0)}
    assert _wake(journey, tokyo) != _wake(journey, amsterdam)
    assert _wake(journey, browser) == _wake(journey, tokyo)
    for wake in local.values():
        assert at(2) <= wake <= at(2 + 24 * 60)


def test_an_event_with_a_page_or_campaign_context_starts_the_journey(send, web):
    journey = campaign(WAIT, trigger_event="Checkout Started")
    shopper = person(send, web, "shopper")
    context = {"page": {"path": "/checkout"}, "campaign": {"name": "sale", "source": "mail"}}
    send(web, message(userId="shopper", event="Checkout Started", context=context))
    pump(2)
    assert entered(journey) == {shopper.pk}
