"""Writes of inbound webhooks: configuration, secret rotation, and receiving a delivery."""

import hashlib
import hmac
from dataclasses import dataclass

from django.db import transaction

from integrations import conf
from integrations.collect.body import parse_json
from integrations.collect.errors import CollectError
from integrations.collect.messages import SERVER
from integrations.services import IngestResult, ingest_messages

from .mapping import body_message_id, to_message
from .models import WebhookConfig, new_webhook_secret, new_webhook_token

SIGNATURE_HEADER = "X-Signature"


class WebhookError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@transaction.atomic
def enable_webhook(*, source) -> WebhookConfig:
    config, _ = WebhookConfig.objects.get_or_create(source=source)
    return config


@transaction.atomic
def update_webhook(
    *, config: WebhookConfig, kind: str, require_signature: bool, rules: list[dict]
) -> WebhookConfig:
    config.kind = kind
    config.require_signature = require_signature
    config.rules = rules
    config.save(update_fields=["kind", "require_signature", "rules", "updated_at"])
    return config


@transaction.atomic
def rotate_secret(*, config: WebhookConfig, new_url: bool = False) -> WebhookConfig:
    config.secret = new_webhook_secret()
    fields = ["secret", "updated_at"]
    if new_url:
        config.token = new_webhook_token()
        fields.append("token")
    config.save(update_fields=fields)
    return config


def sign(secret: str, body: bytes) -> str:
    """The header value a sender puts in X-Signature: ``sha256=<hex HMAC of the body>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check_signature(config: WebhookConfig, body: bytes, header: str | None) -> None:
    if not header:
        if config.require_signature:
            raise WebhookError(
                401, "missing_signature", f"Sign the body: {SIGNATURE_HEADER}: sha256=<hex>."
            )
        return
    if not hmac.compare_digest(sign(config.secret, body).encode(), header.strip().encode()):
        raise WebhookError(401, "invalid_signature", "The signature does not match the body.")


@dataclass(frozen=True)
class Delivery:
    result: IngestResult
    received: int


def config_for_token(token: str) -> WebhookConfig:
    config = (
        WebhookConfig.objects.select_related("source").filter(token=token).first()
        if token
        else None
    )
    if config is None:
        raise WebhookError(404, "not_found", "No webhook has this URL.")
    if not config.source.enabled:
        raise WebhookError(401, "source_disabled", "This source is disabled.")
    return config


def receive(*, token: str, body: bytes, signature: str | None, ip: str | None = None) -> Delivery:
    """Checks the signature, parses and maps the body, and ingests the message(s).

    A JSON array body is a list of deliveries, each mapped on its own. Invalid messages
    end on the source's rejected list (the caller reports them); valid ones are stored.
    """
    config = config_for_token(token)
    check_signature(config, body, signature)
    try:
        data = parse_json(body)
    except CollectError as exc:
        raise WebhookError(400, exc.code, exc.message) from None
    items = data if isinstance(data, list) else [data]
    limit = conf.get("COLLECT_MAX_BATCH_MESSAGES")
    if len(items) > limit:
        raise WebhookError(400, "batch_too_large", f"At most {limit} items a delivery.")
    messages = [
        to_message(item, kind=config.kind, rules=config.rules, fallback_id=body_message_id(body, i))
        if isinstance(item, dict)
        else item
        for i, item in enumerate(items)
    ]
    # The request proved the webhook's secret: believed as a server source's calls.
    result = ingest_messages(source_id=config.source_id, messages=messages, ip=ip, trust=SERVER)
    return Delivery(result=result, received=len(messages))
