"""Per-source inbound webhook configuration (registered via integrations/models.py)."""

import secrets

from django.db import models


def new_webhook_token() -> str:
    return secrets.token_urlsafe(18)


def new_webhook_secret() -> str:
    return secrets.token_hex(32)


class WebhookConfig(models.Model):
    """``rules`` is a list of {"target", "path"} or {"target", "value"}; see webhooks.mapping.

    The signing secret is stored only encrypted (cdp_site/crypto.py) and shown once, in
    the answer that created or rotated it."""

    class Kind(models.TextChoices):
        IDENTIFY = "identify", "identify (traits)"
        TRACK = "track", "track (event with properties)"

    source = models.OneToOneField(
        "integrations.Source", on_delete=models.CASCADE, related_name="webhook"
    )
    token = models.CharField(max_length=64, unique=True, default=new_webhook_token)
    secret_encrypted = models.TextField(blank=True, default="")
    require_signature = models.BooleanField(default=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TRACK)
    rules = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"webhook of source {self.source_id}"


class UsedSignature(models.Model):
    """A signature already accepted: the same signed request a second time is a replay.
    Kept while its timestamp could still pass the tolerance window, then purged."""

    id = models.BigAutoField(primary_key=True)
    webhook = models.ForeignKey(WebhookConfig, on_delete=models.CASCADE, related_name="+")
    signature = models.CharField(max_length=64)
    signed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["webhook", "signature"], name="webhook_signature_once")
        ]
        indexes = [models.Index(fields=["signed_at"], name="webhook_signature_signed_at")]

    def __str__(self) -> str:
        return f"{self.webhook_id}: {self.signature[:12]}"
