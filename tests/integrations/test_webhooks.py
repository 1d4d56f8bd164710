"""Inbound webhooks: signature check, JSON errors, JSON-path mapping, dedupe of redeliveries."""

import json
import time

import pytest

from cdp_site import crypto
from cdp_site.permissions import ADMIN, MARKETER
from integrations import services as integration_services
from integrations.models import Event, RejectedEvent, Source
from integrations.webhooks import services as webhooks
from integrations.webhooks.mapping import RuleError, parse_rules

pytestmark = pytest.mark.django_db

RULES = """
# a shop's order webhook
userId = $.customer.id
traits.email = $.customer.email
event = $.event
properties.items = $.data.items
properties.first_sku = $.data.items[0].sku
context.shop = "north"
"""
BODY = {
    "event": "Order Completed",
    "customer": {"id": "C42", "email": "ann@example.org"},
    "data": {"items": [{"sku": "A1", "qty": 2}]},
}


@pytest.fixture
def hook(db):
    source = integration_services.create_source(name="Shop system", kind=Source.Kind.SERVER)
    config, secret = webhooks.enable_webhook(source=source)
    config = webhooks.update_webhook(
        config=config, kind="track", require_signature=True, rules=parse_rules(RULES)
    )
    config.signing_secret = secret  # what the sender was given, once
    return config


def deliver(client, hook, body, *, signature="auto", raw=None):
    data = raw if raw is not None else json.dumps(body).encode()
    headers = {}
    if signature == "auto":
        headers["HTTP_X_SIGNATURE"] = webhooks.sign(hook.signing_secret, data)
    elif signature:
        headers["HTTP_X_SIGNATURE"] = signature
    return client.generic(
        "POST", f"/hooks/{hook.token}", data, content_type="application/json", **headers
    )


def events(hook):
    return list(Event.objects.filter(source_id=hook.source_id).order_by("id"))


def test_a_signed_delivery_is_mapped_and_stored(client, hook):
    response = deliver(client, hook, BODY)
    assert response.status_code == 200
    assert response.json() == {"success": True, "stored": 1, "duplicates": 0, "rejected": []}
    [event] = events(hook)
    assert (event.type, event.event, event.user_id) == ("track", "Order Completed", "C42")
    assert event.payload["properties"] == {"items": [{"sku": "A1", "qty": 2}], "first_sku": "A1"}
    assert event.payload["traits"] == {"email": "ann@example.org"}
    assert event.payload["context"]["shop"] == "north"


def test_a_redelivered_body_is_stored_once(client, hook):
    deliver(client, hook, BODY)
    # A sender's retry: the same body, signed again a second later.
    data = json.dumps(BODY).encode()
    signature = webhooks.sign(hook.signing_secret, data, int(time.time()) + 1)
    again = deliver(client, hook, None, raw=data, signature=signature)
    assert again.json()["duplicates"] == 1
    assert len(events(hook)) == 1


def test_a_bad_signature_is_refused_with_401_in_the_error_shape(client, hook):
    response = deliver(client, hook, BODY, signature="sha256=" + "0" * 64)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    assert set(response.json()["error"]) == {"code", "message", "fields"}
    assert events(hook) == []


def test_a_missing_signature_is_refused_when_required(client, hook):
    response = deliver(client, hook, BODY, signature=None)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "missing_signature"


def test_an_unsigned_delivery_is_accepted_when_no_signature_is_required(client, hook):
    webhooks.update_webhook(config=hook, kind="track", require_signature=False, rules=hook.rules)
    assert deliver(client, hook, BODY, signature=None).status_code == 200
    assert len(events(hook)) == 1


def test_bad_json_is_refused_with_400(client, hook):
    raw = b'{"event": "Order'
    signature = webhooks.sign(hook.signing_secret, raw)
    response = deliver(client, hook, None, raw=raw, signature=signature)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_unknown_token_is_404_and_get_is_405(client, hook):
    assert client.post("/hooks/nope", "{}", content_type="application/json").status_code == 404
    assert client.get(f"/hooks/{hook.token}").status_code == 405


def test_a_mapped_message_that_is_invalid_is_rejected_and_reported_with_200(client, hook):
    body = {"event": "Order Completed", "customer": {"email": "no-id@example.org"}}
    response = deliver(client, hook, body)
    assert response.status_code == 200
    assert response.json()["stored"] == 0
    assert response.json()["rejected"][0]["code"] == "no_user_anon_id"
    assert RejectedEvent.objects.get(source_id=hook.source_id).code == "no_user_anon_id"


def test_an_array_body_is_a_list_of_deliveries_and_keeps_the_valid_ones(client, hook):
    body = [BODY, {"customer": {"id": "C7"}}]  # the second has no event name
    response = deliver(client, hook, body)
    assert (response.json()["stored"], len(response.json()["rejected"])) == (1, 1)


def test_rotating_the_secret_makes_the_old_signature_fail(client, hook):
    old = hook.signing_secret
    assert webhooks.rotate_secret(config=hook) != old
    data = json.dumps(BODY).encode()
    response = deliver(client, hook, None, raw=data, signature=webhooks.sign(old, data))
    assert response.status_code == 401


def test_a_disabled_source_refuses_deliveries(client, hook):
    integration_services.update_source(source=hook.source, enabled=False)
    assert deliver(client, hook, BODY).status_code == 401


def test_rules_with_a_bad_target_or_path_are_refused():
    with pytest.raises(RuleError, match="Line 1"):
        parse_rules("nickname = $.a")
    with pytest.raises(RuleError, match="starts with"):
        parse_rules("traits.email = customer.email")


def test_admin_creates_edits_and_rotates_the_webhook_on_the_source_page(client_as, db):
    source = integration_services.create_source(name="CRM", kind=Source.Kind.CRM)
    client = client_as(ADMIN)
    url = f"/integrations/sources/{source.pk}/webhook/"
    assert "Create a webhook URL" in client.get(url, HTTP_HX_REQUEST="true").content.decode()
    created = client.post(url, HTTP_HX_REQUEST="true").content.decode()
    config = source.webhook
    secret = crypto.decrypt(config.secret_encrypted)
    assert secret in created and f"/hooks/{config.token}" in created
    assert secret not in client.get(url).content.decode()  # shown once
    saved = client.post(
        url,
        {
            "kind": "identify",
            "require_signature": "on",
            "rules": "userId = $.id\ntraits.email = $.mail",
        },
        HTTP_HX_REQUEST="true",
    )
    assert "Saved." in saved.content.decode()
    config.refresh_from_db()
    assert config.kind == "identify"
    assert config.rules == [
        {"target": "userId", "path": "$.id"},
        {"target": "traits.email", "path": "$.mail"},
    ]
    bad = client.post(url, {"kind": "identify", "rules": "x = y"}, HTTP_HX_REQUEST="true")
    assert 'class="error"' in bad.content.decode()
    rotated = client.post(
        f"/integrations/sources/{source.pk}/webhook/rotate-secret/", HTTP_HX_REQUEST="true"
    )
    config.refresh_from_db()
    new = crypto.decrypt(config.secret_encrypted)
    assert new != secret and new in rotated.content.decode()
    assert "no-store" in rotated["Cache-Control"]


def test_marketers_cannot_see_the_webhook_secret(client_as, hook):
    response = client_as(MARKETER).get(f"/integrations/sources/{hook.source_id}/webhook/")
    assert response.status_code == 403
