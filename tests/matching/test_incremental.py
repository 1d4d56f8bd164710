"""The incremental matcher: a profile created a moment ago is scored against every other
from the warm index and merged (or queued) by the change signal's micro-batch; nothing
happens while matching is off or the model does not fit the settings, and a batch
replayed finds its work done."""

import pytest

from profiles.matching import incremental
from profiles.models import (
    MatchCandidate,
    MatchCursor,
    MatchSettings,
    Merge,
    Profile,
    ProfileChange,
)
from tests.matching.test_passes import JOHN_SHOP, JON_CRM
from tests.profiles.conftest import message, profile_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def cold_index():
    incremental.forget()
    yield
    incremental.forget()


@pytest.fixture
def enabled(model):
    MatchSettings.objects.filter(pk=MatchSettings.load().pk).update(enabled=True)
    return model


def drain():
    return incremental.match_changed_profiles()


def test_a_new_profile_that_matches_one_already_there_is_merged_by_the_next_batch(
    enabled, crm, backend, send
):
    send(crm, message("identify", userId="CRM-1", traits=JON_CRM))
    drain()  # builds the warm index with Jon in it
    send(backend, message("identify", userId="shop-77", traits=JOHN_SHOP))
    jon, john = profile_of("crm_id", "CRM-1"), profile_of("user_id", "shop-77")

    assert drain() > 0

    merge = Merge.objects.get(reason=Merge.Reason.PROBABILISTIC)
    assert {merge.survivor_id, merge.merged_id} == {jon.pk, john.pk}
    assert merge.model_version == enabled.pk
    assert MatchCursor.objects.get(name=incremental.CURSOR).last_id == (
        ProfileChange.objects.order_by("-id").values_list("id", flat=True).first()
    )


def test_a_replayed_batch_finds_its_merge_made_and_changes_nothing(enabled, crm, backend, send):
    send(crm, message("identify", userId="CRM-1", traits=JON_CRM))
    send(backend, message("identify", userId="shop-77", traits=JOHN_SHOP))
    drain()
    merges = Merge.objects.count()
    MatchCursor.objects.filter(name=incremental.CURSOR).update(
        last_id=0
    )  # a crash before the cursor moved

    drain()

    assert Merge.objects.count() == merges == 1


def test_two_crm_ids_wait_in_the_queue_instead(enabled, crm, send):
    send(crm, message("identify", userId="CRM-1", traits=JON_CRM))
    send(crm, message("identify", userId="CRM-2", traits=dict(JON_CRM, firstName="John")))
    drain()
    one, two = profile_of("crm_id", "CRM-1"), profile_of("crm_id", "CRM-2")
    assert not Merge.objects.exists()
    assert MatchCandidate.objects.filter(
        low_id=min(one.pk, two.pk), high_id=max(one.pk, two.pk)
    ).exists()


def test_nothing_is_matched_while_matching_is_off_and_the_cursor_moves_on(
    model, crm, backend, send
):
    send(crm, message("identify", userId="CRM-1", traits=JON_CRM))
    send(backend, message("identify", userId="shop-77", traits=JOHN_SHOP))

    assert drain() == 0

    assert not Merge.objects.exists()
    assert MatchCursor.objects.get(name=incremental.CURSOR).last_id > 0
    assert Profile.objects.filter(merged_into__isnull=False).count() == 0
