"""The stage history's switch (settings.PROFILES_STAGE_HISTORY), the throughput benchmark's
baseline: off, processing still moves each profile's stage and signals it, but records
no stage change and replays nothing."""

from datetime import timedelta

import pytest

from profiles.models import ProfileChange, StageChange
from profiles.services import merge_profiles, unmerge

from .conftest import T0, message, profile_of

pytestmark = pytest.mark.django_db


def stage_signalled(profile, after: int = 0) -> bool:
    changes = ProfileChange.objects.filter(profile_id=profile.pk, pk__gt=after)
    return changes.filter(kinds__contains=["stage"]).exists()


@pytest.mark.parametrize("kept", [True, False], ids=["history on", "history off"])
def test_the_stage_moves_and_is_signalled_and_the_history_is_written_only_when_on(
    web, send, settings, kept
):
    settings.PROFILES_STAGE_HISTORY = kept
    send(web, message("page", userId="u1", properties={"path": "/"}))
    send(web, message(userId="u1", event="Order Completed", minutes=2))
    profile = profile_of("user_id", "u1")
    assert profile.stage == "retention"
    assert profile.stage_changed_at == T0 + timedelta(minutes=2)
    assert stage_signalled(profile)
    # In time order: StageChange has no default ordering (the flake seen once).
    recorded = list(
        StageChange.objects.filter(profile=profile)
        .order_by("changed_at", "id")
        .values_list("to_stage", flat=True)
    )
    # On, the batch that skips a stage is replayed: the first visit, then the order.
    assert recorded == (["orientation", "retention"] if kept else [])


def test_with_the_history_off_a_merge_and_an_unmerge_still_set_each_stage(
    web, crm, send, settings, make_user
):
    settings.PROFILES_STAGE_HISTORY = False
    send(web, message("page", anonymousId="a1", properties={"path": "/"}))
    send(web, message(anonymousId="a1", event="Product Viewed", minutes=10))
    send(crm, message(userId="c1", event="Order Completed", minutes=20))
    browser, buyer = profile_of("anonymous_id", "a1"), profile_of("crm_id", "c1")
    assert (browser.stage, buyer.stage) == ("consideration", "retention")
    manager = make_user("Account manager", "am@example.org")
    merge = merge_profiles(survivor_id=browser.pk, merged_id=buyer.pk, actor=manager)
    browser.refresh_from_db()
    assert browser.stage == "retention" and browser.stage_changed_at == T0 + timedelta(minutes=20)
    signalled = ProfileChange.objects.latest("id").pk
    unmerge(merge_id=merge.pk, actor=manager)
    browser.refresh_from_db()
    assert browser.stage == "consideration"
    assert stage_signalled(browser, after=signalled)
    assert not StageChange.objects.exists()
