# ruff: noqa: F811 (fixtures imported from test_destinations_adapters)
"""Destination settings an admin enters on the page or through the API, checked at the
field: a webhook's consent purpose and the traits it may receive; credentials that stay
with the host they were entered for."""

import pytest

from cdp_site.permissions import ADMIN
from integrations.destinations import adapters, services
from integrations.destinations.adapters import DestinationError
from integrations.destinations.models import Destination

from .test_destinations_adapters import http_server  # noqa: F401

pytestmark = pytest.mark.django_db

NEW_WEBHOOK = "/integrations/destinations/new/?kind=webhook"
SECRET = "whsec-0123456789abcdef"


def webhook_form(**fields):
    return {
        "kind": "webhook",
        "name": "Orders hook",
        "enabled": "on",
        "config__url": "https://hooks.example/orders",
        "secret__signing_secret": SECRET,
        **fields,
    }


# --- a webhook's consent purpose and traits --------------------------------------------


def test_the_webhook_form_offers_the_consent_purposes_and_stores_the_chosen_traits(client_as):
    client = client_as(ADMIN)
    page = client.get(NEW_WEBHOOK).content.decode()
    assert 'name="config__consent_purpose"' in page and 'value="advertising"' in page
    response = client.post(
        NEW_WEBHOOK,
        webhook_form(
            config__consent_purpose="advertising", config__traits=" firstName, tier,,firstName"
        ),
    )
    assert response.status_code == 302, response.content
    destination = Destination.objects.get()
    assert destination.config["consent_purpose"] == "advertising"
    assert destination.config["traits"] == ["firstName", "tier"]
    edit = client.get(f"/integrations/destinations/{destination.pk}/edit/").content.decode()
    assert 'value="firstName, tier"' in edit
    detail = client.get(f"/integrations/destinations/{destination.pk}/").content.decode()
    assert "<dd>firstName, tier</dd>" in detail


