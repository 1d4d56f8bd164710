"""REST API: sources CRUD and key rotation, events and rejected events with filters."""

from datetime import timedelta

import pytest
from django.utils import timezone

from cdp_site.permissions import ADMIN, MARKETER, ROLES
from integrations import services
from integrations.models import Source

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client_as):
    return client_as(ADMIN)


def test_sources_crud(api):
    created = api.post(
        "/api/v1/sources",
        {"name": "CRM", "kind": "crm", "party": "first"},
        content_type="application/json",
    )
    assert created.status_code == 201
    body = created.json()
    assert body["write_key"] and body["enabled"] is True
    pk = body["id"]
    assert api.get("/api/v1/sources").json()["results"][0]["name"] == "CRM"
    patched = api.patch(
        f"/api/v1/sources/{pk}", {"enabled": False}, content_type="application/json"
    )
    assert patched.json()["enabled"] is False
    assert api.delete(f"/api/v1/sources/{pk}").status_code == 204
    assert not Source.objects.exists()


def test_invalid_source_gets_the_error_shape(api):
    response = api.post(
        "/api/v1/sources", {"name": "x", "kind": "fax"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "kind" in response.json()["error"]["fields"]


def test_rotate_key_keeps_the_old_key_for_the_grace(api, source):
    old = source.write_key
    response = api.post(
        f"/api/v1/sources/{source.pk}/rotate-key",
        {"grace_hours": 1},
        content_type="application/json",
    )
    assert response.status_code == 200
    source.refresh_from_db()
    assert response.json()["write_key"] == source.write_key != old
    assert source.previous_write_key == old
    assert source.previous_key_valid_until > timezone.now() + timedelta(minutes=59)


def test_events_filter_by_source_type_name_person_and_time(api, source):
    other = services.create_source(name="App", kind="mobile_app")
    services.ingest_messages(
        source_id=source.id,
        messages=[
            {"type": "track", "userId": "ann", "event": "Order Completed"},
            {"type": "track", "anonymousId": "anon-1", "event": "Product Viewed"},
            {"type": "identify", "userId": "ann"},
        ],
    )
    services.ingest_messages(
        source_id=other.id,
        messages=[{"type": "track", "userId": "ann", "event": "Order Completed"}],
    )

    def names(**params):
        results = api.get("/api/v1/events", params).json()["results"]
        return sorted((e["source"], e["type"], e["event"]) for e in results)

    assert len(names()) == 4
    assert names(source=source.id, type="track") == [
        (source.id, "track", "Order Completed"),
        (source.id, "track", "Product Viewed"),
    ]
    assert names(event="Order Completed", source=other.id) == [
        (other.id, "track", "Order Completed")
    ]
    assert len(names(user_id="ann")) == 3
    assert names(anonymous_id="anon-1") == [(source.id, "track", "Product Viewed")]
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    assert names(received_after=future) == []
    assert len(names(received_before=future)) == 4


def test_events_are_cursor_paginated(api, source):
    services.ingest_messages(
        source_id=source.id,
        messages=[{"type": "track", "userId": "u", "event": f"e{i}"} for i in range(5)],
    )
    first = api.get("/api/v1/events", {"limit": 2}).json()
    assert len(first["results"]) == 2 and first["next"]
    second = api.get(first["next"]).json()
    assert {e["id"] for e in first["results"]}.isdisjoint(e["id"] for e in second["results"])


def test_rejected_events_list_with_reasons(api, source):
    services.ingest_messages(source_id=source.id, messages=[{"type": "track", "userId": "u"}])
    results = api.get("/api/v1/rejected-events", {"source": source.id}).json()["results"]
    assert [(r["code"], r["payload"]) for r in results] == [
        ("missing_event", {"type": "track", "userId": "u"})
    ]


API_URLS = [
    "/api/v1/sources",
    "/api/v1/sources/999999",
    "/api/v1/sources/999999/rotate-key",
    "/api/v1/events",
    "/api/v1/rejected-events",
]


@pytest.mark.parametrize("role", ROLES)
def test_only_roles_with_the_integration_capabilities_reach_the_api(role, client_as):
    client = client_as(role)
    for url in API_URLS:
        for method in ("get", "post"):
            status = getattr(client, method)(url).status_code
            if role == ADMIN:
                assert status not in (401, 403, 500), (method, url, status)
            else:
                assert status == 403, (role, method, url, status)


def test_anonymous_callers_get_the_error_shape(client):
    for url in API_URLS:
        response = client.get(url)
        assert response.status_code in (401, 403)
        assert "error" in response.json()


def test_marketer_cannot_list_events(client_as):
    assert client_as(MARKETER).get("/api/v1/events").status_code == 403
