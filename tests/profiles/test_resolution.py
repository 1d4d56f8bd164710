"""Deterministic identity resolution in the processing pipeline."""

import pytest

from profiles.models import (
    IdentifierKind,
    LinkRefusal,
    Merge,
    ProfileChange,
    ProfileEvent,
    UnresolvedEvent,
)
from profiles.services import add_note, unmerge

from .conftest import active_profiles, identities_of, message, profile_of

pytestmark = pytest.mark.django_db


def test_an_anonymous_visitor_who_logs_in_keeps_one_profile(web, send):
    send(web, message("page", anonymousId="a1"), message(anonymousId="a1", minutes=1))
    send(
        web,
        message(
            "identify",
            anonymousId="a1",
            userId="u1",
            minutes=2,
            traits={"email": " Ann@Example.org ", "firstName": "Ann"},
        ),
    )
    (profile,) = active_profiles()
    assert identities_of(profile) == {"anonymous_id:a1", "user_id:u1", "email:ann@example.org"}
    assert ProfileEvent.objects.filter(profile=profile).count() == 3
    assert profile.traits["firstName"] == "Ann"
    assert profile.display_name == "Ann"


def test_an_email_seen_in_two_sources_merges_their_profiles(web, crm, send):
    send(web, message("identify", userId="w1", traits={"email": "bo@example.org"}))
    send(crm, message("identify", userId="CRM-1", traits={"phone": "(415) 555-0100"}))
    assert active_profiles().count() == 2
    send(crm, message("identify", userId="CRM-1", traits={"email": "BO@example.org"}, minutes=5))
    (profile,) = active_profiles()
    assert identities_of(profile) == {
        "user_id:w1",
        "crm_id:CRM-1",
        "email:bo@example.org",
        "phone:+14155550100",
    }
    merge = Merge.objects.get()
    assert merge.survivor_id == profile.pk and merge.reason == "rule"
    assert merge.identity.value == "bo@example.org"
    kinds = {c.profile_id: set(c.kinds) for c in ProfileChange.objects.order_by("id")}
    assert "merged" in kinds[profile.pk] and "merged_away" in kinds[merge.merged_id]


def test_a_shared_device_never_merges_two_known_customers(web, send):
    send(web, message("identify", anonymousId="family-ipad", userId="dad"))
    send(web, message("identify", anonymousId="family-ipad", userId="mum", minutes=1))
    send(web, message(anonymousId="family-ipad", userId="mum", minutes=2))
    assert active_profiles().count() == 2
    assert not Merge.objects.exists()
    mum = profile_of("user_id", "mum")
    assert ProfileEvent.objects.filter(profile=mum).count() == 2
    assert profile_of("anonymous_id", "family-ipad") == profile_of("user_id", "dad")


def test_beyond_the_limit_an_identifier_is_not_attached(web, send, settings):
    IdentifierKind.objects.filter(name="email").update(max_per_profile=2)
    for i, address in enumerate(["a@x.org", "b@x.org", "c@x.org"]):
        send(web, message("identify", userId="u1", traits={"email": address}, minutes=i))
    (profile,) = active_profiles()
    assert identities_of(profile) == {"user_id:u1", "email:a@x.org", "email:b@x.org"}
    assert profile.traits["email"] == "c@x.org"  # the trait is kept, only not an identifier


def test_a_blocked_email_links_nothing_but_stays_a_trait(web, send):
    send(web, message("identify", userId="u1", traits={"email": "test@example.com"}))
    send(web, message("identify", userId="u2", traits={"email": "TEST@example.com"}))
    assert active_profiles().count() == 2
    assert identities_of(profile_of("user_id", "u2")) == {"user_id:u2"}
    assert profile_of("user_id", "u2").traits["email"] == "TEST@example.com"


def test_a_malformed_email_is_kept_as_a_trait_but_is_not_an_identifier(web, send):
    send(web, message("identify", userId="u3", traits={"email": "not-an-address"}))
    send(web, message("identify", userId="u4", traits={"email": "not-an-address"}))
    assert active_profiles().count() == 2
    assert identities_of(profile_of("user_id", "u3")) == {"user_id:u3"}
    assert profile_of("user_id", "u3").traits["email"] == "not-an-address"


def test_a_malformed_phone_is_not_an_identifier_and_a_valid_one_is_normalised(web, send):
    send(web, message("identify", userId="u5", traits={"phone": "12"}))
    send(web, message("identify", userId="u6", traits={"phone": "+1 415.555.0100"}))
    assert identities_of(profile_of("user_id", "u5")) == {"user_id:u5"}
    assert identities_of(profile_of("user_id", "u6")) == {"user_id:u6", "phone:+14155550100"}


def test_an_event_with_only_blocked_ids_is_kept_with_the_reason(web, send):
    send(web, message(userId="undefined", anonymousId="null"))
    assert not active_profiles().exists()
    assert UnresolvedEvent.objects.get().reason == "no usable identifier"


def test_alias_links_the_previous_id_to_the_user(web, send):
    send(web, message(anonymousId="anon-7"))
    send(web, message("alias", previousId="anon-7", userId="u7", minutes=1))
    (profile,) = active_profiles()
    assert identities_of(profile) == {"anonymous_id:anon-7", "user_id:u7"}


def test_an_alias_loop_ends_with_a_recorded_refusal_and_loses_nothing(backend, send):
    send(backend, message("alias", previousId="A", userId="B"))
    send(backend, message("alias", previousId="B", userId="A", minutes=1))
    first = profile_of("user_id", "B")
    assert identities_of(first) == {"user_id:B", "anonymous_id:A"}
    assert ProfileEvent.objects.count() == 2
    refusal = LinkRefusal.objects.get()
    assert (refusal.kind, refusal.value) == ("user_id", "B")
    assert "two user_id" in refusal.reason


def test_a_note_on_a_profile_merged_by_a_rule_goes_back_on_unmerge(web, crm, send):
    send(web, message("identify", userId="w1", traits={"email": "bo@example.org"}))
    send(crm, message("identify", userId="CRM-1"))
    note = add_note(profile=profile_of("crm_id", "CRM-1"), author=None, body="Called Bo")
    send(crm, message("identify", userId="CRM-1", traits={"email": "bo@example.org"}, minutes=5))
    merge = Merge.objects.get()
    note.refresh_from_db()
    assert note.profile_id == merge.survivor_id
    unmerge(merge_id=merge.pk, actor=None)
    note.refresh_from_db()
    assert note.profile_id == merge.merged_id == profile_of("crm_id", "CRM-1").pk
