"""Segments from the pages: an uploaded list made from a CSV file, and deletion with a
confirmation that says what goes, refused (as in the API) while something uses it."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from campaigns import services as campaigns
from cdp_site.permissions import ACCOUNT_MANAGER, MARKETER
from integrations.destinations import services as destinations
from segments import services
from segments.models import Membership, Segment

from .conftest import EXAMPLE, message, pid, rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(web, send):
    for user in ("ann", "bo"):
        send(web, message("identify", userId=user, traits={"email": f"{user}@example.org"}))


def csv_file(text: str):
    return SimpleUploadedFile("vip.csv", text.encode(), content_type="text/csv")


def test_a_marketer_makes_an_uploaded_list_from_a_csv_file(people, client_as):
    client = client_as(MARKETER)
    assert 'href="/segments/lists/new/"' in client.get("/segments/").text
    response = client.post(
        "/segments/lists/new/",
        {
            "name": "VIP",
            "description": "Invited to the preview",
            "file": csv_file("email\nANN@example.org\nnobody@example.org\n"),
        },
    )
    vip = Segment.objects.get(name="VIP")
    assert response.status_code == 302 and response["Location"] == f"/segments/{vip.pk}/"
    assert vip.kind == Segment.Kind.STATIC and vip.description == "Invited to the preview"
    assert list(Membership.objects.filter(segment=vip).values_list("profile_id", flat=True)) == [
        pid("ann")
    ]
    page = client.get(response["Location"]).text
    assert "2 rows read: 1 found, 1 not found" in page
    assert "Line 3" in page  # the address nobody has, by its line


def test_an_unusable_file_creates_no_list_and_says_why_at_the_field(people, client_as):
    response = client_as(MARKETER).post(
        "/segments/lists/new/",
        {
            "name": "VIP",
            "file": csv_file("colour,size\nred,M\n"),
        },
    )
    assert response.status_code == 400
    assert 'id="id_file_error"' in response.text
    assert not Segment.objects.exists()


def test_only_a_role_that_manages_segments_may_upload_or_delete(people, client_as):
    segment = services.create_segment(name="Dutch", rule=EXAMPLE)
    client = client_as(ACCOUNT_MANAGER)
    assert client.get("/segments/lists/new/").status_code == 403
    assert client.post(f"/segments/{segment.pk}/delete/").status_code == 403
    assert Segment.objects.filter(pk=segment.pk).exists()


def test_deleting_asks_first_saying_what_goes_then_deletes(people, client_as):
    segment = services.create_segment(name="Dutch", rule=EXAMPLE)
    client = client_as(MARKETER)
    assert f'href="/segments/{segment.pk}/delete/"' in client.get(f"/segments/{segment.pk}/").text
    confirm = client.get(f"/segments/{segment.pk}/delete/").text
    assert "Delete segment “Dutch”?" in confirm
    assert "members leave it; their profiles stay" in confirm
    assert "This cannot be undone." in confirm
    assert Segment.objects.filter(pk=segment.pk).exists()  # nothing happened yet

    response = client.post(f"/segments/{segment.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == "/segments/"
    assert not Segment.objects.filter(pk=segment.pk).exists()
    assert "Deleted segment “Dutch”." in client.get("/segments/").text


def test_a_segment_in_use_is_refused_on_the_page_as_in_the_api_with_what_uses_it(people, client_as):
    base = services.create_segment(name="Dutch", rule=EXAMPLE)
    services.create_segment(
        name="Dutch VIPs", rule=rule({"type": "segment", "segment_id": base.pk})
    )
    campaigns.create_campaign(
        name="Welcome",
        kind="segment_entered",
        segment=base,
        steps=[{"id": "wait", "type": "wait", "minutes": 5}],
    )
    campaigns.create_campaign(
        name="Nudge",
        kind="event",
        trigger_event="Signed Up",
        steps=[
            {
                "id": "b",
                "type": "branch",
                "condition": {"type": "segment", "segment_id": base.pk},
                "yes": None,
                "no": None,
            }
        ],
    )
    destinations.create_destination(
        name="Nightly", kind="csv_export", config={"segment_id": base.pk, "every_hours": 24}
    )
    client = client_as(MARKETER)
    expected = (
        "Used by segment “Dutch VIPs”, CSV export “Nightly”, campaign “Nudge”, "
        "campaign “Welcome”: change or delete them first."
    )

    page = client.get(f"/segments/{base.pk}/delete/").text
    assert expected in page
    assert "Dutch VIPs" in client.get(f"/segments/{base.pk}/").text  # "Used by" on its page
    refused = client.post(f"/segments/{base.pk}/delete/")
    assert refused.status_code == 400 and expected in refused.text
    api = client.delete(f"/api/v1/segments/{base.pk}/")
    assert api.status_code == 400 and api.json()["error"]["message"] == expected
    assert Segment.objects.filter(pk=base.pk).exists()
