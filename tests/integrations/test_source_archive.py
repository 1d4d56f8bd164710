"""Deleting and archiving sources: a source that sent data is archived (disabled, keys
refused, out of the lists, history kept, restorable); one that never did is deleted for
real. Service, REST API and pages, admins only."""

import pytest

from cdp_site.permissions import ADMIN, MARKETER
from integrations import processing, services
from integrations.imports import files
from integrations.imports import services as imports
from integrations.imports.models import FileImport
from integrations.models import Event, RejectedEvent, Source
from profiles.models import ProfileEvent

from .conftest import basic

pytestmark = pytest.mark.django_db
JSON = "application/json"


@pytest.fixture(autouse=True)
def _uploads_in_tmp(settings, tmp_path):
    settings.VAR_DIR = tmp_path


@pytest.fixture
def admin(client_as):
    return client_as(ADMIN)


@pytest.fixture
def used(db):
    """A source whose three events were processed into a profile."""
    source = services.create_source(name="Shop", kind=Source.Kind.SERVER)
    services.ingest_messages(
        source_id=source.pk,
        messages=[{"type": "track", "userId": "ann", "event": f"E{i}"} for i in range(3)],
    )
    while processing.process_inbox_batch():
        pass
    assert ProfileEvent.objects.filter(source=source).count() == 3
    return source


@pytest.fixture
def unused(db):
    source = services.create_source(name="Never used", kind=Source.Kind.CRM)
    RejectedEvent.objects.create(source=source, code="invalid", reason="bad")
    return source


def _track(client, source):
    return client.post(
        "/v1/track",
        {"userId": "bob", "event": "Hi"},
        content_type=JSON,
        HTTP_AUTHORIZATION=basic(source.write_key),
    )


def _names(api, query=""):
    return [s["name"] for s in api.get(f"/api/v1/sources{query}").json()["results"]]


# --- REST API ---------------------------------------------------------------------------


def test_deleting_a_source_that_sent_events_is_a_409_pointing_at_archive(admin, used):
    response = admin.delete(f"/api/v1/sources/{used.pk}")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "source_has_data"
    assert "has sent 3 events" in error["message"]
    assert f"POST /api/v1/sources/{used.pk}/archive" in error["message"]
    used.refresh_from_db()
    assert used.archived_at is None and used.enabled
    assert Event.objects.filter(source_id=used.pk).count() == 3


def test_deleting_a_source_that_never_sent_anything_deletes_it_and_its_files(
    admin, unused, django_capture_on_commit_callbacks
):
    upload = imports.create_import(source=unused, chunks=[b"id\n1\n"], original_name="a.csv")
    path = files.path_of(upload.stored_name)
    assert path.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.delete(f"/api/v1/sources/{unused.pk}")
    assert response.status_code == 204
    assert not path.exists()
    assert not Source.objects.filter(pk=unused.pk).exists()
    assert not RejectedEvent.objects.exists() and not FileImport.objects.exists()


def test_an_archived_source_is_disabled_refused_hidden_and_keeps_its_history(admin, used, client):
    other = services.create_source(name="App", kind=Source.Kind.MOBILE_APP)
    assert _track(client, used).status_code == 200

    response = admin.post(f"/api/v1/sources/{used.pk}/archive")
    assert response.status_code == 200
    body = response.json()
    assert body["archived_at"] and body["enabled"] is False

    refused = _track(client, used)
    assert refused.status_code == 401 and refused.json()["code"] == "invalid_write_key"
    assert _names(admin) == ["App"] == [other.name]
    assert _names(admin, "?archived=true") == ["Shop"]
    assert _names(admin, "?archived=false") == ["App"]
    assert admin.get(f"/api/v1/sources/{used.pk}").json()["name"] == "Shop"
    assert Event.objects.filter(source_id=used.pk).count() == 4
    assert ProfileEvent.objects.filter(source=used).count() == 3
    again = admin.post(f"/api/v1/sources/{used.pk}/archive")  # nothing changes twice
    assert again.json()["archived_at"] == body["archived_at"]


