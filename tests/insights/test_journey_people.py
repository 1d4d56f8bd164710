"""Every number of the journey view lists the people it counted, and they save as a
static segment in one click."""

from datetime import date
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from insights.journey import people, selectors
from insights.periods import Period
from profiles.models import Profile
from profiles.services import merge_profiles
from segments.models import MembershipChange, Segment
from tests.profiles.conftest import profile_of

pytestmark = pytest.mark.django_db
PERIOD = {"start": "2026-11-01", "end": "2026-11-21", "granularity": "week"}


def asked() -> Period:
    return Period(date(2026, 11, 1), date(2026, 11, 21), "week", timezone.get_current_timezone())


def question(**fields) -> people.Question:
    form = people.PeopleForm({**PERIOD, **fields})
    assert form.is_valid(), form.errors
    return form.question()


def test_each_flow_lists_exactly_as_many_people_as_it_counts(journeys):
    found = selectors.journey(asked())
    for from_stage, to_stage, n in found.flows:
        asked_for = question(kind="flow", stage=from_stage, to_stage=to_stage)
        assert people.count(asked_for) == n == len(people.profile_ids(asked_for, limit=100))


def test_each_cell_of_people_per_stage_and_of_moves_lists_its_people(journeys):
    found = selectors.journey(asked())
    for stage in selectors.STAGES:
        for i, bucket in enumerate(found.buckets):
            fields = {"stage": stage, "bucket": bucket.isoformat()}
            assert people.count(question(kind="in", **fields)) == found.people[stage][i]
            assert people.count(question(kind="entered", **fields)) == found.entered[stage][i]


def test_the_buyers_who_were_considering_are_the_ones_listed(journeys, marketer_client):
    query = urlencode({**PERIOD, "kind": "flow", "stage": "consideration", "to_stage": "retention"})
    page = marketer_client.get(f"/insights/journey/people/?{query}")
    assert page.status_code == 200
    assert [p.pk for p in page.context["profiles"]] == [profile_of("user_id", "u1").pk]
    assert "Moved from consideration to retention, 2026-11-01 – 2026-11-21" in (
        page.content.decode()
    )


def test_saving_the_people_makes_a_static_segment_of_them(journeys, marketer_client):
    fields = {**PERIOD, "kind": "entered", "stage": "acquisition", "bucket": "2026-11-02"}
    response = marketer_client.post(
        "/insights/journey/people/", {**fields, "name": "Reached checkout, early November"}
    )
    segment = Segment.objects.get(name="Reached checkout, early November")
    assert response.status_code == 302 and response["Location"] == f"/segments/{segment.pk}/"
    assert segment.kind == Segment.Kind.STATIC and segment.member_count == 1
    assert list(segment.memberships.values_list("profile_id", flat=True)) == [
        profile_of("user_id", "early").pk
    ]
    entry = MembershipChange.objects.get(segment=segment)
    assert (
        entry.change == "entered"
        and entry.reason == "Moved into acquisition, 2026-11-02 – 2026-11-08"
    )


def test_a_viewer_sees_numbers_but_not_the_people(journeys, client, make_user):
    client.force_login(make_user("Viewer"))
    page = client.get("/insights/journey/?" + urlencode(PERIOD)).content.decode()
    assert "/insights/journey/people/" not in page
    assert client.get("/insights/journey/people/?kind=flow&to_stage=retention").status_code == 403


def test_an_account_manager_lists_the_people_but_saves_no_segment(journeys, client, make_user):
    client.force_login(make_user("Account manager"))
    query = urlencode({**PERIOD, "kind": "flow", "stage": "", "to_stage": "retention"})
    assert client.get(f"/insights/journey/people/?{query}").status_code == 200
    assert client.post(f"/insights/journey/people/?{query}").status_code == 403
    assert not Segment.objects.exists()


@pytest.mark.parametrize(
    "fields, message",
    [
        ({}, "kind: This field is required."),
        ({"kind": "flow"}, "to_stage: Choose the stage at the end."),
        ({"kind": "in", "stage": "retention", "bucket": "2026-11-03"}, "bucket: Choose one of"),
        ({"kind": "in", "stage": "<b>x</b>", "bucket": "2026-11-02"}, "stage: Select a valid"),
        ({"kind": "entered", "bucket": "2026-11-02"}, "stage: Choose a stage."),
    ],
)
def test_a_bad_question_is_a_400_naming_the_field(marketer_client, fields, message):
    page = marketer_client.get("/insights/journey/people/?" + urlencode({**PERIOD, **fields}))
    assert page.status_code == 400 and message in page.content.decode()
    assert "<b>x</b>" not in page.content.decode()


def test_merged_away_profiles_are_not_listed(journeys, make_user):
    u4, u2 = profile_of("user_id", "u4"), profile_of("user_id", "u2")
    merge_profiles(survivor_id=u2.pk, merged_id=u4.pk, actor=make_user("Admin"))
    # u4 arrived in orientation on 4 Nov; merged into u2 (considering since 2 Nov), its
    # arrival is no longer a move of anyone's: only u1's is left.
    listed = people.profile_ids(question(kind="flow", stage="", to_stage="orientation"), limit=9)
    assert listed == [profile_of("user_id", "u1").pk]
    assert not Profile.objects.get(pk=u4.pk).is_active


def test_the_api_lists_the_people_behind_a_number(journeys, marketer_client):
    query = urlencode({**PERIOD, "kind": "flow", "stage": "consideration", "to_stage": "retention"})
    body = marketer_client.get(f"/api/v1/insights/journey/people/?{query}").json()
    assert body["count"] == 1 and body["profiles"] == [profile_of("user_id", "u1").pk]
    assert body["describe"] == "Moved from consideration to retention, 2026-11-01 – 2026-11-21"


@pytest.mark.parametrize(
    "role, query, status",
    [
        ("Viewer", "kind=flow&to_stage=retention", 403),
        ("Account manager", "kind=flow&to_stage=retention&limit=0", 400),
        ("Account manager", "kind=flow&to_stage=retention&limit=1001", 400),
        ("Account manager", "kind=in&stage=retention", 400),
        ("Account manager", "kind=flow&to_stage=retention&limit=1000", 200),
    ],
)
def test_the_people_api_checks_the_role_and_the_question(client, make_user, role, query, status):
    client.force_login(make_user(role))
    response = client.get(f"/api/v1/insights/journey/people/?{query}")
    assert response.status_code == status
    if status == 400:
        assert set(response.json()["error"]["fields"]) <= {"limit", "bucket", "stage"}
