"""A connection's secrets: stored only encrypted (a JSON object, cdp_site/crypto.py), read
by the sync to make its Reader, written by the services and by a read that was issued a
new token (Shopify's client-credentials tokens expire after 24 hours)."""

import json

from django.utils import timezone

from cdp_site import crypto

from .models import Connection


def secrets_of(connection: Connection) -> dict:
    if not connection.secrets_encrypted:
        return {}
    return json.loads(crypto.decrypt(connection.secrets_encrypted))


def set_secrets(*, connection: Connection, secrets: dict) -> None:
    """Merges the given secrets (blank values keep the stored one) and stores them encrypted."""
    current = secrets_of(connection)
    current.update({k: v for k, v in secrets.items() if v not in (None, "")})
    connection.secrets_encrypted = crypto.encrypt(json.dumps(current)) if current else ""
    # An UPDATE, not save(): a token issued to a read whose connection was deleted
    # meanwhile (services.delete_connection) goes with it, and the read does not fail.
    Connection.objects.filter(pk=connection.pk).update(
        secrets_encrypted=connection.secrets_encrypted, updated_at=timezone.now()
    )
