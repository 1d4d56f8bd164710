"""The suppression list's tables (registered with the app via integrations/models.py)."""

from django.db import models


class SuppressionKey(models.Model):
    """A version of the key the suppressions are hashed with (HMAC-SHA256), encrypted at
    rest (cdp_site/crypto.py). A version is never deleted while a suppression made with
    it exists (PROTECT): losing it would bring back everyone erased under it."""

    version = models.PositiveIntegerField(unique=True)
    key_encrypted = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"suppression key v{self.version}"


class Suppression(models.Model):
    """One erased identifier: its keyed hash under one key version, never the value."""

    key = models.ForeignKey(SuppressionKey, on_delete=models.PROTECT, related_name="+")
    digest = models.CharField(max_length=64)
    reason = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "digest"], name="suppression_key_digest")
        ]
        indexes = [models.Index(fields=["digest"], name="suppression_digest")]

    def __str__(self) -> str:
        return f"suppression {self.digest[:12]}… (v{self.key_id})"


class SuppressedCount(models.Model):
    """Messages dropped because they carried a suppressed identifier, per source and day
    (at the door, or when processed)."""

    source_id = models.BigIntegerField()
    day = models.DateField()
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source_id", "day"], name="suppressedcount_day")
        ]

    def __str__(self) -> str:
        return f"source {self.source_id} {self.day}: {self.count}"
