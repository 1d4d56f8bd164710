"""File import through the UI and the REST API: upload, HTMX mapping, progress partial."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cdp_site.permissions import ADMIN
from integrations import services as integration_services
from integrations.imports import selectors, tasks
from integrations.imports import services as imports
from integrations.imports.mapping import Mapping
from integrations.imports.models import FileImport
from integrations.models import Event, Source

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _uploads_in_tmp(settings, tmp_path):
    settings.VAR_DIR = tmp_path


CSV = b"customer_id;email;name;age\nC1;a@example.org;Ann;30\nC2;b@example.org;Bob;x\n"


@pytest.fixture
def erp(db):
    return integration_services.create_source(name="ERP", kind=Source.Kind.ERP)


@pytest.fixture
def run_now(monkeypatch):
    """The import task runs in-process when the transaction commits (the test is about pages).

    Event processing is not queued: a task left on the shared broker would be picked up by
    the worker-kill test's real worker.
    """
    monkeypatch.setattr(
        tasks.run_file_import, "delay", lambda pk: tasks.run_file_import.apply(args=[pk])
    )
    monkeypatch.setattr(integration_services, "trigger_processing", lambda: None)


def test_upload_map_and_import_through_the_pages(
    client_as, erp, run_now, django_capture_on_commit_callbacks
):
    client = client_as(ADMIN)
    response = client.post(
        f"/integrations/sources/{erp.pk}/imports/new/",
        {"file": SimpleUploadedFile("customers.csv", CSV, content_type="text/csv")},
    )
    created = FileImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/integrations/imports/{created.pk}/mapping/"
    page = client.get(response["Location"]).content.decode()
    assert "Ann" in page and "<code>;</code>" in page  # preview and the detected delimiter
    form = {
        "row_kind": "identify",
        "user_id_column": "customer_id",
        "email_column": "email",
        "row_key_column": "customer_id",
        "use_2": "on",
        "name_2": "first_name",
        "type_2": "text",
        "use_3": "on",
        "name_3": "age",
        "type_3": "number",
    }
    bad = client.post(
        response["Location"],
        {**form, "user_id_column": "", "email_column": ""},
        HTTP_HX_REQUEST="true",
    )
    assert bad.content.decode().lstrip().startswith('<section id="mapping-form"')
    assert "Choose a userId" in bad.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(response["Location"], form, HTTP_HX_REQUEST="true")
    assert done["HX-Redirect"] == f"/integrations/imports/{created.pk}/"
    created.refresh_from_db()
    assert (created.status, created.stored, created.error_count) == ("done", 1, 1)
    assert Event.objects.get(source_id=erp.pk).payload["traits"] == {
        "first_name": "Ann",
        "age": 30,
        "email": "a@example.org",
    }
    detail = client.get(f"/integrations/imports/{created.pk}/").content.decode()
    assert "age: &#x27;x&#x27; is not a number" in detail and ">3<" in detail


def test_the_next_file_is_prefilled_with_the_saved_mapping(client_as, erp):
    saved = Mapping(
        row_kind="track",
        event_name="Invoice Paid",
        email_column="email",
        fields=[{"column": "age", "name": "years", "type": "number"}],
    )
    imports.save_mapping(source=erp, mapping=saved)
    created = imports.create_import(source=erp, chunks=[CSV], original_name="next.csv")
    page = client_as(ADMIN).get(f"/integrations/imports/{created.pk}/mapping/").content.decode()
    assert 'value="Invoice Paid"' in page
    assert 'value="years"' in page
    assert '<option value="email" selected>' in page


def test_progress_partial_renders_and_polls_while_running(client_as, erp):
    created = imports.create_import(source=erp, chunks=[CSV], original_name="c.csv")
    imports.start_import(file_import=created, mapping=Mapping(user_id_column="customer_id"))
    client = client_as(ADMIN)
    partial = client.get(f"/integrations/imports/{created.pk}/", HTTP_HX_REQUEST="true")
    body = partial.content.decode()
    assert body.lstrip().startswith('<section id="import-progress"')
    assert 'hx-trigger="every 1s"' in body and "<progress" in body
    imports.run_import(import_id=created.pk)
    finished = client.get(f"/integrations/imports/{created.pk}/", HTTP_HX_REQUEST="true")
    assert "every 1s" not in finished.content.decode()
    assert 'value="100"' in finished.content.decode()


def test_non_utf8_upload_shows_the_error_on_the_form(client_as, erp):
    latin = "id,name\n1,Jos\u00e9\n".encode("latin-1")
    response = client_as(ADMIN).post(
        f"/integrations/sources/{erp.pk}/imports/new/",
        {"file": SimpleUploadedFile("c.csv", latin)},
    )
    assert response.status_code == 200
    assert "Line 2 is not valid UTF-8" in response.content.decode()


def test_source_page_includes_the_import_section(client_as, erp):
    client = client_as(ADMIN)
    page = client.get(f"/integrations/sources/{erp.pk}/").content.decode()
    assert f"/integrations/sources/{erp.pk}/imports/" in page
    section = client.get(f"/integrations/sources/{erp.pk}/imports/", HTTP_HX_REQUEST="true")
    assert section.content.decode().lstrip().startswith('<section id="source-imports"')


def test_api_uploads_with_a_mapping_and_reports_status_and_errors(
    client_as, erp, run_now, django_capture_on_commit_callbacks
):
    client = client_as(ADMIN)
    mapping = {
        "row_kind": "identify",
        "user_id_column": "customer_id",
        "fields": [{"column": "age", "name": "age", "type": "number"}],
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/imports",
            {
                "source": erp.pk,
                "file": SimpleUploadedFile("c.csv", CSV),
                "mapping": json.dumps(mapping),
            },
        )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    status = client.get(f"/api/v1/imports/{pk}").json()
    assert (status["status"], status["stored"], status["error_count"]) == ("done", 1, 1)
    errors = client.get(f"/api/v1/imports/{pk}/errors").json()
    assert errors["count"] == 1 and errors["errors"][0]["line"] == 3
    assert client.get("/api/v1/imports", {"source": erp.pk}).json()["results"][0]["id"] == pk
    assert client.get("/api/v1/imports", {"source": erp.pk + 1}).json()["results"] == []
    refused = client.get("/api/v1/imports", {"source": "erp"})
    assert refused.status_code == 400 and "source" in refused.json()["error"]["fields"]


def test_api_upload_then_start_with_the_saved_mapping(client_as, erp):
    client = client_as(ADMIN)
    created = client.post(
        "/api/v1/imports", {"source": erp.pk, "file": SimpleUploadedFile("c.csv", CSV)}
    ).json()
    assert created["status"] == "uploaded" and created["delimiter"] == ";"
    refused = client.post(
        f"/api/v1/imports/{created['id']}/start", {}, content_type="application/json"
    )
    assert refused.status_code == 400 and "mapping" in refused.json()["error"]["fields"]
    imports.save_mapping(source=erp, mapping=Mapping(user_id_column="customer_id"))
    started = client.post(
        f"/api/v1/imports/{created['id']}/start", {}, content_type="application/json"
    )
    assert started.status_code == 200 and started.json()["status"] == "queued"
    assert selectors.saved_mapping(source=erp).user_id_column == "customer_id"


def test_api_refuses_a_non_utf8_file_with_the_error_shape(client_as, erp):
    response = client_as(ADMIN).post(
        "/api/v1/imports", {"source": erp.pk, "file": SimpleUploadedFile("c.csv", b"id\n\xff\n")}
    )
    assert response.status_code == 400
    assert "UTF-8" in response.json()["error"]["fields"]["file"][0]


def test_api_configures_a_source_webhook(client_as, erp):
    client = client_as(ADMIN)
    assert client.get(f"/api/v1/sources/{erp.pk}/webhook").status_code == 404
    created = client.post(
        f"/api/v1/sources/{erp.pk}/webhook",
        {"kind": "identify", "rules": "userId = $.id", "require_signature": False},
        content_type="application/json",
    ).json()
    assert created["rules"] == [{"target": "userId", "path": "$.id"}]
    assert created["url"].endswith(f"/hooks/{created['token']}")
    rotated = client.post(
        f"/api/v1/sources/{erp.pk}/webhook", {"rotate": True}, content_type="application/json"
    ).json()
    assert rotated["secret"] != created["secret"]
