"""Journey stage, consent from events and computed traits, as processing keeps them."""

from datetime import UTC, datetime

import pytest

from profiles import services, stages
from profiles.consent import may_use
from profiles.models import ComputedTrait, ConsentRecord, StageChange

from .conftest import message, profile_of

pytestmark = pytest.mark.django_db


def test_a_profile_moves_through_the_stages_and_each_change_is_recorded(web, send):
    send(web, message("page", userId="u1", properties={"path": "/"}))
    assert profile_of("user_id", "u1").stage == "orientation"
    send(web, message(userId="u1", event="Product Viewed", minutes=1))
    assert profile_of("user_id", "u1").stage == "consideration"
    send(web, message(userId="u1", event="Checkout Started", minutes=2))
    send(web, message(userId="u1", event="Order Completed", minutes=3))
    profile = profile_of("user_id", "u1")
    changes = list(StageChange.objects.filter(profile=profile).order_by("id"))
    assert [(c.from_stage, c.to_stage) for c in changes] == [
        ("", "orientation"),
        ("orientation", "consideration"),
        ("consideration", "acquisition"),
        ("acquisition", "retention"),
    ]


def test_a_quiet_retained_customer_lapses_in_the_scheduled_pass(web, send):
    # Events of 2026-11-01 are more than 60 days old by 2027-01-15.
    send(web, message(userId="u1", event="Order Completed"))

    profile = profile_of("user_id", "u1")
    moved = stages.update([profile.pk], now=datetime(2027, 1, 15, tzinfo=UTC))
    profile.refresh_from_db()
    assert moved == [profile.pk] and profile.stage == "lapsed"


def test_consent_from_the_snippet_is_recorded_only_when_it_changes(web, send):
    prefs = {"consent": {"categoryPreferences": {"analytics": True, "advertising": False}}}
    send(web, message(anonymousId="a1", context=prefs), message(anonymousId="a1", context=prefs))
    profile = profile_of("anonymous_id", "a1")
    assert may_use(profile, "analytics") and not may_use(profile, "advertising")
    assert ConsentRecord.objects.filter(profile=profile).count() == 2
    withdrawn = {"consent": {"categoryPreferences": {"analytics": False}}}
    send(web, message(anonymousId="a1", context=withdrawn, minutes=5))
    profile.refresh_from_db()
    assert profile.consent["analytics"]["status"] == "withdrawn"
    assert not may_use(profile, "analytics")
    assert not may_use(profile, "email_marketing")  # never stated: no


def test_consent_from_identify_traits_and_from_a_person(web, send, django_user_model):
    send(web, message("identify", userId="u1", traits={"marketingOptIn": True}))
    profile = profile_of("user_id", "u1")
    assert may_use(profile, "email_marketing")
    record = ConsentRecord.objects.get(profile=profile)
    assert record.evidence["field"] == "traits.marketingOptIn" and record.source_id == web.pk
    services.record_consent(profile=profile, purpose="email_marketing", status="withdrawn")
    profile.refresh_from_db()
    assert not may_use(profile, "email_marketing")


def test_computed_traits_follow_the_events(web, send):
    ComputedTrait.objects.create(
        key="ltv", label="LTV", event_name="Order Completed", aggregation="sum", property="revenue"
    )
    ComputedTrait.objects.create(
        key="orders", label="Orders", event_name="Order Completed", aggregation="count"
    )
    send(web, message(userId="u1", event="Order Completed", properties={"revenue": 40.5}))
    send(web, message(userId="u1", event="Order Completed", properties={"revenue": 9.5}))
    found = profile_of("user_id", "u1").computed
    assert (found["ltv"], found["orders"]) == (50, 2)


def test_a_trait_of_a_changed_type_is_kept_but_does_not_win(web, send):
    send(web, message("identify", userId="u1", traits={"age": 41}))
    send(web, message("identify", userId="u1", traits={"age": "42"}, minutes=1))
    send(web, message("identify", userId="u1", traits={"age": "forty-three"}, minutes=2))
    profile = profile_of("user_id", "u1")
    assert profile.traits["age"] == 42  # "42" converted to the trait's type
    conflicted = profile.trait_values.get(key="age", conflict=True)
    assert conflicted.value == "forty-three"


def test_source_priority_decides_a_disputed_trait(web, crm, send):
    send(
        crm,
        message(
            "identify", userId="CRM-1", traits={"email": "x@example.org", "firstName": "Katherine"}
        ),
    )
    send(
        web,
        message(
            "identify",
            userId="w1",
            minutes=5,
            traits={"email": "x@example.org", "firstName": "Kate"},
        ),
    )
    profile = profile_of("user_id", "w1")
    assert profile.traits["firstName"] == "Katherine"  # the CRM (90) beats the web (60)
    values = set(profile.trait_values.filter(key="firstName").values_list("value", flat=True))
    assert values == {"Katherine", "Kate"}
