"""A connection's secrets: stored only encrypted (a JSON object, cdp_site/crypto.py), read
by the sync to make its Reader, written by the services and by a read that was issued a
new token (Shopify's client-credentials tokens expire after 24 hours)."""

import json

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
    connection.save(update_fields=["secrets_encrypted", "updated_at"])
