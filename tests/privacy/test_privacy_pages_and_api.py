"""Privacy request pages and REST API: account managers record and run requests (erasure
only once confirmed; the status part polls while it runs), viewers and marketers are
refused; the API creates, reads and runs a request and gives the export's link."""

import pytest

from cdp_site.models import AuditEntry
from cdp_site.permissions import ACCOUNT_MANAGER, MARKETER, VIEWER
from profiles import tasks
from profiles.models import PrivacyRequest
from tests.profiles.conftest import message, send, web  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _var(settings, tmp_path):
    settings.VAR_DIR = tmp_path


@pytest.fixture
def bo(send, web):  # noqa: F811
    send(web, message("identify", userId="bo", traits={"email": "bo@example.org"}))


FORM = {
    "kind": "erasure",
    "identifier_kind": "email",
    "identifier_value": " BO@example.org",
    "verification": "document",
    "verification_note": "ID card seen at the counter",
}


@pytest.mark.parametrize("role", [VIEWER, MARKETER])
def test_viewers_and_marketers_cannot_see_or_make_requests(role, client_as):
    client = client_as(role)
    assert client.get("/profiles/privacy/").status_code == 403
    assert client.post("/profiles/privacy/new/", FORM).status_code == 403
    assert client.get("/api/v1/privacy-requests/").status_code == 403
    assert not PrivacyRequest.objects.exists()


def test_an_account_manager_records_and_erases_after_confirming(bo, client_as):
    client = client_as(ACCOUNT_MANAGER)
    assert client.get("/profiles/privacy/new/").status_code == 200
    response = client.post("/profiles/privacy/new/", FORM)
    request = PrivacyRequest.objects.get()
    assert (
        response.status_code == 302 and response["Location"] == f"/profiles/privacy/{request.pk}/"
    )
    assert request.identifier_value == "bo@example.org"
    old = PrivacyRequest.objects.create(
        kind="access",
        identifier_kind="email",
        identifier_hash="x",
        verification="email",
        status="completed",
        completed_at=request.requested_at,
    )
    listed = client.get("/profiles/privacy/").content.decode()
    assert "30 days left" in listed
    assert listed.index(f"Erasure #{request.pk}") < listed.index(f"Access (export) #{old.pk}")
    completed = client.get("/profiles/privacy/?status=completed").content.decode()
    assert f"Access (export) #{old.pk}" in completed and "Erasure #" not in completed
    by_api = client.get("/api/v1/privacy-requests/?kind=erasure").json()["results"]
    assert [r["id"] for r in by_api] == [request.pk]
    page = client.get(f"/profiles/privacy/{request.pk}/").content.decode()
    assert "bo@example.org" in page and "This cannot be undone" in page

    unconfirmed = client.post(f"/profiles/privacy/{request.pk}/run/")
    assert unconfirmed.status_code == 400
    assert PrivacyRequest.objects.get(pk=request.pk).status == "open"
    client.post(f"/profiles/privacy/{request.pk}/run/", {"confirm": "on"})
    assert PrivacyRequest.objects.get(pk=request.pk).status == "running"
    polled = client.get(f"/profiles/privacy/{request.pk}/", headers={"HX-Request": "true"})
    assert 'hx-trigger="every 2s"' in polled.content.decode()
    assert "<h1>" not in polled.content.decode()  # only the status part

    tasks.run_privacy_request(request.pk, None)
    done = client.get(f"/profiles/privacy/{request.pk}/").content.decode()
    assert "Completed" in done and "bo@example.org" not in done and "hx-trigger" not in done
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"privacy.request", "privacy.start", "privacy.erase"} <= actions


def test_a_bad_identifier_is_refused_at_the_field(client_as):
    client = client_as(ACCOUNT_MANAGER)
    response = client.post("/profiles/privacy/new/", {**FORM, "identifier_value": "no address"})
    assert response.status_code == 400 and "not a valid email" in response.content.decode()


def test_the_api_creates_reads_and_runs_an_access_request(bo, client_as):
    api = client_as(ACCOUNT_MANAGER)
    body = {**FORM, "kind": "access"}
    created = api.post("/api/v1/privacy-requests/", body, content_type="application/json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert (data["status"], data["identifier_value"], data["download_url"]) == (
        "open",
        "bo@example.org",
        None,
    )
    assert data["due_in_words"] == "30 days left" and data["requested_by"] == (
        "account-manager@example.org"
    )
    run = api.post(
        f"/api/v1/privacy-requests/{data['id']}/run/", {}, content_type="application/json"
    )
    assert run.status_code == 202 and run.json()["status"] == "running"
    again = api.post(
        f"/api/v1/privacy-requests/{data['id']}/run/", {}, content_type="application/json"
    )
    assert again.status_code == 409
    tasks.run_privacy_request(data["id"], None)
    read = api.get(f"/api/v1/privacy-requests/{data['id']}/").json()
    assert read["status"] == "completed" and read["identifier_value"] is None
    assert read["counts"]["identities"] == 2
    assert "/profiles/privacy/download/" in read["download_url"]
    page = api.get(f"/profiles/privacy/{data['id']}/").content.decode()
    assert "Download the export (ZIP)" in page and "the export is deleted on" in page
    assert [r["id"] for r in api.get("/api/v1/privacy-requests/").json()["results"]] == [data["id"]]


def test_the_api_asks_to_confirm_an_erasure(bo, client_as):
    api = client_as(ACCOUNT_MANAGER)
    created = api.post("/api/v1/privacy-requests/", FORM, content_type="application/json").json()
    refused = api.post(
        f"/api/v1/privacy-requests/{created['id']}/run/", {}, content_type="application/json"
    )
    assert refused.status_code == 400 and "confirm" in refused.json()["error"]["fields"]
    unknown = api.post(
        "/api/v1/privacy-requests/",
        {**FORM, "identifier_kind": "shoe_size"},
        content_type="application/json",
    )
    assert "identifier_kind" in unknown.json()["error"]["fields"]
