# ruff: noqa: F811 (fixtures imported from test_destinations_adapters)
"""Destination pages and REST API: roles, secrets never shown, test button, replay."""

import json

import pytest
from django.utils import timezone

from cdp_site.permissions import ADMIN, MARKETER, ROLES
from integrations.destinations import services
from integrations.destinations.models import DeadLetter, Destination

from .test_destinations_adapters import http_server, webhook  # noqa: F401

pytestmark = pytest.mark.django_db

SECRET = "whsec-0123456789abcdef"


def test_admin_creates_a_webhook_on_the_page_and_the_secret_is_never_shown(client_as):
    client = client_as(ADMIN)
    assert client.get("/integrations/destinations/new/").status_code == 200
    page = client.get("/integrations/destinations/new/?kind=webhook")
    assert 'type="password"' in page.content.decode()
    response = client.post(
        "/integrations/destinations/new/?kind=webhook",
        {
            "kind": "webhook",
            "name": "Orders hook",
            "enabled": "on",
            "config__url": "https://hooks.example/orders",
            "config__timeout": "5",
            "secret__signing_secret": SECRET,
        },
    )
    assert response.status_code == 302, response.content
    destination = Destination.objects.get()
    assert destination.config == {
        "url": "https://hooks.example/orders",
        "timeout": 5,
        "consent_purpose": "email_marketing",  # the default, left as it was
    }
    assert SECRET not in destination.secrets_encrypted
    assert services.get_secrets(destination=destination) == {"signing_secret": SECRET}
    for url in (
        "/integrations/destinations/",
        f"/integrations/destinations/{destination.pk}/",
        f"/integrations/destinations/{destination.pk}/edit/",
    ):
        body = client.get(url).content.decode()
        assert SECRET not in body
    assert (
        "ends in cdef"
        in client.get(f"/integrations/destinations/{destination.pk}/").content.decode()
    )
    # Saving with the secret left blank keeps it.
    client.post(
        f"/integrations/destinations/{destination.pk}/edit/",
        {"name": "Orders", "config__url": "https://hooks.example/v2", "secret__signing_secret": ""},
    )
    destination.refresh_from_db()
    assert destination.name == "Orders" and destination.enabled is False
    assert services.get_secrets(destination=destination) == {"signing_secret": SECRET}


def test_the_index_links_to_destinations(client_as):
    assert "/integrations/destinations/" in client_as(ADMIN).get("/integrations/").content.decode()


def test_required_secret_on_create(client_as):
    response = client_as(ADMIN).post(
        "/integrations/destinations/new/?kind=esp_list",
        {"name": "L", "config__base_url": "https://x.example", "config__list_id": "1"},
    )
    assert response.status_code == 200 and not Destination.objects.exists()


@pytest.mark.parametrize("role", [r for r in ROLES if r != ADMIN])
def test_other_roles_cannot_see_or_change_destinations(client_as, role, webhook):
    client = client_as(role)
    assert client.get("/integrations/destinations/").status_code == 403
    assert client.post(f"/integrations/destinations/{webhook.pk}/test/").status_code == 403
    assert client.get("/api/v1/destinations/").status_code == 403
    assert (
        client.post(
            "/api/v1/destinations/",
            {"name": "x", "kind": "webhook"},
            content_type="application/json",
        ).status_code
        == 403
    )


