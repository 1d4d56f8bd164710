"""Requests shaped exactly as the official Python clients send them."""

import base64
import gzip
import json
from datetime import UTC, datetime

import pytest

from integrations.models import Event

pytestmark = pytest.mark.django_db


def _client_batch(write_key: str) -> dict:
    # What rudder-sdk-python / segment-analytics-python put in one POST /v1/batch.
    now = datetime.now(UTC).isoformat()
    return {
        "batch": [
            {
                "type": "identify",
                "userId": "customer-17",
                "traits": {"email": "ann@example.org"},
                "context": {"library": {"name": "analytics-python", "version": "2.3.0"}},
                "timestamp": now,
                "messageId": "0b7f1c6e-4f0e-4a8e-9a53-4a5d1c1f1a01",
                "integrations": {},
            },
            {
                "type": "track",
                "userId": "customer-17",
                "event": "Order Completed",
                "properties": {"revenue": 49.9, "currency": "EUR"},
                "context": {"library": {"name": "analytics-python", "version": "2.3.0"}},
                "timestamp": now,
                "messageId": "0b7f1c6e-4f0e-4a8e-9a53-4a5d1c1f1a02",
                "integrations": {},
            },
        ],
        "sentAt": now,
        "writeKey": write_key,
    }


def test_rudderstack_python_client_shape_basic_auth_and_gzip(client, source):
    body = gzip.compress(json.dumps(_client_batch(source.write_key)).encode())
    auth = base64.b64encode(f"{source.write_key}:".encode()).decode()
    response = client.generic(
        "POST",
        "/v1/batch",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {auth}",
        HTTP_CONTENT_ENCODING="gzip",
        HTTP_USER_AGENT="rudder-sdk-python/2.1.4",
    )
    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert sorted(Event.objects.values_list("type", flat=True)) == ["identify", "track"]


def test_segment_python_client_shape_plain_json(client, source):
    auth = base64.b64encode(f"{source.write_key}:".encode()).decode()
    response = client.post(
        "/v1/batch",
        json.dumps(_client_batch(source.write_key)),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {auth}",
    )
    assert response.status_code == 200
    assert Event.objects.get(type="track").event == "Order Completed"
    assert Event.objects.get(type="identify").payload["traits"] == {"email": "ann@example.org"}
