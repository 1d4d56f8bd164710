from django.contrib.postgres.fields import ArrayField
from django.db import models


class ProfileChange(models.Model):
    """The change signal, kept as an outbox: one row per changed profile per
    processing transaction. See profiles/changes.py for the contract."""

    profile_id = models.BigIntegerField()
    kinds = ArrayField(models.CharField(max_length=20))
    detail = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    # Every message behind this change was history a connector backfilled: what it moves
    # (a segment entry or exit) starts no journey. Raw inserts may leave it out.
    backfill = models.BooleanField(default=False, db_default=False)

    class Meta:
        indexes = [models.Index(fields=["profile_id", "-id"], name="profilechange_profile")]

    def __str__(self) -> str:
        return f"{self.profile_id}: {', '.join(self.kinds)}"
