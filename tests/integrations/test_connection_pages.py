"""The connection pages as an admin uses them, against a real local JSON API (the generic
REST connector): a form built from the kind's declaration, errors on their fields, the
test and the preview, the controls and the live run, the history and its rejections."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from cdp_site.permissions import ADMIN, MARKETER
from demo.imitations import rest as rest_api
from integrations.connectors import registry, selectors, services, sync
from integrations.connectors.base import Field, Kind, Stream
from integrations.connectors.models import Connection, SyncRun
from integrations.models import Event
from integrations.services import archive_source
from tests.support.connectors import drive

from .test_connector_sync import connect, customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    imitation = rest_api.start(records=[customer(n) for n in range(30)], token="t0ken")
    yield imitation
    imitation.stop()


def form_data(api, **changes) -> dict:
    data = {
        "kind": "rest",
        "name": "Partner API",
        "base_url": api.url,
        "schedule": "hourly",
        "request_budget": "0",
        "party": "second",
        "priority": "80",
        "history_days": "3",
        "config__path": "/customers",
        "config__records_path": "$.data",
        "config__paging": "page",
        "config__page_size": "10",
        "config__auth": "bearer",
        "secrets__token": "t0ken",
        "streams__records__enabled": "on",
        "streams__records__rules": "userId = $.id\ntraits.email = $.email",
    }
    return {**data, **changes}


def test_new_connection_offers_every_installed_kind_then_its_form(client_as):
    admin = client_as(ADMIN)
    page = admin.get("/integrations/connections/new/").content.decode()
    for kind in registry.all_kinds():
        assert f"?kind={kind.key}" in page and kind.label in page
    form = admin.get("/integrations/connections/new/?kind=rest").content.decode()
    kind = registry.kind_of("rest")
    for field in kind.config:
        assert f'name="config__{field.name}"' in form
    # Secrets are password inputs; the base URL and the mapping are the kind's defaults.
    assert re.search(r'type="password" name="secrets__token"', form)
    assert f'value="{kind.default_base_url}"' in form
    assert "traits.email = $.email" in form


@pytest.mark.parametrize("key", sorted(registry.KINDS))
def test_every_installed_kind_gets_its_form_from_its_declaration(client_as, key):
    kind = registry.kind_of(key)
    form = client_as(ADMIN).get(f"/integrations/connections/new/?kind={key}").content.decode()
    names = [f"config__{f.name}" for f in kind.config] + [
        f"secrets__{f.name}" for f in kind.secrets
    ]
    names += [f"streams__{s.name}__rules" for s in kind.streams]
    assert all(f'name="{name}"' in form for name in names), key
    assert "Create connection" in form


def test_a_kind_added_to_the_registry_gets_its_form_without_a_page_change(client_as, monkeypatch):
    extra = Kind(
        key="crm_x",
        label="CRM X",
        source_kind="crm",
        default_base_url="https://crm-x.example.com/",
        streams=(
            Stream("deals", "Deals", "$.id", "track", 'event = "Deal Won"', updated_at="$.at"),
        ),
        read=lambda reader, *, stream, cursor: None,
        check=lambda reader: None,
        config=(Field("region", "Region", required=True),),
        secrets=(Field("api_key", "API key", required=True),),
    )
    monkeypatch.setitem(registry.KINDS, "crm_x", extra)
    form = client_as(ADMIN).get("/integrations/connections/new/?kind=crm_x").content.decode()
    assert 'name="config__region"' in form and 'name="secrets__api_key"' in form
    assert 'name="streams__deals__rules"' in form and "Deal Won" in form


def test_creating_a_connection_stores_it_with_its_source_and_never_shows_the_secret(client_as, api):
    admin = client_as(ADMIN)
    response = admin.post("/integrations/connections/new/", form_data(api))
    connection = Connection.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/integrations/connections/{connection.pk}/"
    assert connection.source.name == "Partner API" and connection.source.party == "second"
    assert connection.source.priority == 80 and connection.schedule_minutes == 60
    assert connection.config["page_size"] == 10
    assert connection.streams["records"]["rules"][1] == {
        "target": "traits.email",
        "path": "$.email",
    }
    page = admin.get(response["Location"]).content.decode()
    assert "t0ken" not in page
    assert "<dt>Token or API key (secret)</dt><dd>set</dd>" in page
    assert "<dt>Password (secret)</dt><dd>not set</dd>" in page
    assert "<dt>Page size</dt><dd><code>10</code></dd>" in page
    edit = admin.get(f"/integrations/connections/{connection.pk}/edit/").content.decode()
    assert "t0ken" not in edit and "Stored: set." in edit


def test_errors_are_shown_on_their_fields_and_nothing_is_created(client_as, api):
    data = form_data(api, config__path="", streams__records__rules="userId $.id")
    page = client_as(ADMIN).post("/integrations/connections/new/", data).content.decode()
    assert Connection.objects.count() == 0
    assert 'id="id_config__path_error"' in page and "Required." in page
    assert 'id="id_streams__records__rules_error"' in page and "Line 1" in page


def test_a_schedule_more_often_than_allowed_is_refused_on_its_field(client_as, api):
    data = form_data(api, schedule="minutes", every_minutes="2")
    page = client_as(ADMIN).post("/integrations/connections/new/", data).content.decode()
    assert Connection.objects.count() == 0
    assert 'id="id_every_minutes_error"' in page


def test_test_connection_shows_the_services_answer(client_as, api):
    connection = connect(api)
    admin = client_as(ADMIN)
    url = f"/integrations/connections/{connection.pk}/test/"
    ok = admin.post(url, HTTP_HX_REQUEST="true").content.decode()
    assert "Connection works." in ok and api.url in ok
    api.token = "rotated"
    failed = admin.post(url, HTTP_HX_REQUEST="true").content.decode()
    assert "Test failed (auth)" in failed and "refused the credentials (401)" in failed
    assert "<html" not in failed  # the fragment alone


def test_preview_shows_messages_and_rejections_and_stores_nothing(client_as, api):
    api.records[0] = {"email": "nokey@example.com", "updated_at": "2026-03-01T10:00:00Z"}
    connection = connect(api, page_size=10)
    page = (
        client_as(ADMIN)
        .post(
            f"/integrations/connections/{connection.pk}/preview/",
            {"stream": "records"},
            HTTP_HX_REQUEST="true",
        )
        .content.decode()
    )
    assert "10 records on the first page (more pages follow)" in page
    assert "1 of the first 10 would be rejected" in page
    assert "The record has no primary key ($.id)." in page
    # Each record beside the message it becomes (as JSON).
    assert (
        "{&quot;id&quot;: &quot;c1&quot;, &quot;email&quot;: &quot;person1@example.com&quot;"
        in page
    )
    assert "&quot;traits&quot;: {&quot;email&quot;: &quot;person1@example.com&quot;}" in page
    assert Event.objects.count() == 0 and not connection.states.exists()


def test_run_now_shows_progress_then_the_outcome_and_its_rejections(client_as, api):
    api.records[3] = {"email": "nokey@example.com", "updated_at": "2026-03-01T10:00:00Z"}
    connection = connect(api)
    admin = client_as(ADMIN)
    live = admin.post(
        f"/integrations/connections/{connection.pk}/run/", HTTP_HX_REQUEST="true"
    ).content.decode()
    # Queued: the section polls every 2 s and offers to cancel.
    assert 'hx-trigger="every 2s"' in live and "Cancel the run" in live
    run = SyncRun.objects.get()
    drive(run)
    done = admin.get(
        f"/integrations/connections/{connection.pk}/", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "every 2s" not in done and "Succeeded" in done
    assert re.search(r'id="run-stored">29<', done)
    rejected = admin.get(f"/integrations/connections/{connection.pk}/runs/{run.pk}/")
    assert "The record has no primary key ($.id)." in rejected.content.decode()
    assert "nokey@example.com" in rejected.content.decode()


def test_the_live_panel_shows_a_rate_limit_wait_and_the_rate_so_far(client_as, api):
    connection = connect(api, page_size=10)
    run = services.start_run(connection=connection)
    assert sync.run_slice(run_id=run.id, seq=0).seq == 1  # the first page is stored
    api.fail_next(429, headers={"Retry-After": "30"})
    assert sync.run_slice(run_id=run.id, seq=1).delay == 30
    live = (
        client_as(ADMIN)
        .get(f"/integrations/connections/{connection.pk}/", HTTP_HX_REQUEST="true")
        .content.decode()
    )
    assert "10 read" in live and "1 page" in live and "records/s" in live
    assert 'id="run-eta">ETA —<' in live  # the REST kind cannot say how many remain
    assert "stream 1 of 1 (records)" in live
    assert re.search(r"Waiting until \d\d:\d\d:\d\d UTC: The service asked to slow down", live)
    assert 'hx-trigger="every 2s"' in live


def test_the_eta_is_what_remains_at_the_runs_rate_and_only_while_it_runs():
    start = datetime(2026, 3, 1, 10, tzinfo=UTC)
    run = SyncRun(
        status=SyncRun.Status.RUNNING,
        streams=["records"],
        started_at=start,
        last_slice_at=start + timedelta(seconds=100),
        records_read=1000,
        remaining=1800,
    )
    later = start + timedelta(seconds=120)
    assert selectors.progress(run=run, now=later).eta_text == "about 3 min left"  # 10/s
    run.remaining = 400
    assert selectors.progress(run=run, now=later).eta_text == "less than a minute left"
    run.remaining = 90_000
    assert selectors.progress(run=run, now=later).eta_text == "about 2.5 h left"
    run.remaining = None
    assert selectors.progress(run=run, now=later).eta is None
    run.remaining, run.status = 1800, SyncRun.Status.SUCCEEDED
    assert selectors.progress(run=run, now=later).eta is None


def test_a_second_run_while_one_is_going_is_refused_with_a_message(client_as, api):
    connection = connect(api)
    admin = client_as(ADMIN)
    url = f"/integrations/connections/{connection.pk}/run/"
    admin.post(url, HTTP_HX_REQUEST="true")
    again = admin.post(url, {"full": "1"}, HTTP_HX_REQUEST="true").content.decode()
    assert "is still going" in again
    assert SyncRun.objects.count() == 1


def test_cancel_pause_and_resume(client_as, api):
    connection = connect(api)
    admin = client_as(ADMIN)
    base = f"/integrations/connections/{connection.pk}"
    admin.post(f"{base}/run/", HTTP_HX_REQUEST="true")
    admin.post(f"{base}/cancel/", HTTP_HX_REQUEST="true")
    run = SyncRun.objects.get()
    drive(run)
    assert run.status == SyncRun.Status.CANCELLED and run.stored == 0
    paused = admin.post(f"{base}/pause/", {"paused": "1"}, HTTP_HX_REQUEST="true")
    connection.refresh_from_db()
    assert connection.paused and "Resume the schedule" in paused.content.decode()
    admin.post(f"{base}/pause/", {"paused": "0"}, HTTP_HX_REQUEST="true")
    connection.refresh_from_db()
    assert not connection.paused and connection.next_run_at is not None


def test_the_list_shows_state_last_run_and_a_chart_of_records_per_day(client_as, api):
    connection = connect(api)
    drive(services.start_run(connection=connection))
    page = client_as(ADMIN).get("/integrations/connections/").content.decode()
    assert "Partner API" in page and "Generic REST API" in page
    assert "Succeeded" in page and "30 stored" in page and "0 rejected" in page
    assert 'data-chart="connections-chart"' in page
    chart = re.search(
        r'<script id="connections-chart" type="application/json">(.*?)</script>', page
    )
    assert chart and '"y":' in chart.group(1) and "30]" in chart.group(1).replace(" ", "")


def test_editing_keeps_the_secret_when_left_blank(client_as, api):
    connection = connect(api)
    admin = client_as(ADMIN)
    data = form_data(api, name="Partner API v2", secrets__token="", schedule="manual")
    response = admin.post(f"/integrations/connections/{connection.pk}/edit/", data)
    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.source.name == "Partner API v2" and connection.schedule_minutes == 0
    assert services.test_connection(connection=connection).ok


def test_an_archived_sources_connection_says_so_and_refuses_edits(client_as, api):
    connection = connect(api)
    archive_source(source=connection.source)
    admin = client_as(ADMIN)
    listed = admin.get("/integrations/connections/").content.decode()
    assert "source disabled" in listed and "none (source disabled)" in listed
    page = admin.post(f"/integrations/connections/{connection.pk}/edit/", form_data(api))
    assert page.status_code == 200 and "is archived: restore it first." in page.content.decode()


def test_marketers_neither_see_nor_change_connections(client_as, api):
    connection = connect(api)
    marketer = client_as(MARKETER)
    assert marketer.get("/integrations/connections/").status_code == 403
    assert marketer.post(f"/integrations/connections/{connection.pk}/run/").status_code == 403
    assert not SyncRun.objects.exists()
