"""The connections REST API against a real local JSON API: the same services as the pages,
secrets write-only, errors as {field: reason}, runs started, listed, cancelled."""

import pytest

from cdp_site.permissions import ADMIN, MARKETER
from demo.imitations import rest as rest_api
from integrations.connectors.models import Connection, SyncRun
from integrations.models import Event
from integrations.services import archive_source
from tests.support.connectors import drive

from .test_connector_sync import connect, customer

pytestmark = pytest.mark.django_db

API = "/api/v1/connections/"


@pytest.fixture
def api():
    imitation = rest_api.start(records=[customer(n) for n in range(12)], token="t0ken")
    yield imitation
    imitation.stop()


@pytest.fixture
def admin(client_as):
    return client_as(ADMIN)


def body(api, **changes) -> dict:
    return {
        "name": "Partner API",
        "kind": "rest",
        "base_url": api.url,
        "config": {
            "path": "/customers",
            "records_path": "$.data",
            "paging": "offset",
            "page_size": "5",
            "auth": "bearer",
        },
        "secrets": {"token": "t0ken"},
        "streams": {"records": {"enabled": True, "rules": "userId = $.id\ntraits.email = $.email"}},
        "schedule_minutes": 0,
        "party": "third",
        "history_days": 2,
        **changes,
    }


def post(client, url, data=None):
    return client.post(url, data or {}, content_type="application/json")


def test_create_then_read_never_returns_the_secret(admin, api):
    created = post(admin, API, body(api))
    assert created.status_code == 201, created.json()
    answer = created.json()
    assert "secrets" not in answer and "t0ken" not in created.content.decode()
    assert answer["secret_status"] == {"token": "set", "username": "not set", "password": "not set"}
    assert answer["config"]["page_size"] == 5  # the kind's int field, as a number
    assert answer["streams"]["records"]["rules"] == "userId = $.id\ntraits.email = $.email"
    assert answer["party"] == "third" and answer["next_run_at"] is None
    connection = Connection.objects.get(pk=answer["id"])
    assert connection.source.party == "third" and connection.source_id == answer["source"]
    listed = admin.get(API).json()["results"]
    assert [c["name"] for c in listed] == ["Partner API"]


def test_invalid_input_answers_field_by_field(admin, api):
    data = body(
        api,
        config={"path": "", "page_size": "many", "paging": "sideways", "colour": "red"},
        streams={"records": {"rules": "userId $.id"}, "orders": {}},
    )
    answer = post(admin, API, data)
    assert answer.status_code == 400
    fields = answer.json()["error"]["fields"]
    assert set(fields) == {"config.page_size", "config.paging"}
    # Once the types are right, the service's own checks speak, field by field too.
    data["config"] = {"path": "", "colour": "red"}
    fields = post(admin, API, data).json()["error"]["fields"]
    assert fields["config.path"] == ["Required."]
    assert fields["config.colour"] == ["Not a setting of this connector."]
    assert fields["streams.records.rules"][0].startswith("Line 1")
    assert "streams.orders" in fields
    assert not Connection.objects.exists()


def test_an_unknown_kind_is_a_field_error(admin, api):
    fields = post(admin, API, body(api, kind="telepathy")).json()["error"]["fields"]
    assert fields == {"kind": ["No such connector is installed."]}


