"""The journey-stage history: complete, caused, replayable, and right after a merge."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command

from profiles import stage_history
from profiles.models import ProfileEvent, StageChange, StageRule
from profiles.services import merge_profiles, unmerge

from .conftest import T0, message, profile_of

pytestmark = pytest.mark.django_db


def history(profile) -> list[tuple[str, str]]:
    changes = StageChange.objects.filter(profile=profile).order_by("changed_at", "id")
    return [(c.from_stage, c.to_stage) for c in changes]


@pytest.fixture
def manager(make_user):
    return make_user("Account manager", "am@example.org")


@pytest.fixture
def browser_then_buyer(web, crm, send):
    """One person seen twice without a shared identifier: a browsing visitor (orientation,
    then consideration) and a CRM customer who ordered later (retention)."""
    send(web, message("page", anonymousId="a1", properties={"path": "/"}))
    send(web, message(anonymousId="a1", event="Product Viewed", minutes=10))
    send(crm, message(userId="c1", event="Order Completed", minutes=20))
    return profile_of("anonymous_id", "a1"), profile_of("crm_id", "c1")


def test_a_live_change_records_the_rule_that_made_it(web, send):
    send(web, message(userId="u1", event="Checkout Started"))
    change = StageChange.objects.get(profile=profile_of("user_id", "u1"), to_stage="acquisition")
    rule = StageRule.objects.get(stage="acquisition")
    assert change.rule_id == rule.pk and change.reason == f"{', '.join(rule.event_names)} ×1"
    assert change.changed_at == T0


def test_the_replay_tells_the_same_journey_as_processing_with_the_events_that_caused_it(web, send):
    send(web, message("page", userId="u1", properties={"path": "/"}))
    send(web, message(userId="u1", event="Product Viewed", minutes=1))
    send(web, message(userId="u1", event="Order Completed", minutes=2))
    profile = profile_of("user_id", "u1")
    replayed = stage_history.replay([profile.pk])[profile.pk]
    assert [(c.from_stage, c.to_stage) for c in replayed] == history(profile)
    events = dict(ProfileEvent.objects.filter(profile=profile).values_list("event_id", "name"))
    assert [events[c.event_id] for c in replayed] == ["", "Product Viewed", "Order Completed"]
    assert [c.at for c in replayed] == [T0, T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)]


def test_a_quiet_spell_in_the_past_is_a_lapse_and_the_next_event_a_return(web, send):
    send(web, message(userId="u1", event="Order Completed"))
    send(web, message(userId="u1", event="Product Viewed", minutes=90 * 24 * 60))
    profile = profile_of("user_id", "u1")
    replayed = stage_history.replay([profile.pk], now=T0 + timedelta(days=91))[profile.pk]
    assert [(c.from_stage, c.to_stage) for c in replayed] == [
        ("", "retention"),
        ("retention", "lapsed"),
        ("lapsed", "retention"),
    ]
    lapse = replayed[1]
    assert lapse.at == T0 + timedelta(days=60) and lapse.reason == "no activity for 60 days"
    assert lapse.rule_id == StageRule.objects.get(stage="lapsed").pk and lapse.event_id is None


def test_a_merge_replays_the_survivors_history_from_both_and_drops_the_merged_one(
    browser_then_buyer, manager
):
    browser, buyer = browser_then_buyer
    assert history(buyer) == [("", "retention")]
    merge_profiles(survivor_id=buyer.pk, merged_id=browser.pk, actor=manager)
    assert history(buyer) == [
        ("", "orientation"),
        ("orientation", "consideration"),
        ("consideration", "retention"),
    ]
    assert history(browser) == []
    buyer.refresh_from_db()
    assert buyer.stage == "retention" and buyer.stage_changed_at == T0 + timedelta(minutes=20)


def test_an_unmerge_gives_each_profile_its_own_history_back(browser_then_buyer, manager):
    browser, buyer = browser_then_buyer
    before = {p.pk: history(p) for p in (browser, buyer)}
    merge = merge_profiles(survivor_id=buyer.pk, merged_id=browser.pk, actor=manager)
    unmerge(merge_id=merge.pk, actor=manager)
    assert {p.pk: history(p) for p in (browser, buyer)} == before
    browser.refresh_from_db()
    assert browser.stage == "consideration"


def test_the_backfill_rebuilds_lost_history_and_running_it_twice_changes_nothing(
    browser_then_buyer, capsys
):
    browser, buyer = browser_then_buyer
    recorded = {p.pk: history(p) for p in (browser, buyer)}
    StageChange.objects.all().delete()
    call_command("backfill_stage_history", chunk=1)
    assert {p.pk: history(p) for p in (browser, buyer)} == recorded
    assert "Stage history rebuilt for 2 profiles" in capsys.readouterr().out
    first = set(StageChange.objects.values_list("profile_id", "to_stage", "changed_at"))
    call_command("backfill_stage_history")
    assert set(StageChange.objects.values_list("profile_id", "to_stage", "changed_at")) == first
    assert StageChange.objects.count() == len(first)


def test_the_backfill_refuses_a_chunk_of_nothing():
    with pytest.raises(CommandError, match="--chunk"):
        call_command("backfill_stage_history", chunk=0)


def test_without_rules_naming_events_there_is_no_history_to_replay(web, send):
    send(web, message(userId="u1", event="Order Completed"))
    profile = profile_of("user_id", "u1")
    StageRule.objects.exclude(stage="lapsed").delete()
    assert stage_history.replay([profile.pk], now=datetime(2027, 1, 1, tzinfo=UTC)) == {}
    assert stage_history.rewrite([profile.pk]) == []
    assert history(profile) == [("", "retention")]  # left as it was


def test_one_batch_that_carries_a_visitor_to_an_order_records_every_step(web, send):
    send(
        web,
        message("page", userId="u1", properties={"path": "/"}),
        message(userId="u1", event="Product Viewed", minutes=1),
        message(userId="u1", event="Order Completed", minutes=2),
    )
    profile = profile_of("user_id", "u1")
    assert history(profile) == [
        ("", "orientation"),
        ("orientation", "consideration"),
        ("consideration", "retention"),
    ]
    assert profile.stage == "retention"


def test_a_move_to_the_next_stage_is_recorded_without_a_replay(web, send):
    send(web, message("page", userId="u1", properties={"path": "/"}))
    send(web, message(userId="u1", event="Product Viewed", minutes=1))
    change = StageChange.objects.get(profile=profile_of("user_id", "u1"), to_stage="consideration")
    assert change.event_id is None and change.since == T0  # the live pass's record
