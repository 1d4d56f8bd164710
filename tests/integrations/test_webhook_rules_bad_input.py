"""A webhook's mapping rules with characters PostgreSQL cannot store are a 400 naming
the rules (found by probing the API with NUL in every JSON text), never a 500."""

import json

import pytest

from cdp_site.permissions import ADMIN
from integrations.webhooks.models import WebhookConfig

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "rules",
    [
        [{"target": "event", "value": "Order\x00"}],
        [{"target": "event", "path": "$.a\x00"}],
        'event = "Order\x00"',
        [{"target": "event", "value": "\ud800"}],
    ],
)
def test_webhook_rules_with_unstorable_characters_are_a_field_error(client_as, source, rules):
    api = client_as(ADMIN)
    body = json.dumps({"rules": rules})  # json.dumps escapes the lone surrogate
    response = api.post(
        f"/api/v1/sources/{source.pk}/webhook", body, content_type="application/json"
    )
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert "cannot be stored" in fields["rules"][0]
    assert WebhookConfig.objects.get(source=source).rules != rules
