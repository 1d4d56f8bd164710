"""Tracking plans in the browser and through the REST API: an admin starts a plan from a
source's events, edits an event's schema (an invalid one is refused at the field),
its traits and its sources, and reads the violations per event; a marketer is refused
both the pages and the API."""

import json

import pytest

from cdp_site.permissions import ADMIN, MARKETER
from integrations import services as collect
from integrations.tracking_plan import services as plans
from integrations.tracking_plan.models import Mode, PlannedEvent, TrackingPlan

pytestmark = pytest.mark.django_db

PAGES = "/integrations/tracking-plans/"
API = "/api/v1/tracking-plans/"
HTMX = {"HTTP_HX_REQUEST": "true"}
PRICE = {"type": "object", "properties": {"price": {"type": "number"}}}


@pytest.fixture
def shop(db):
    source = collect.create_source(name="Shop backend", kind="server")
    collect.ingest_messages(
        source_id=source.pk,
        messages=[
            {
                "type": "track",
                "userId": "a",
                "event": "Order Completed",
                "properties": {"price": 3},
            },
            {"type": "identify", "userId": "a", "traits": {"email": "a@example.org"}},
        ],
    )
    return source


@pytest.fixture
def admin(client_as):
    return client_as(ADMIN)


def test_an_admin_infers_a_plan_in_the_browser_and_sees_its_events(admin, shop):
    answer = admin.post(PAGES + "infer/", {"infer-source": shop.pk, "infer-name": "Shop plan"})
    plan = TrackingPlan.objects.get(name="Shop plan")
    assert answer.status_code == 302 and answer["Location"] == f"{PAGES}{plan.pk}/"
    page = admin.get(f"{PAGES}{plan.pk}/").content.decode()
    assert "Order Completed" in page and "Shop backend" in page
    assert "email: string" in page
    assert "Shop plan" in admin.get(PAGES).content.decode()
    source_page = admin.get(f"/integrations/sources/{shop.pk}/").content.decode()
    assert "Shop plan</a> (accept and flag)" in source_page


def test_an_event_schema_is_validated_on_save_at_its_field(admin, shop):
    plan = plans.create_plan(name="P", events=[{"name": "Order Completed", "schema": PRICE}])
    event = plan.events.get()
    url = f"{PAGES}{plan.pk}/events/{event.pk}/"
    prefix = f"event-{event.pk}"
    bad = {f"{prefix}-name": "Order Completed", f"{prefix}-schema": '{"type": "object", '}
    answer = admin.post(url, bad, **HTMX)
    assert answer.status_code == 200
    assert "Not JSON" in answer.content.decode()
    bad[f"{prefix}-schema"] = '{"properties": {"price": {"type": "money"}}}'
    answer = admin.post(url, bad, **HTMX)
    assert f'id="id_{prefix}-schema_error"' in answer.content.decode()
    assert "Not a valid JSON Schema" in answer.content.decode()
    assert PlannedEvent.objects.get().schema == PRICE
    good = {**bad, f"{prefix}-schema": '{"type": "object", "properties": {"price": {}}}'}
    assert admin.post(url, good, **HTMX).status_code == 200
    assert PlannedEvent.objects.get().schema == {"type": "object", "properties": {"price": {}}}


def test_events_traits_and_sources_are_edited_on_the_plan_page(admin, shop):
    plan = plans.create_plan(name="P")
    base = f"{PAGES}{plan.pk}/"
    added = admin.post(
        base + "events/", {"new-name": "Signed Up", "new-schema": '{"type": "object"}'}, **HTMX
    )
    assert "Signed Up" in added.content.decode()
    refused = admin.post(base + "traits/", {"traits": "age: years"}, **HTMX)
    assert "the type must be one of" in refused.content.decode()
    admin.post(base + "traits/", {"traits": "age: integer\nemail: string"}, **HTMX)
    admin.post(base + "sources/", {"source": shop.pk, "mode": Mode.BLOCK}, **HTMX)
    plan.refresh_from_db()
    assert plan.traits == {"age": "integer", "email": "string"}
    assert plan.links.get().mode == Mode.BLOCK
    result = collect.ingest_messages(
        source_id=shop.pk, messages=[{"type": "track", "userId": "a", "event": "Unplanned"}]
    )
    assert result.rejections[0].code == "tracking_plan"
    page = admin.get(base).content.decode()
    assert "Seen but not planned" in page and "unplanned_event" in page
    admin.post(base + "sources/", {"remove": shop.pk}, **HTMX)
    assert not plan.links.exists()


def test_the_api_creates_and_changes_a_plan_and_refuses_a_bad_schema_at_its_field(admin, shop):
    body = {
        "name": "API plan",
        "events": [{"name": "Order Completed", "schema": PRICE}],
        "traits": {"email": "string"},
        "sources": [{"source": shop.pk, "mode": "drop"}],
    }
    created = admin.post(API, body, content_type="application/json")
    assert created.status_code == 201, created.json()
    plan = created.json()
    assert plan["sources"] == [{"source": shop.pk, "mode": "drop"}]
    assert plan["events"][0]["schema"] == PRICE
    url = f"{API}{plan['id']}"
    bad = {"events": [{"name": "E", "schema": {"type": "object"}}, {"name": "F", "schema": []}]}
    refused = admin.patch(url, bad, content_type="application/json")
    assert refused.status_code == 400
    assert "must be a JSON object" in json.dumps(refused.json())
    assert "schema" in json.dumps(refused.json())
    collect.ingest_messages(
        source_id=shop.pk,
        messages=[{"type": "track", "userId": "a", "event": "Order Completed",
                   "messageId": "m1", "properties": {"price": "3"}}],
    )  # fmt: skip
    (violation,) = admin.get(f"{url}/violations").json()["results"]
    assert violation["kind"] == "invalid_property"
    assert violation["examples"][0]["path"] == "/properties/price"
    assert admin.get(API).json()["results"][0]["name"] == "API plan"
    assert admin.delete(url).status_code == 204
    assert not TrackingPlan.objects.exists()


def test_the_api_infers_a_plan_from_a_source(admin, shop):
    answer = admin.post(
        API + "infer", {"source": shop.pk, "name": "Seen"}, content_type="application/json"
    )
    assert answer.status_code == 201, answer.json()
    assert [e["name"] for e in answer.json()["events"]] == ["Order Completed"]
    assert answer.json()["traits"] == {"email": "string"}


def test_a_marketer_is_refused_the_pages_and_the_api(client_as, shop):
    plan = plans.create_plan(name="P", sources=[(shop, Mode.FLAG)])
    marketer = client_as(MARKETER)
    for url in (PAGES, f"{PAGES}{plan.pk}/", API, f"{API}{plan.pk}", f"{API}{plan.pk}/violations"):
        assert marketer.get(url).status_code == 403, url
    refused = marketer.post(API, {"name": "Mine"}, content_type="application/json")
    assert refused.status_code == 403
    assert TrackingPlan.objects.count() == 1
