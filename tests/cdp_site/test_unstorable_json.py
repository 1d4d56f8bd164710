"""A NUL or a lone surrogate anywhere in JSON the API stores in jsonb (a campaign's steps,
a destination's settings, an import's mapping or its file's header) is a 400 naming the
field, not a 500 (found by probing every JSON text of the API with NUL)."""

import io
import json

import pytest

from campaigns.models import Campaign
from cdp_site.permissions import ADMIN
from integrations import services
from integrations.destinations.models import Destination
from integrations.imports import services as imports
from integrations.imports.models import FileImport
from integrations.models import Source

pytestmark = pytest.mark.django_db
JSON = "application/json"


@pytest.fixture
def api(client_as, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return client_as(ADMIN)


@pytest.fixture
def source(db):
    return services.create_source(name="Tills", kind=Source.Kind.POINT_OF_SALE)


def _field_error(response, field):
    assert response.status_code == 400, response.content
    return response.json()["error"]["fields"][field]


@pytest.mark.parametrize("bad", ["v\x00", "\ud800", {"nested": ["a\x00"]}])
def test_a_campaign_step_with_unstorable_text_is_a_field_error(api, bad):
    steps = [{"id": "a", "type": "set_trait", "key": "k", "value": bad}]
    body = json.dumps({"name": "c", "kind": "event", "trigger_event": "x", "steps": steps})
    errors = _field_error(api.post("/api/v1/campaigns/", body, content_type=JSON), "steps")
    assert "cannot be stored" in errors[0]
    assert not Campaign.objects.exists()


def test_a_destination_setting_with_a_nul_is_a_field_error(api):
    body = {"name": "d", "kind": "csv_export", "config": {"folder": "out\x00"}}
    errors = _field_error(api.post("/api/v1/destinations/", body, content_type=JSON), "config")
    assert "cannot be stored" in errors[0]
    assert not Destination.objects.exists()


def test_an_import_file_whose_header_holds_a_nul_is_refused(api, source):
    upload = io.BytesIO(b"id,n\x00ame\n1,a\n")
    upload.name = "people.csv"
    response = api.post("/api/v1/imports", {"source": source.pk, "file": upload})
    assert "NUL" in _field_error(response, "file")[0]
    assert not FileImport.objects.exists()


def test_an_import_mapping_with_a_nul_is_a_field_error(api, source):
    made = imports.create_import(source=source, chunks=[b"id,name\n1,a\n"], original_name="a.csv")
    mapping = {
        "row_kind": "identify",
        "user_id_column": "id",
        "fields": [{"column": "name", "name": "na\x00me", "type": "text"}],
    }
    response = api.post(f"/api/v1/imports/{made.pk}/start", {"mapping": mapping}, content_type=JSON)
    assert "cannot be stored" in _field_error(response, "mapping")[0]
    assert FileImport.objects.get(pk=made.pk).status == FileImport.Status.UPLOADED
