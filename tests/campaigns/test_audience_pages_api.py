"""Audience syncs' pages and REST API: marketers create, see and resync syncs, roles
without campaigns do neither, admins alone manage the destinations; bad input answers
under its field; a segment or destination a sync uses is not deleted from under it."""

import pytest

from campaigns.audiences import services
from campaigns.audiences.models import AudienceSync
from cdp_site.permissions import ACCOUNT_MANAGER, ADMIN, MARKETER, VIEWER
from integrations.destinations import services as destinations
from segments import services as segments
from tests.support import ad_platforms

pytestmark = pytest.mark.django_db
JSON = "application/json"
URL = "/api/v1/campaigns/audiences/"


@pytest.fixture
def meta(db):
    return destinations.create_destination(
        name="Meta ads",
        kind="meta_custom_audience",
        config={"api_base": "https://graph.example/v25.0"},
        secrets={"access_token": "meta-token"},
    )


@pytest.fixture
def gold(db):
    return segments.create_segment(name="Gold", rule=ad_platforms.GOLD_RULE)


def body(meta, gold, **changes):
    return {
        "name": "Gold to Meta",
        "segment": gold.pk,
        "destination": meta.pk,
        "audience_id": "2385",
        **changes,
    }


def test_a_marketer_creates_lists_reads_and_resyncs_through_the_api(client_as, meta, gold):
    api = client_as(MARKETER)
    created = api.post(URL, body(meta, gold), content_type=JSON)
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert [s["id"] for s in api.get(URL).json()["results"]] == [pk]
    detail = api.get(f"{URL}{pk}/").json()
    assert detail["status"] == "active"
    assert set(detail["sync_status"]) >= {"members_sent", "added", "removed", "failed"}
    AudienceSync.objects.filter(pk=pk).update(status="paused", status_message="reconnect")
    resync = api.post(f"{URL}{pk}/resync/")
    assert resync.status_code == 202
    assert resync.json()["sync"]["status"] == "active"


def test_bad_input_answers_under_its_field(client_as, meta, gold):
    api = client_as(MARKETER)
    refused = api.post(URL, body(meta, gold, audience_id="not-a-number"), content_type=JSON)
    assert refused.status_code == 400
    assert "audience_id" in refused.json()["error"]["fields"]
    hook = destinations.create_destination(
        name="Hook",
        kind="webhook",
        config={"url": "https://hook.example/"},
        secrets={"signing_secret": "s"},
    )
    wrong = api.post(URL, body(meta, gold, destination=hook.pk), content_type=JSON)
    assert "destination" in wrong.json()["error"]["fields"]
    assert AudienceSync.objects.count() == 0


@pytest.mark.parametrize("role", [VIEWER, ACCOUNT_MANAGER])
def test_roles_without_campaigns_neither_see_nor_resync(client, make_user, meta, gold, role):
    made = services.create_sync(name="Gold", segment=gold, destination=meta, audience_id="1")
    client.force_login(make_user(role))
    assert client.get(URL).status_code == 403
    assert client.post(URL, body(meta, gold), content_type=JSON).status_code == 403
    assert client.post(f"{URL}{made.pk}/resync/").status_code == 403
    assert client.get(f"/campaigns/audiences/{made.pk}/").status_code == 403
    assert client.post(f"/campaigns/audiences/{made.pk}/resync/").status_code == 403


def test_a_marketer_cannot_set_up_destinations(client_as):
    api = client_as(MARKETER)
    attempt = {"name": "Ads", "kind": "meta_custom_audience", "secrets": {"access_token": "x"}}
    assert api.post("/api/v1/destinations/", attempt, content_type=JSON).status_code == 403


def test_the_pages_create_a_sync_and_show_its_status(client_as, meta, gold):
    page = client_as(MARKETER)
    assert page.get("/campaigns/audiences/new/").status_code == 200
    bad = page.post("/campaigns/audiences/new/", body(meta, gold, audience_id="x y"))
    assert bad.status_code == 400 and b"The audience id is the number" in bad.content
    made = page.post("/campaigns/audiences/new/", body(meta, gold))
    sync = AudienceSync.objects.get()
    assert made.status_code == 302 and made.url == f"/campaigns/audiences/{sync.pk}/"
    detail = page.get(made.url)
    assert b"Resync everything" in detail.content and b"In the audience" in detail.content
    fragment = page.get(made.url, HTTP_HX_REQUEST="true")
    assert b"<h1>" not in fragment.content and b'id="sync-status"' in fragment.content
    resynced = page.post(f"{made.url}resync/", HTTP_HX_REQUEST="true")
    assert b"Resync asked" in resynced.content
    assert b"Gold to Meta" in page.get("/campaigns/audiences/").content


def test_a_destination_or_segment_in_use_by_a_sync_is_not_deleted(client_as, meta, gold):
    services.create_sync(name="Gold sync", segment=gold, destination=meta, audience_id="1")
    with pytest.raises(destinations.DestinationInUse, match="Gold sync"):
        destinations.delete_destination(destination=meta)
    assert "Gold sync" in segments.deletion_problem(segment=gold)


def test_an_admin_sees_the_sync_too(client_as, meta, gold):
    services.create_sync(name="Gold", segment=gold, destination=meta, audience_id="1")
    assert client_as(ADMIN).get(URL).json()["results"][0]["name"] == "Gold"