def test_an_archived_source_cannot_change_until_restored(admin, used):
    services.archive_source(source=used)
    for response in (
        admin.patch(f"/api/v1/sources/{used.pk}", {"enabled": True}, content_type=JSON),
        admin.post(f"/api/v1/sources/{used.pk}/rotate-key", {"grace_hours": 0}, content_type=JSON),
    ):
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "source_archived"
    used.refresh_from_db()
    assert used.enabled is False


def test_a_restored_source_is_listed_again_and_takes_data_once_enabled(admin, used, client):
    services.archive_source(source=used)
    restored = admin.post(f"/api/v1/sources/{used.pk}/restore").json()
    assert restored["archived_at"] is None and restored["enabled"] is False
    assert "Shop" in _names(admin)
    assert _track(client, used).json()["code"] == "source_disabled"

    admin.patch(f"/api/v1/sources/{used.pk}", {"enabled": True}, content_type=JSON)
    assert _track(client, used).status_code == 200


def test_only_admins_archive_restore_or_delete(client_as, used):
    marketer = client_as(MARKETER)
    for method, url in [
        ("post", f"/api/v1/sources/{used.pk}/archive"),
        ("post", f"/api/v1/sources/{used.pk}/restore"),
        ("delete", f"/api/v1/sources/{used.pk}"),
        ("post", f"/integrations/sources/{used.pk}/archive/"),
        ("post", f"/integrations/sources/{used.pk}/delete/"),
    ]:
        assert getattr(marketer, method)(url).status_code == 403, url
    used.refresh_from_db()
    assert used.archived_at is None


# --- pages ------------------------------------------------------------------------------


def test_delete_on_a_used_source_confirms_that_it_will_be_archived_not_deleted(admin, used):
    html = admin.get(f"/integrations/sources/{used.pk}/delete/").content.decode()
    assert "has sent <strong>3 events</strong>" in html
    assert "archived, not deleted" in html
    assert f'action="/integrations/sources/{used.pk}/archive/"' in html
    used.refresh_from_db()
    assert used.archived_at is None  # a confirmation changes nothing


def test_delete_on_an_unused_source_confirms_then_deletes_it_for_good(admin, unused):
    html = admin.get(f"/integrations/sources/{unused.pk}/delete/").content.decode()
    assert "never sent an event" in html and "1 rejected message" in html
    response = admin.post(f"/integrations/sources/{unused.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == "/integrations/"
    assert not Source.objects.filter(pk=unused.pk).exists()


def test_posting_delete_for_a_used_source_deletes_nothing_and_offers_archive(admin, used):
    response = admin.post(f"/integrations/sources/{used.pk}/delete/", follow=True)
    assert response.redirect_chain[-1][0] == f"/integrations/sources/{used.pk}/archive/"
    assert "cannot be deleted" in response.content.decode()
    assert Source.objects.filter(pk=used.pk, archived_at=None).exists()


def test_archiving_on_the_page_hides_the_source_until_the_filter_shows_it(admin, used):
    response = admin.post(f"/integrations/sources/{used.pk}/archive/", follow=True)
    assert "is archived" in response.content.decode()
    assert "Shop" not in admin.get("/integrations/").content.decode()
    archived = admin.get("/integrations/?archived=true").content.decode()
    assert "Shop" in archived
    assert f'href="/integrations/sources/{used.pk}/restore/"' in archived

    html = admin.get(f"/integrations/sources/{used.pk}/restore/").content.decode()
    assert "still disabled" in html
    admin.post(f"/integrations/sources/{used.pk}/restore/")
    assert "Shop" in admin.get("/integrations/").content.decode()


def test_htmx_asks_for_the_confirmation_fragment_alone(admin, used):
    html = admin.get(
        f"/integrations/sources/{used.pk}/archive/", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert html.lstrip().startswith('<section id="source-confirm"')
    assert "<nav" not in html and "3 events" in html
