"""Undoing a merge: everything the merged profile brought goes back to it."""

import pytest

from profiles.models import (
    ConsentRecord,
    Identity,
    Merge,
    Profile,
    ProfileChange,
    ProfileEvent,
    TraitValue,
)
from profiles.services import ProfileError, add_note, merge_profiles, record_consent, unmerge

from .conftest import active_profiles, identities_of, message, profile_of

pytestmark = pytest.mark.django_db


def snapshot(profile_id: int) -> dict:
    """What a profile holds: identities, events, trait values, consent, current state."""
    profile = Profile.objects.get(pk=profile_id)
    return {
        "active": profile.is_active,
        "identities": identities_of(profile),
        "events": set(
            ProfileEvent.objects.filter(profile_id=profile_id).values_list("pk", flat=True)
        ),
        "trait_values": set(
            TraitValue.objects.filter(profile_id=profile_id).values_list("pk", flat=True)
        ),
        "consent_records": set(
            ConsentRecord.objects.filter(profile_id=profile_id).values_list("pk", flat=True)
        ),
        "traits": profile.traits,
        "consent": {slug: state["status"] for slug, state in profile.consent.items()},
        "display_name": profile.display_name,
        "first_seen_at": profile.first_seen_at,
        "last_seen_at": profile.last_seen_at,
    }


@pytest.fixture
def manager(make_user):
    return make_user("Account manager", "am@example.org")


@pytest.fixture
def ann_and_crm_record(web, crm, send):
    """Two profiles of one person the rules could not link: the webshop account and the
    CRM record, each with events, traits and consent."""
    send(
        web,
        message(
            "identify",
            anonymousId="a1",
            userId="u1",
            minutes=0,
            traits={"email": "ann@example.org", "firstName": "Ann", "marketingOptIn": True},
        ),
        message(anonymousId="a1", userId="u1", minutes=1),
        message("page", anonymousId="a1", minutes=2, name="Home"),
    )
    send(
        crm,
        message(
            "identify",
            userId="C1",
            minutes=3,
            traits={
                "phone": "(415) 555-0100",
                "lastName": "Smith",
                "city": "Oslo",
                "firstName": "Anne",
                "adsOptIn": True,
            },
        ),
        message(userId="C1", event="Order Completed", minutes=4),
    )
    web_profile, crm_profile = profile_of("user_id", "u1"), profile_of("crm_id", "C1")
    assert web_profile.pk != crm_profile.pk
    return web_profile.pk, crm_profile.pk


def test_unmerge_returns_identities_events_traits_and_consent_to_their_profile(
    ann_and_crm_record, manager
):
    web_id, crm_id = ann_and_crm_record
    before = {pid: snapshot(pid) for pid in (web_id, crm_id)}
    assert before[crm_id]["consent_records"] and before[web_id]["consent_records"]

    merge = merge_profiles(survivor_id=web_id, merged_id=crm_id, actor=manager)
    merged = snapshot(web_id)
    assert merged["identities"] == before[web_id]["identities"] | before[crm_id]["identities"]
    assert merged["events"] == before[web_id]["events"] | before[crm_id]["events"]
    assert merged["consent"] == {"email_marketing": "granted", "advertising": "granted"}
    assert merged["traits"]["lastName"] == "Smith"
    assert not Profile.objects.get(pk=crm_id).is_active

    unmerge(merge_id=merge.pk, actor=manager)
    assert {pid: snapshot(pid) for pid in (web_id, crm_id)} == before
    merge.refresh_from_db()
    assert merge.undone_at is not None and merge.undone_by == manager


def test_events_arriving_after_an_unmerge_follow_their_identifiers(
    ann_and_crm_record, manager, web, crm, send
):
    web_id, crm_id = ann_and_crm_record
    merge = merge_profiles(survivor_id=web_id, merged_id=crm_id, actor=manager)
    unmerge(merge_id=merge.pk, actor=manager)

    send(web, message(anonymousId="a1", event="Cart Viewed", minutes=10, messageId="after-web"))
    send(crm, message(userId="C1", event="Order Completed", minutes=11, messageId="after-crm"))
    send(crm, message("identify", userId="C1", minutes=12, traits={"city": "Bergen"}))

    owners = dict(
        ProfileEvent.objects.filter(name__in=["Cart Viewed"]).values_list("name", "profile_id")
    )
    assert owners == {"Cart Viewed": web_id}
    latest_order = ProfileEvent.objects.filter(name="Order Completed").latest("timestamp")
    assert latest_order.profile_id == crm_id
    assert Profile.objects.get(pk=crm_id).traits["city"] == "Bergen"
    assert "city" not in Profile.objects.get(pk=web_id).traits
    assert active_profiles().count() == 2


