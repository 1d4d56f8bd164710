"""Segments count the people a privacy request restricted only when the marketer asks
(``include_restricted``): otherwise a restriction takes the person out of every rule-based
segment at once (the change signal), and its lift brings them back; with the option they
stay counted and listed, but no journey sends them anything."""

import pytest
from django.urls import reverse

from campaigns import runner, triggers
from campaigns.models import Campaign, Delivery
from campaigns.step_types.actions import RESTRICTED
from cdp_site.permissions import ACCOUNT_MANAGER, MARKETER
from profiles import services as profiles
from profiles.models import PrivacyRequest
from profiles.privacy import services as privacy
from segments import membership
from segments import services as segments
from segments.builder import fields as builder_fields
from segments.models import Membership, MembershipChange, Segment
from segments.services import process_profile_changes
from tests.campaigns.conftest import campaign, person, smtp, template  # noqa: F401
from tests.profiles.conftest import message, profile_of, send, web  # noqa: F401
from tests.support.segment_rules import rule

pytestmark = pytest.mark.django_db

EMAIL_KNOWN = rule({"type": "trait", "key": "email", "op": "is_set"})
GOLD = rule({"type": "trait", "key": "tier", "op": "equals", "value": "gold"})


def restrict(user: str, manager) -> PrivacyRequest:
    request = privacy.create_request(
        kind="restriction",
        identifier_kind="user_id",
        identifier_value=user,
        verification="email",
        requested_by=manager,
    )
    return privacy.start(request=request, actor=manager)


def members(segment) -> set[int]:
    return set(Membership.objects.filter(segment=segment).values_list("profile_id", flat=True))


@pytest.fixture
def rita_and_sam(send, web):  # noqa: F811
    return person(send, web, "rita").pk, person(send, web, "sam").pk


def test_a_restricted_person_leaves_the_segment_and_comes_back_when_lifted(
    rita_and_sam, make_user, client
):
    rita, sam = rita_and_sam
    manager = make_user(ACCOUNT_MANAGER)
    known = segments.create_segment(name="E-mail known", rule=EMAIL_KNOWN)
    assert membership.recompute(known).member_count == 2
    done = restrict("rita", manager)
    process_profile_changes()
    known.refresh_from_db()
    assert members(known) == {sam} and known.member_count == 1
    client.force_login(manager)
    why = client.get(reverse("segments:profile-explain", args=[rita, known.pk]))
    assert "leaves restricted people out" in why.content.decode()
    exit_ = MembershipChange.objects.get(segment=known, profile_id=rita, change="exited")
    assert exit_.reason == "profile changed"
    assert membership.recompute(known).member_count == 1  # the full pass agrees

    privacy.lift_restriction(request=done, actor=manager)
    process_profile_changes()
    known.refresh_from_db()
    assert members(known) == {rita, sam} and known.member_count == 2


def test_a_restricted_person_merged_into_another_profile_stays_out(send, web, make_user):  # noqa: F811
    person(send, web, "rita")
    person(send, web, "rita-2", email="rita@example.org")
    manager = make_user(ACCOUNT_MANAGER)
    restrict("rita", manager)
    survivor = profile_of("user_id", "rita-2")
    assert not survivor.restricted  # the merged-away profile carries the flag
    profiles.merge_profiles(
        survivor_id=survivor.pk, merged_id=profile_of("user_id", "rita").pk, actor=manager
    )
    known = segments.create_segment(name="E-mail known", rule=EMAIL_KNOWN)
    assert membership.recompute(known).member_count == 0


def test_with_the_option_they_stay_counted_but_get_no_journey_message(
    send,  # noqa: F811
    web,  # noqa: F811
    smtp,  # noqa: F811
    template,  # noqa: F811
    rita_and_sam,
    make_user,
):
    rita, sam = rita_and_sam
    gold = segments.create_segment(name="Gold", rule=GOLD, include_restricted=True)
    mail = {"id": "mail", "type": "send_email", "template_id": template.pk}
    campaign(
        [{**mail, "destination_id": smtp.pk}], kind=Campaign.Kind.SEGMENT_ENTERED, segment=gold
    )
    restrict("rita", make_user(ACCOUNT_MANAGER))
    for user in ("rita", "sam"):
        send(web, message("identify", userId=user, traits={"tier": "gold"}))
    process_profile_changes()
    triggers.read_all()
    runner.run_due()
    gold.refresh_from_db()
    assert members(gold) == {rita, sam} and gold.member_count == 2
    (skipped,) = Delivery.objects.filter(profile_id=rita)
    assert (skipped.status, skipped.reason) == ("skipped", RESTRICTED)
    assert Delivery.objects.get(profile_id=sam).status == "pending"


def test_the_builder_and_the_api_offer_the_option(rita_and_sam, make_user, client):
    restrict("rita", make_user(ACCOUNT_MANAGER))
    client.force_login(make_user(MARKETER))
    fields = builder_fields.rule_to_fields(EMAIL_KNOWN)
    page = client.get(reverse("segments:new")).content.decode()
    assert 'name="include_restricted"' in page
    estimate = client.post(reverse("segments:estimate"), fields).content.decode()
    assert 'data-count="1"' in estimate
    asked = {**fields, "include_restricted": "on"}
    estimate = client.post(reverse("segments:estimate"), asked).content.decode()
    assert 'data-count="2"' in estimate
    saved = client.post(reverse("segments:new"), {**asked, "name": "Known", "_action": "save"})
    assert saved.status_code == 302
    assert Segment.objects.get(name="Known").include_restricted is True

    api = "/api/v1/segments/"
    count = client.post(f"{api}count/", {"rule": EMAIL_KNOWN}, content_type="application/json")
    assert count.json()["count"] == 1
    body = {"rule": EMAIL_KNOWN, "include_restricted": True}
    assert client.post(f"{api}count/", body, content_type="application/json").json()["count"] == 2
    made = client.post(api, {"name": "API", **body}, content_type="application/json")
    assert made.status_code == 201 and made.json()["include_restricted"] is True
    changed = client.patch(
        f"{api}{made.json()['id']}/", {"include_restricted": False}, content_type="application/json"
    )
    assert changed.json()["include_restricted"] is False
    assert Segment.objects.get(name="API").rule == EMAIL_KNOWN