def test_test_connection_button_answers_with_the_htmx_partial(client_as, webhook, http_server):
    response = client_as(ADMIN).post(
        f"/integrations/destinations/{webhook.pk}/test/", HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="test-result"' in body and "<html" not in body and "ok" in body
    webhook.refresh_from_db()
    assert webhook.last_test_ok is True


def test_dead_letter_page_replays(client_as, webhook, http_server):
    letter = services.record_dead_letter(
        destination=webhook, payload={"a": 1}, idempotency_key="k-9", error="HTTP 503", attempts=5
    )
    client = client_as(ADMIN)
    assert "k-9" in client.get("/integrations/destinations/dead-letters/").content.decode()
    response = client.post(
        f"/integrations/destinations/dead-letters/{letter.pk}/replay/", HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and "replayed" in response.content.decode()
    letter.refresh_from_db()
    assert letter.replayed_at is not None
    assert http_server.requests[-1]["headers"]["idempotency-key"] == "k-9"


# --- API -----------------------------------------------------------------------------


def test_api_crud_with_write_only_secrets(client_as):
    api = client_as(ADMIN)
    created = api.post(
        "/api/v1/destinations/",
        {
            "name": "Mailchimp",
            "kind": "esp_list",
            "config": {"base_url": "https://us1.api.example/3.0", "list_id": "abc"},
            "secrets": {"api_key": "key-abcdef-us1"},
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    assert "key-abcdef-us1" not in created.content.decode()
    body = created.json()
    assert "secrets" not in body and body["secret_status"] == {"api_key": "set, ends in -us1"}
    pk = body["id"]
    listed = api.get("/api/v1/destinations/")
    assert "key-abcdef-us1" not in listed.content.decode()
    patched = api.patch(
        f"/api/v1/destinations/{pk}", {"enabled": False}, content_type="application/json"
    )
    assert patched.json()["enabled"] is False
    destination = Destination.objects.get(pk=pk)
    assert services.get_secrets(destination=destination) == {"api_key": "key-abcdef-us1"}
    assert "key-abcdef-us1" not in destination.secrets_encrypted
    assert api.delete(f"/api/v1/destinations/{pk}").status_code == 204


def test_api_validates_per_kind(client_as):
    response = client_as(ADMIN).post(
        "/api/v1/destinations/",
        {"name": "Hook", "kind": "webhook", "config": {}},
        content_type="application/json",
    )
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert "config.url" in fields and "secrets.signing_secret" in fields


def test_api_test_and_dead_letter_replay(client_as, webhook, http_server):
    api = client_as(ADMIN)
    assert api.post(f"/api/v1/destinations/{webhook.pk}/test").json()["ok"] is True
    letter = services.record_dead_letter(
        destination=webhook, payload={"b": 2}, idempotency_key="k-1", error="x", attempts=5
    )
    listed = api.get("/api/v1/destinations/dead-letters?state=pending").json()["results"]
    assert [row["id"] for row in listed] == [letter.pk]
    http_server.status = 500
    failed = api.post(f"/api/v1/destinations/dead-letters/{letter.pk}/replay")
    assert failed.status_code == 502 and failed.json()["ok"] is False
    http_server.status = 200
    replayed = api.post(f"/api/v1/destinations/dead-letters/{letter.pk}/replay")
    assert replayed.status_code == 200 and replayed.json()["dead_letter"]["replayed_at"]
    assert json.loads(http_server.requests[-1]["body"]) == {"b": 2}
    assert DeadLetter.objects.get().attempts == 7
    assert api.get("/api/v1/destinations/dead-letters?state=pending").json()["results"] == []


def test_marketer_is_refused_by_the_api(client_as):
    assert client_as(MARKETER).get("/api/v1/destinations/dead-letters").status_code == 403


def test_dead_letter_lists_filter_by_state_and_destination_with_one_filterset(client_as, webhook):
    waiting = services.record_dead_letter(
        destination=webhook, payload={}, idempotency_key="k-w", error="x", attempts=5
    )
    done = services.record_dead_letter(
        destination=webhook, payload={}, idempotency_key="k-d", error="x", attempts=5
    )
    DeadLetter.objects.filter(pk=done.pk).update(replayed_at=timezone.now())
    api = client_as(ADMIN)

    def listed(query: str) -> set[int]:
        return {
            row["id"]
            for row in api.get(f"/api/v1/destinations/dead-letters{query}").json()["results"]
        }

    assert listed("?state=replayed") == {done.pk}
    assert listed("?state=all") == listed("") == {waiting.pk, done.pk}
    assert listed(f"?destination={webhook.pk + 1}") == set()
    bad = api.get("/api/v1/destinations/dead-letters?state=lost")
    assert bad.status_code == 400 and "state" in bad.json()["error"]["fields"]
    # The page opens on the pending letters; its "All" link shows both.
    page = api.get("/integrations/destinations/dead-letters/").content.decode()
    assert "k-w" in page and "k-d" not in page
    page = api.get("/integrations/destinations/dead-letters/?state=all").content.decode()
    assert "k-w" in page and "k-d" in page
