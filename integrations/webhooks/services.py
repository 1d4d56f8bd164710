"""Writes of inbound webhooks: configuration, secret rotation, and receiving a delivery.

Signatures (``X-Signature: t=<unix seconds>,sha256=<hex>``): the HMAC-SHA256, keyed by
the webhook's secret, of the timestamp, a dot and the raw body (``f"{t}.".encode() +
body``). A timestamp more than ``TOLERANCE_SECONDS`` from now (past or future) is refused,
and so is a signature accepted before: a captured request cannot be sent again. The
secret is stored encrypted and returned only by ``enable_webhook`` (when it creates
the webhook) and ``rotate_secret``.
"""

import hashlib
import hmac
import logging
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from cdp_site import crypto
from integrations import conf
from integrations.collect.body import parse_json
from integrations.collect.errors import CollectError
from integrations.collect.messages import SERVER
from integrations.services import IngestResult, ingest_messages

from .mapping import body_message_id, to_message
from .models import UsedSignature, WebhookConfig, new_webhook_secret, new_webhook_token

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Signature"
TOLERANCE_SECONDS = 300
SIGNATURE_FORMAT = (
    f"{SIGNATURE_HEADER}: t=<unix seconds>,sha256=<hex HMAC-SHA256 of '<t>.<raw body>' "
    "with the secret>"
)
_SIGNATURE = re.compile(r"\s*t=(\d{1,12})\s*,\s*sha256=([0-9a-fA-F]{64})\s*\Z")


class WebhookError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@transaction.atomic
def enable_webhook(*, source) -> tuple[WebhookConfig, str | None]:
    """The source's webhook, created when missing. The new secret is returned only when
    it was created (None otherwise): show it once, it is never readable again."""
    secret = new_webhook_secret()
    config, created = WebhookConfig.objects.get_or_create(
        source=source, defaults={"secret_encrypted": crypto.encrypt(secret)}
    )
    return config, (secret if created else None)


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
def rotate_secret(*, config: WebhookConfig, new_url: bool = False) -> str:
    """A new secret (returned, to show once); the old one stops working at once."""
    secret = new_webhook_secret()
    config.secret_encrypted = crypto.encrypt(secret)
    fields = ["secret_encrypted", "updated_at"]
    if new_url:
        config.token = new_webhook_token()
        fields.append("token")
    config.save(update_fields=fields)
    return secret


def rotate_encryption() -> int:
    """Re-encrypts every webhook secret with the first key (rotate_encryption_key)."""
    count = 0
    with transaction.atomic():
        rows = WebhookConfig.objects.exclude(secret_encrypted="").select_for_update()
        for config in rows.only("id", "secret_encrypted").iterator(chunk_size=500):
            rotated = crypto.rotate(config.secret_encrypted)
            WebhookConfig.objects.filter(pk=config.pk).update(secret_encrypted=rotated)
            count += 1
    return count


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The X-Signature value a sender puts on ``body`` (at ``timestamp``, default now)."""
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={timestamp},sha256={_digest(secret, timestamp, body)}"


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Signature:
    timestamp: int
    digest: str


def check_signature(
    config: WebhookConfig, body: bytes, header: str | None, *, now: float | None = None
) -> Signature | None:
    """The valid signature (None for an unsigned delivery a webhook does not require);
    raises WebhookError (401) for a missing, malformed, stale or wrong one."""
    if not header:
        if config.require_signature:
            raise WebhookError(401, "missing_signature", f"Sign the body: {SIGNATURE_FORMAT}.")
        return None
    match = _SIGNATURE.match(header)
    if not match:
        raise WebhookError(
            401, "invalid_signature", f"The signature is not in the form {SIGNATURE_FORMAT}."
        )
    timestamp, digest = int(match[1]), match[2].lower()
    now = time.time() if now is None else now
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        raise WebhookError(
            401,
            "stale_signature",
            f"The signature's timestamp is more than {TOLERANCE_SECONDS // 60} minutes from "
            "now: sign each request when you send it (and check the sender's clock).",
        )
    try:
        secret = crypto.decrypt(config.secret_encrypted)
    except crypto.DecryptionError:
        logger.error(
            "webhook %s: its secret cannot be decrypted with CDP_ENCRYPTION_KEYS", config.pk
        )
        raise WebhookError(
            503, "secret_unreadable", "This webhook cannot check signatures right now."
        ) from None
    expected = _digest(secret, timestamp, body)
    if not hmac.compare_digest(expected, digest):
        raise WebhookError(401, "invalid_signature", "The signature does not match the body.")
    return Signature(timestamp=timestamp, digest=digest)


def _remember(config: WebhookConfig, signature: Signature) -> None:
    """Records the signature; refuses one seen before (in the caller's transaction, so a
    delivery that fails to store leaves its signature usable for the sender's retry)."""
    try:
        with transaction.atomic():
            UsedSignature.objects.create(
                webhook=config,
                signature=signature.digest,
                signed_at=datetime.fromtimestamp(signature.timestamp, tz=UTC),
            )
    except IntegrityError:
        raise WebhookError(
            409,
            "replayed_signature",
            "This signed request was received before: sign each delivery with its own timestamp.",
        ) from None


def purge_used_signatures(*, now: datetime | None = None) -> int:
    """Forgets signatures whose timestamp can no longer pass the tolerance window."""
    cutoff = (now or timezone.now()) - timedelta(seconds=2 * TOLERANCE_SECONDS)
    deleted, _ = UsedSignature.objects.filter(signed_at__lt=cutoff).delete()
    return deleted


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
    signed = check_signature(config, body, signature)
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
    with transaction.atomic():
        if signed is not None:
            _remember(config, signed)
        # The request proved the webhook's secret: believed as a server source's calls.
        result = ingest_messages(source_id=config.source_id, messages=messages, ip=ip, trust=SERVER)
    return Delivery(result=result, received=len(messages))
