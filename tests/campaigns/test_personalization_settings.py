"""The personalisation settings: the admin page and the REST API (one service behind
both), the segment's on-site flag in the segments API, and roles."""

import pytest

from campaigns.models import PersonalizationSetting
from cdp_site.permissions import ADMIN, MARKETER
from integrations import services
from integrations.models import Source
from segments.models import Segment

pytestmark = pytest.mark.django_db
JSON = "application/json"
API = "/api/v1/campaigns/personalization/"


@pytest.fixture
def site(db):
    return services.create_source(name="Webshop", kind=Source.Kind.WEBSITE)


@pytest.fixture
def flagged(db):
    return Segment.objects.create(name="VIP", kind=Segment.Kind.STATIC, on_site=True)


def test_admin_saves_public_choices_on_the_page(client_as, site, flagged):
    page = client_as(ADMIN)
    url = f"/campaigns/personalization/{site.pk}/"
    assert flagged.name in page.get(url).content.decode()

    response = page.post(
        url,
        {
            "segments": [flagged.pk],
            "traits": "plan\nloyaltyTier",
            "stage": "on",
            "origins": "https://Shop.example/",
        },
    )

    assert response.status_code == 302
    setting = PersonalizationSetting.objects.get(source=site)
    assert list(setting.segments.all()) == [flagged]
    assert setting.traits == ["plan", "loyaltyTier"] and setting.stage
    site.refresh_from_db()
    assert site.personalize_origins == ["https://shop.example"]
    assert "Webshop" in page.get("/campaigns/personalization/").content.decode()


def test_page_shows_a_bad_origin_at_its_field(client_as, site):
    response = client_as(ADMIN).post(
        f"/campaigns/personalization/{site.pk}/", {"origins": "ftp://shop.example"}
    )

    assert response.status_code == 400
    assert "is not an origin like https://shop.example" in response.content.decode()
    assert not PersonalizationSetting.objects.filter(source=site).exists()


def test_marketer_reads_but_cannot_change_a_sources_personalisation(client_as, site):
    marketer = client_as(MARKETER)

    assert marketer.post(f"/campaigns/personalization/{site.pk}/", {}).status_code == 403
    body = {"segments": [], "traits": [], "stage": True, "origins": []}
    assert marketer.put(f"{API}{site.pk}/", body, content_type=JSON).status_code == 403


def test_api_replaces_settings_and_refuses_at_the_field(client_as, site, flagged):
    api = client_as(ADMIN)
    plain = Segment.objects.create(name="Plain", kind=Segment.Kind.STATIC)
    body = {
        "segments": [flagged.pk],
        "traits": ["plan"],
        "stage": True,
        "origins": ["https://shop.example"],
    }

    saved = api.put(f"{API}{site.pk}/", body, content_type=JSON)
    refused = api.put(f"{API}{site.pk}/", {**body, "segments": [plain.pk]}, content_type=JSON)

    assert saved.status_code == 200
    assert saved.json() == {"source": site.pk, **body}
    assert refused.status_code == 400
    assert "segments" in refused.json()["error"]["fields"]
    assert api.get(f"{API}{site.pk}/").json() == {"source": site.pk, **body}
    assert {"source": site.pk, **body} in api.get(API).json()


def test_segments_api_sets_the_on_site_flag(client_as, flagged):
    api = client_as(MARKETER)

    response = api.patch(f"/api/v1/segments/{flagged.pk}/", {"on_site": False}, content_type=JSON)

    assert response.status_code == 200 and response.json()["on_site"] is False
    flagged.refresh_from_db()
    assert flagged.on_site is False
