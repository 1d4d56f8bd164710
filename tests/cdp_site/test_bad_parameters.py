"""Bad query parameters get a 400 naming the parameter, never a 500: a NUL character
anywhere (API and pages alike), a time zone offset no zone has, a cursor this API never
gave."""

from urllib.parse import urlencode

import pytest

from cdp_site.permissions import ADMIN
from integrations import services
from integrations.models import Source
from profiles.models import Profile

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client_as):
    return client_as(ADMIN)


def _bad_parameter(response) -> dict:
    assert response.status_code == 400, response.content
    return response.json()["error"]["fields"]


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/api/v1/profiles/?q=a%00", "q"),
        ("/api/v1/segments/?q=%00", "q"),
        ("/api/v1/events?event=Order%00", "event"),
        ("/api/v1/sources?name=%00", "name"),
        ("/api/v1/rejected-events?code=x%00y", "code"),
    ],
)
def test_a_nul_in_an_api_query_parameter_is_a_400_naming_it(admin, url, parameter):
    assert _bad_parameter(admin.get(url)) == {parameter: ["Null characters are not allowed."]}


def test_a_nul_in_a_timeline_filter_is_a_400_naming_it(admin):
    profile = Profile.objects.create(display_name="Ann")
    response = admin.get(f"/api/v1/profiles/{profile.pk}/timeline/?type=%00")
    assert "type" in _bad_parameter(response)


def test_a_nul_in_a_parameter_name_is_a_400_too(admin):
    assert _bad_parameter(admin.get("/api/v1/profiles/?a%00b=1")) == {
        "a\\x00b": ["Null characters are not allowed."]
    }


@pytest.mark.parametrize(
    "url", ["/profiles/?q=%00", "/segments/?q=a%00", "/integrations/?name=%00"]
)
def test_a_nul_in_a_page_query_parameter_is_a_400_page_naming_it(admin, url):
    response = admin.get(url)
    assert response.status_code == 400
    html = response.content.decode()
    assert "This request could not be read" in html
    assert "Null characters are not allowed" in html


def test_a_nul_in_a_posted_form_is_a_400_page_and_nothing_is_saved(admin):
    response = admin.post(
        "/integrations/sources/new/",
        urlencode({"name": "Shop\x00", "kind": "website"}),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert not Source.objects.exists()


@pytest.mark.parametrize(
    "parameter", ["timestamp_after", "timestamp_before", "received_after", "received_before"]
)
@pytest.mark.parametrize("offset", ["%2B16:00", "-18:45"])
def test_an_event_time_filter_with_an_impossible_offset_is_a_400_naming_it(
    admin, parameter, offset
):
    response = admin.get(f"/api/v1/events?{parameter}=2026-01-01T00:00:00{offset}")
    assert list(_bad_parameter(response)) == [parameter]


def test_a_rejected_events_time_filter_with_an_impossible_offset_is_a_400(admin):
    response = admin.get("/api/v1/rejected-events?received_after=2026-01-01T00:00:00%2B16:00")
    assert list(_bad_parameter(response)) == ["received_after"]


def test_an_event_time_filter_with_a_real_offset_still_filters(admin):
    source = services.create_source(name="Web", kind=Source.Kind.WEBSITE)
    services.ingest_messages(
        source_id=source.id,
        messages=[
            {"type": "track", "userId": "ann", "event": "A", "timestamp": "2026-01-01T10:00:00Z"}
        ],
    )
    after = admin.get("/api/v1/events?timestamp_after=2026-01-01T23:30:00%2B14:00").json()
    before = admin.get("/api/v1/events?timestamp_after=2026-01-02T00:30:00%2B14:00").json()
    assert [e["event"] for e in after["results"]] == ["A"]
    assert before["results"] == []


@pytest.mark.parametrize("cursor", ["%C2%B9", "zz", "cD1hYmM%3D"])  # the last: position "abc"
def test_a_cursor_this_api_never_gave_is_a_400_naming_it(admin, cursor):
    assert list(_bad_parameter(admin.get(f"/api/v1/sources?cursor={cursor}"))) == ["cursor"]