def test_patch_changes_settings_and_keeps_the_secret_left_out(admin, api):
    connection = connect(api)
    answer = admin.patch(
        f"{API}{connection.pk}",
        {"name": "Renamed", "schedule_minutes": 30, "secrets": {"token": ""}},
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.json()
    connection.refresh_from_db()
    assert connection.source.name == "Renamed" and connection.schedule_minutes == 30
    assert answer.json()["secret_status"]["token"] == "set"
    kind_change = admin.patch(
        f"{API}{connection.pk}", {"kind": "x"}, content_type="application/json"
    )
    assert kind_change.json()["error"]["fields"] == {"kind": ["The kind cannot change."]}


def test_a_connection_whose_source_is_archived_does_not_change(admin, api):
    connection = connect(api)
    archive_source(source=connection.source)
    answer = admin.patch(
        f"{API}{connection.pk}", {"schedule_minutes": 30}, content_type="application/json"
    )
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "source_archived"
    connection.refresh_from_db()
    assert connection.schedule_minutes == 60
    run = post(admin, f"{API}{connection.pk}/runs")
    assert run.status_code == 409 and run.json()["error"]["code"] == "source_off"
    assert "archived" in run.json()["error"]["message"] and not SyncRun.objects.exists()


def test_test_and_preview_read_the_service_and_store_nothing(admin, api):
    connection = connect(api, page_size=5)
    assert post(admin, f"{API}{connection.pk}/test").json()["ok"] is True
    preview = post(admin, f"{API}{connection.pk}/preview", {"stream": "records"}).json()
    assert (preview["records"], preview["more"], preview["error"]) == (5, True, "")
    assert preview["rows"][0]["message"]["userId"] == preview["rows"][0]["record"]["id"]
    tried = post(
        admin, f"{API}{connection.pk}/preview", {"stream": "records", "rules": "anonymousId = $.x"}
    ).json()
    assert all(row["code"] == "no_user_anon_id" for row in tried["rows"]), tried["rows"][0]
    assert Event.objects.count() == 0
    api.token = "rotated"
    failed = post(admin, f"{API}{connection.pk}/test").json()
    assert failed["ok"] is False and failed["code"] == "auth"
    unread = post(admin, f"{API}{connection.pk}/preview", {"stream": "records"})
    assert unread.status_code == 502 and unread.json()["code"] == "auth"


def test_preview_of_an_unknown_stream_or_bad_rules_is_a_field_error(admin, api):
    connection = connect(api)
    url = f"{API}{connection.pk}/preview"
    assert post(admin, url, {"stream": "nope"}).json()["error"]["fields"] == {
        "stream": ["No stream 'nope' here."]
    }
    bad = post(admin, url, {"stream": "records", "rules": "userId $.id"})
    assert list(bad.json()["error"]["fields"]) == ["rules"]


def test_start_run_list_and_read_it_with_its_rejections(admin, api):
    api.records[2] = {"email": "nokey@example.com", "updated_at": "2026-03-01T10:00:00Z"}
    connection = connect(api)
    started = post(admin, f"{API}{connection.pk}/runs", {"full": True})
    assert started.status_code == 201 and started.json()["trigger"] == "full"
    again = post(admin, f"{API}{connection.pk}/runs")
    assert again.status_code == 409 and "still going" in again.json()["error"]["message"]
    run = SyncRun.objects.get()
    drive(run)
    listed = admin.get(f"{API}{connection.pk}/runs").json()
    assert [(r["status"], r["stored"], r["rejected"]) for r in listed] == [("succeeded", 11, 1)]
    detail = admin.get(f"{API}{connection.pk}/runs/{run.pk}").json()
    assert detail["errors"][0]["reason"] == "The record has no primary key ($.id)."


def test_cancel_pause_and_resume(admin, api):
    connection = connect(api)
    nothing = post(admin, f"{API}{connection.pk}/cancel")
    assert nothing.status_code == 409
    post(admin, f"{API}{connection.pk}/runs")
    cancelled = post(admin, f"{API}{connection.pk}/cancel").json()
    assert cancelled["cancel_requested"] is True
    paused = post(admin, f"{API}{connection.pk}/pause").json()
    assert paused["paused"] is True and paused["active_run"] == cancelled["id"]
    assert post(admin, f"{API}{connection.pk}/resume").json()["paused"] is False


def test_kinds_list_their_fields_and_streams(admin):
    kinds = {k["key"]: k for k in admin.get("/api/v1/connector-kinds").json()}
    rest = kinds["rest"]
    assert "path" in [f["name"] for f in rest["config"]]
    assert [f["name"] for f in rest["secrets"]] == ["token", "username", "password"]
    assert rest["streams"][0]["rules"].startswith("userId = $.id")


def test_marketers_are_refused(client_as, api):
    connection = connect(api)
    marketer = client_as(MARKETER)
    assert marketer.get(API).status_code == 403
    assert post(marketer, f"{API}{connection.pk}/runs").status_code == 403
    assert not SyncRun.objects.exists()
