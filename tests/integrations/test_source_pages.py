"""Admin pages for sources: list, create, edit, rotate, and the live page with its partial."""

import json

import pytest

from cdp_site.permissions import ADMIN, MARKETER
from integrations import processing, services
from integrations.models import Source

pytestmark = pytest.mark.django_db


def test_admin_creates_a_source_and_lands_on_its_page_with_the_key(client_as):
    client = client_as(ADMIN)
    response = client.post(
        "/integrations/sources/new/",
        {
            "name": "POS",
            "kind": "point_of_sale",
            "party": "first",
            "priority": 50,
            "rate_limit": 100,
        },
    )
    source = Source.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/integrations/sources/{source.pk}/"
    page = client.get(response["Location"])
    assert source.write_key in page.content.decode()


def test_invalid_source_form_shows_errors(client_as):
    response = client_as(ADMIN).post("/integrations/sources/new/", {"name": ""})
    assert response.status_code == 200
    assert 'class="error"' in response.content.decode()
    assert not Source.objects.exists()


def test_list_filters_with_the_shared_filterset_and_htmx_gets_the_partial(client_as, source):
    services.create_source(name="Partner feed", kind="partner", party="second")
    client = client_as(ADMIN)
    page = client.get("/integrations/", {"party": "second"}).content.decode()
    assert "Partner feed" in page and "Shop website" not in page
    partial = client.get("/integrations/", {"kind": "website"}, HTTP_HX_REQUEST="true")
    body = partial.content.decode()
    assert body.lstrip().startswith('<section id="source-list"')
    assert "Shop website" in body


def test_edit_saves_changes(client_as, source):
    response = client_as(ADMIN).post(
        f"/integrations/sources/{source.pk}/edit/",
        {
            "name": "Web shop",
            "kind": "website",
            "party": "first",
            "priority": 7,
            "rate_limit": 10,
            "ip_rate_limit": 20,
        },
    )
    assert response.status_code == 302
    source.refresh_from_db()
    assert (source.name, source.priority, source.enabled) == ("Web shop", 7, False)


def test_rotate_key_with_htmx_returns_the_key_partial(client_as, source):
    old = source.write_key
    response = client_as(ADMIN).post(
        f"/integrations/sources/{source.pk}/rotate-key/",
        {"grace_hours": 2},
        HTTP_HX_REQUEST="true",
    )
    source.refresh_from_db()
    body = response.content.decode()
    assert source.write_key != old and source.previous_write_key == old
    assert body.lstrip().startswith('<section id="key"')
    assert source.write_key in body and old in body


def test_live_partial_shows_chart_events_and_rejections(client_as, source):
    services.ingest_messages(
        source_id=source.id,
        messages=[
            {"type": "track", "userId": "u-live", "event": "Checkout Started"},
            {"type": "track", "userId": "u-live"},
        ],
    )
    processing.process_inbox_batch()
    response = client_as(ADMIN).get(f"/integrations/sources/{source.pk}/", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="live"')
    assert 'hx-trigger="every 5s"' in body
    assert "Checkout Started" in body
    assert "missing_event" in body
    chart = json.loads(
        body.split('<script id="events-chart" type="application/json">')[1].split("</script>")[0]
    )
    assert sum(chart["data"][0]["y"]) == 1
    assert "<script" not in body.replace('<script id="events-chart" type="application/json">', "")


def test_marketer_may_not_see_sources(client_as, source):
    assert client_as(MARKETER).get(f"/integrations/sources/{source.pk}/").status_code == 403


def test_missing_source_is_404(client_as):
    client = client_as(ADMIN)
    assert client.get("/integrations/sources/999999/").status_code == 404
    assert client.post("/integrations/sources/999999/rotate-key/").status_code == 404