def test_the_webhook_form_refuses_an_unknown_purpose_and_a_bad_trait_key(client_as):
    response = client_as(ADMIN).post(
        NEW_WEBHOOK,
        webhook_form(config__consent_purpose="selling", config__traits="firstName, a b"),
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "config__consent_purpose" in errors
    assert '"a b" is not a trait key' in errors["config__traits"][0]
    assert not Destination.objects.exists()


def test_the_api_takes_the_purpose_and_the_traits_and_checks_them(client_as):
    api = client_as(ADMIN)
    payload = {
        "name": "Hook",
        "kind": "webhook",
        "config": {
            "url": "https://hooks.example/in",
            "consent_purpose": "nope",
            "traits": ["firstName", "bad key"],
        },
        "secrets": {"signing_secret": SECRET},
    }
    refused = api.post("/api/v1/destinations/", payload, content_type="application/json")
    assert refused.status_code == 400
    fields = refused.json()["error"]["fields"]
    assert "is not a consent purpose" in fields["config.consent_purpose"][0]
    assert '"bad key" is not a trait key' in fields["config.traits"][0]
    payload["config"].update(consent_purpose="partner_sharing", traits=["firstName", "tier"])
    created = api.post("/api/v1/destinations/", payload, content_type="application/json")
    assert created.status_code == 201, created.content
    config = created.json()["config"]
    assert (config["consent_purpose"], config["traits"]) == (
        "partner_sharing",
        ["firstName", "tier"],
    )


def test_a_webhook_created_without_a_purpose_requires_email_marketing(client_as):
    created = client_as(ADMIN).post(
        "/api/v1/destinations/",
        {
            "name": "Hook",
            "kind": "webhook",
            "config": {"url": "https://hooks.example/in"},
            "secrets": {"signing_secret": SECRET},
        },
        content_type="application/json",
    )
    assert created.json()["config"]["consent_purpose"] == "email_marketing"


# --- credentials stay with the host they were entered for -----------------------------


def stored_webhook(url: str) -> Destination:
    return services.create_destination(
        name="Hook", kind="webhook", config={"url": url}, secrets={"signing_secret": SECRET}
    )


def test_moving_a_webhook_to_another_host_asks_for_the_secret_again(client_as):
    destination = stored_webhook("https://hooks.example/orders")
    client = client_as(ADMIN)
    edit = f"/integrations/destinations/{destination.pk}/edit/"
    form = {"name": "Hook", "enabled": "on", "config__url": "https://collector.example/orders"}
    refused = client.post(edit, {**form, "secret__signing_secret": ""})
    assert refused.status_code == 200
    assert (
        "enter the signing secret again"
        in refused.context["form"].errors["secret__signing_secret"][0]
    )
    destination.refresh_from_db()
    assert destination.config["url"] == "https://hooks.example/orders"
    assert services.get_secrets(destination=destination) == {"signing_secret": SECRET}

    saved = client.post(edit, {**form, "secret__signing_secret": "whsec-new-0000000000"})
    assert saved.status_code == 302
    destination.refresh_from_db()
    assert services.get_secrets(destination=destination) == {
        "signing_secret": "whsec-new-0000000000"
    }


@pytest.mark.parametrize(
    ("new_url", "kept"),
    [
        ("https://hooks.example/v2/orders", True),  # same host: another path
        ("https://HOOKS.example:443/orders", True),
        ("http://hooks.example/orders", False),  # the same host, but in clear text
        ("https://hooks.example:8443/orders", False),
        ("https://hooks.example.evil.test/orders", False),
    ],
)
def test_an_update_keeps_the_secret_only_on_the_same_origin(new_url, kept):
    destination = stored_webhook("https://hooks.example/orders")
    services.update_destination(destination=destination, config={"url": new_url})
    expected = {"signing_secret": SECRET} if kept else {}
    assert services.get_secrets(destination=destination) == expected


def test_the_old_secret_never_reaches_the_new_host(db, http_server):
    destination = stored_webhook(http_server.url + "/hook")  # 127.0.0.1
    port = http_server.server.server_address[1]
    services.update_destination(
        destination=destination, config={"url": f"http://localhost:{port}/hook"}
    )
    with pytest.raises(DestinationError, match="has no signing_secret set"):
        adapters.post_webhook(destination, payload={"a": 1}, idempotency_key="k")
    assert http_server.requests == []


def test_a_test_url_on_another_host_needs_the_token_again_through_the_api(client_as):
    destination = services.create_destination(
        name="Ads",
        kind="meta_custom_audience",
        config={"endpoint": "https://graph.example/v1/123/users"},
        secrets={"access_token": "tok-123456789"},
    )
    api = client_as(ADMIN)
    url = f"/api/v1/destinations/{destination.pk}"
    config = {
        "endpoint": "https://graph.example/v1/123/users",
        "test_url": "https://collector.example/ping",
    }
    refused = api.patch(url, {"config": config}, content_type="application/json")
    assert refused.status_code == 400
    assert (
        "enter the access token again"
        in (refused.json()["error"]["fields"]["secrets.access_token"][0])
    )
    same_host = {**config, "test_url": "https://graph.example/ping"}
    kept = api.patch(url, {"config": same_host}, content_type="application/json")
    assert kept.status_code == 200, kept.content
    destination.refresh_from_db()
    assert services.get_secrets(destination=destination) == {"access_token": "tok-123456789"}


def test_moving_smtp_to_another_host_drops_the_password(db):
    destination = services.create_destination(
        name="Mail",
        kind="smtp",
        config={"host": "smtp.example", "port": 587, "username": "shop", "from_email": "a@b.c"},
        secrets={"password": "pw-0123456789"},
    )
    services.update_destination(
        destination=destination, config={**destination.config, "port": 2525}
    )
    assert services.get_secrets(destination=destination) == {"password": "pw-0123456789"}
    services.update_destination(
        destination=destination, config={**destination.config, "host": "mx.elsewhere.example"}
    )
    assert services.get_secrets(destination=destination) == {}
