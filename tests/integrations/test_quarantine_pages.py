"""The quarantine as admins see it: a page and an API listing it per source with counts,
replay of one or all, and its size on the dashboard and /healthz (as information)."""

import pytest

from cdp_site.permissions import ADMIN, MARKETER, VIEWER
from integrations import services
from integrations.models import EventInbox, QuarantinedEvent, Source
from tests.support.processes import start_celery_worker, stop_process, wait_until

from .test_quarantine import PIPELINE, drain, orders

pytestmark = pytest.mark.django_db


@pytest.fixture
def quarantined(source, settings):
    """Two bad orders from the website, one from the app, all set aside."""
    settings.COLLECT_PROCESSING_STEPS = PIPELINE
    app = services.create_source(name="Shop app", kind=Source.Kind.MOBILE_APP)
    orders(source, [1, "many", "several"], prefix="web")
    orders(app, ["a dozen"], prefix="app")
    drain()
    assert QuarantinedEvent.objects.count() == 3
    return {"web": source, "app": app}


def test_the_page_lists_counts_per_source_and_each_error(client_as, quarantined):
    page = client_as(ADMIN).get("/integrations/quarantine/").content.decode()
    assert "Shop website" in page and "Shop app" in page
    assert "Replay all 2" in page and "Replay all 1" in page
    assert "invalid input syntax for type integer" in page
    assert "tests.integrations.test_quarantine.cast_quantities" in page


def test_the_page_narrows_to_one_source(client_as, quarantined):
    app = quarantined["app"]
    page = client_as(ADMIN).get(f"/integrations/quarantine/?source={app.pk}").content.decode()
    assert "a dozen" in page and "several" not in page


def test_an_admin_replays_all_of_one_source_from_the_page(client_as, quarantined, settings):
    web = quarantined["web"]
    response = client_as(ADMIN).post("/integrations/quarantine/replay/", {"source": web.pk})
    assert response.status_code == 302
    assert EventInbox.objects.count() == 2
    assert set(QuarantinedEvent.objects.values_list("source_id", flat=True)) == {
        quarantined["app"].pk
    }


def test_only_admins_replay_and_marketers_do_not_see_the_page(client_as, quarantined):
    marketer = client_as(MARKETER)
    assert marketer.get("/integrations/quarantine/").status_code == 403
    assert marketer.post("/integrations/quarantine/replay/", {}).status_code == 403
    assert QuarantinedEvent.objects.count() == 3


def test_the_api_lists_filters_counts_and_replays(client_as, quarantined):
    api = client_as(ADMIN)
    web, app = quarantined["web"], quarantined["app"]
    listed = api.get(f"/api/v1/quarantined-events?source={web.pk}").json()["results"]
    assert sorted(e["payload"]["messageId"] for e in listed) == ["web1", "web2"]
    assert {e["step"] for e in listed} == {"tests.integrations.test_quarantine.cast_quantities"}
    counts = api.get("/api/v1/quarantined-events/counts").json()
    assert [(c["name"], c["count"]) for c in counts] == [("Shop website", 2), ("Shop app", 1)]
    one = api.post(f"/api/v1/quarantined-events/{listed[0]['id']}/replay")
    assert one.json() == {"replayed": 1}
    rest = api.post(
        "/api/v1/quarantined-events/replay", {"source": app.pk}, content_type="application/json"
    )
    assert rest.json() == {"replayed": 1}
    assert EventInbox.objects.count() == 2 and QuarantinedEvent.objects.count() == 1


def test_the_api_refuses_a_bad_source_with_the_error_shape(client_as, quarantined):
    response = client_as(ADMIN).post(
        "/api/v1/quarantined-events/replay", {"source": "web"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "source" in response.json()["error"]["fields"]


def test_the_dashboard_shows_the_size_and_links_it_for_those_who_may_look(client_as, quarantined):
    admin_page = client_as(ADMIN).get("/").content.decode()
    assert (
        'href="/integrations/quarantine/">Quarantined events</a>: <strong>3</strong>' in admin_page
    )
    viewer_page = client_as(VIEWER).get("/").content.decode()
    assert "Quarantined events: <strong>3</strong>" in viewer_page
    assert "/integrations/quarantine/" not in viewer_page


@pytest.mark.services
def test_healthz_reports_the_quarantine_and_stays_200(client, quarantined, settings):
    worker = start_celery_worker(broker_url=settings.CELERY_BROKER_URL, name="quarantine")
    try:
        status, body = wait_until(
            lambda: (r := client.get("/healthz")).status_code == 200 and (200, r.json()),
            timeout=60,
            what="a healthy answer",
        )
    finally:
        stop_process(worker)
    assert body["ok"] is True
    assert body["info"]["quarantined_events"] == {"label": "Quarantined events", "count": 3}
