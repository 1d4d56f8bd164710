"""A replayed history is written as its new tail when it begins with the recorded one, and
anew when it does not: either way it is exactly the from-scratch replay (and the insights
rollup still equals a count of it)."""

import pytest

from insights.selectors import stage_flow_differences
from profiles import stage_history
from profiles.models import StageChange
from profiles.services import merge_profiles

from .conftest import message, profile_of

pytestmark = pytest.mark.django_db


def recorded(profile) -> list[tuple]:
    changes = StageChange.objects.filter(profile=profile).order_by("changed_at", "id")
    return [
        (c.pk, c.from_stage, c.to_stage, c.changed_at, c.reason, c.rule_id, c.event_id, c.since)
        for c in changes
    ]


def is_the_replay(profile) -> bool:
    replayed = [c.row() for c in stage_history.replay([profile.pk])[profile.pk]]
    return [row[1:] for row in recorded(profile)] == replayed and stage_flow_differences() == []


def test_a_batch_that_carries_a_profile_past_a_stage_appends_to_the_history_it_keeps(web, send):
    # Past a stage in each batch: both are replayed (a live move knows no event).
    send(
        web,
        message("page", userId="u1", properties={"path": "/"}),
        message(userId="u1", event="Product Viewed", minutes=1),
    )
    first = recorded(profile_of("user_id", "u1"))
    send(web, message(userId="u1", event="Order Completed", minutes=5))
    profile = profile_of("user_id", "u1")
    after = recorded(profile)
    assert after[: len(first)] == first and len(after) > len(first)  # the same rows, kept
    assert after[-1][2] == profile.stage == "retention"
    assert is_the_replay(profile)


def test_a_late_event_that_changes_the_beginning_rewrites_the_whole_history(web, send):
    send(
        web,
        message("page", userId="u1", properties={"path": "/"}, minutes=10),
        message(userId="u1", event="Product Viewed", minutes=11),
    )
    first = recorded(profile_of("user_id", "u1"))
    send(
        web,
        message(userId="u1", event="Product Viewed", minutes=0),  # before the first visit
        message(userId="u1", event="Order Completed", minutes=20),
    )
    profile = profile_of("user_id", "u1")
    after = recorded(profile)
    assert not {row[0] for row in first} & {row[0] for row in after}  # replaced
    assert after[0][3] < first[0][3] and profile.stage == "retention"
    assert is_the_replay(profile)


def test_a_merge_into_a_profile_whose_journey_begins_the_same_appends_the_rest(
    web, crm, send, make_user
):
    send(
        web,
        message("page", anonymousId="a1", properties={"path": "/"}),
        message(anonymousId="a1", event="Product Viewed", minutes=10),
    )
    send(crm, message(userId="c1", event="Order Completed", minutes=20))
    browser, buyer = profile_of("anonymous_id", "a1"), profile_of("crm_id", "c1")
    first = recorded(browser)
    merge_profiles(survivor_id=browser.pk, merged_id=buyer.pk, actor=make_user("Admin"))
    browser.refresh_from_db()
    after = recorded(browser)
    assert after[: len(first)] == first and after[-1][2] == browser.stage == "retention"
    assert recorded(buyer) == []
    assert is_the_replay(browser)