def test_an_identifier_attached_through_a_merged_identity_goes_back_with_it(
    ann_and_crm_record, manager, web, crm, send
):
    web_id, crm_id = ann_and_crm_record
    merge = merge_profiles(survivor_id=web_id, merged_id=crm_id, actor=manager)
    # While merged: the CRM record gains a loyalty card, the webshop a second device.
    send(crm, message("identify", userId="C1", minutes=20, traits={"loyaltyCardId": "L-9"}))
    send(web, message(anonymousId="a1", minutes=21, context={"traits": {"email": "ann@work.org"}}))
    send(web, message("identify", userId="u1", anonymousId="a2", minutes=22))
    card = Identity.objects.get(kind__name="loyalty_card", value="L-9")
    assert card.profile_id == web_id
    assert card.attached_via.value == "C1"

    unmerge(merge_id=merge.pk, actor=manager)
    assert identities_of(Profile.objects.get(pk=crm_id)) == {
        "crm_id:C1",
        "phone:+14155550100",
        "loyalty_card:L-9",
    }
    assert identities_of(Profile.objects.get(pk=web_id)) == {
        "user_id:u1",
        "anonymous_id:a1",
        "anonymous_id:a2",
        "email:ann@example.org",
        "email:ann@work.org",
    }
    crm_profile = Profile.objects.get(pk=crm_id)
    assert crm_profile.traits["loyaltyCardId"] == "L-9"
    assert "loyaltyCardId" not in Profile.objects.get(pk=web_id).traits
    card_event = ProfileEvent.objects.get(identity__value="C1", timestamp=card.first_seen_at)
    assert card_event.profile_id == crm_id


def test_undoing_a_merge_twice_is_refused_with_a_clear_message(ann_and_crm_record, manager):
    web_id, crm_id = ann_and_crm_record
    merge = merge_profiles(survivor_id=web_id, merged_id=crm_id, actor=manager)
    unmerge(merge_id=merge.pk, actor=manager)
    before = {pid: snapshot(pid) for pid in (web_id, crm_id)}
    with pytest.raises(ProfileError, match="already undone"):
        unmerge(merge_id=merge.pk, actor=manager)
    assert {pid: snapshot(pid) for pid in (web_id, crm_id)} == before


def test_an_unmerge_emits_an_unmerged_change_for_both_profiles(ann_and_crm_record, manager):
    web_id, crm_id = ann_and_crm_record
    merge = merge_profiles(survivor_id=web_id, merged_id=crm_id, actor=manager)
    last = ProfileChange.objects.order_by("-id").values_list("id", flat=True).first()
    unmerge(merge_id=merge.pk, actor=manager)
    changes = {c.profile_id: c for c in ProfileChange.objects.filter(id__gt=last)}
    assert set(changes) == {web_id, crm_id}
    assert "unmerged" in changes[web_id].kinds and "unmerged" in changes[crm_id].kinds
    assert changes[web_id].detail["split"] == [crm_id]
    assert changes[crm_id].detail["split_from"] == web_id


def test_an_automatic_merge_can_be_undone_too(web, crm, send, manager):
    send(web, message("identify", userId="w1", traits={"email": "bo@example.org"}))
    send(crm, message("identify", userId="CRM-1", minutes=1, traits={"phone": "(415) 555-0100"}))
    web_id, crm_id = profile_of("user_id", "w1").pk, profile_of("crm_id", "CRM-1").pk
    send(crm, message("identify", userId="CRM-1", minutes=2, traits={"email": "BO@example.org"}))
    merge = Merge.objects.get()
    assert (merge.survivor_id, merge.merged_id) == (web_id, crm_id)

    unmerge(merge_id=merge.pk, actor=manager)
    assert identities_of(Profile.objects.get(pk=web_id)) == {"user_id:w1", "email:bo@example.org"}
    assert identities_of(Profile.objects.get(pk=crm_id)) == {"crm_id:CRM-1", "phone:+14155550100"}
    # The linking event came in through the CRM id: it goes back with it.
    assert ProfileEvent.objects.filter(profile_id=crm_id).count() == 2
    assert active_profiles().count() == 2


def test_consent_recorded_by_a_person_goes_back_with_its_profile(ann_and_crm_record, manager):
    web_id, crm_id = ann_and_crm_record
    record = record_consent(
        profile=Profile.objects.get(pk=crm_id),
        purpose="partner_sharing",
        status="granted",
        actor=manager,
    )
    before = {pid: snapshot(pid) for pid in (web_id, crm_id)}
    merge = merge_profiles(survivor_id=web_id, merged_id=crm_id, actor=manager)
    unmerge(merge_id=merge.pk, actor=manager)
    record.refresh_from_db()
    assert record.profile_id == crm_id
    assert {pid: snapshot(pid) for pid in (web_id, crm_id)} == before


def test_a_note_goes_back_with_its_profile(ann_and_crm_record, manager):
    web_id, crm_id = ann_and_crm_record
    note = add_note(profile=Profile.objects.get(pk=crm_id), author=manager, body="Called her")
    merge = merge_profiles(survivor_id=web_id, merged_id=crm_id, actor=manager)
    unmerge(merge_id=merge.pk, actor=manager)
    note.refresh_from_db()
    assert note.profile_id == crm_id
