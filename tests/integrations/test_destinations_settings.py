"""Destination settings an admin enters on the page or through the API, checked at the
field: a webhook's consent purpose and the traits it may receive."""

import pytest

from cdp_site.permissions import ADMIN
from integrations.destinations.models import Destination

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
        },  # fmt: skip
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
        },  # fmt: skip
        content_type="application/json",
    )
    assert created.json()["config"]["consent_purpose"] == "email_marketing"
