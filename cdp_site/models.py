from django.conf import settings
from django.db import models
from django.utils import timezone


class ApiToken(models.Model):
    """A REST API token acting with its owner's role.

    Only a SHA-256 hash of the token is stored; the token itself is shown once,
    when it is created. The prefix is stored in clear to find the row and to let
    people tell their tokens apart.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Set at creation; None never expires. An expired token is refused with its own message.
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} (cdp_{self.prefix}_…)"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired


class QueuedTask(models.Model):
    """A Celery task waiting for the broker to take it (the outbox, cdp_site/outbox.py).

    Written in the transaction that asks for the work, deleted once the broker has the
    message: work asked for while the broker was unreachable is sent later, not lost.
    """

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    not_before = models.DateTimeField(null=True, blank=True)  # a delayed task's due time
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.task}{tuple(self.args)}"


class OutboxCursor(models.Model):
    """How far one reader has read an outbox: the per-consumer cursor of the outbox flow
    (profiles/changes.py). Abstract: each reading app keeps its cursors in its own table.
    """

    name = models.CharField(max_length=40, unique=True)
    last_id = models.BigIntegerField(default=0)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.name}: {self.last_id}"

    @classmethod
    def locked(cls, name: str):
        """The cursor called ``name`` (created at 0 the first time), locked FOR UPDATE
        until the transaction ends: one reader at a time moves it."""
        cursor, _ = cls.objects.get_or_create(name=name)
        return cls.objects.select_for_update().get(pk=cursor.pk)


class AccountSettings(models.Model):
    """Settings of the whole account: one row (pk 1), written by an admin through
    cdp_site.services.set_time_zone, read through cdp_site.selectors.account_time_zone.

    ``time_zone`` is where the reports' days begin: their periods, buckets and "today".
    Empty: the site's TIME_ZONE (the setting) until an admin chooses one."""

    time_zone = models.CharField(max_length=64, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "account settings"

    def __str__(self) -> str:
        return f"account settings ({self.time_zone or 'site time zone'})"


class AuditEntry(models.Model):
    """One row of the audit trail (cdp_site/audit.py writes it, nothing else does).

    The table is append-only (a trigger refuses UPDATE and DELETE) and partitioned by
    month of ``at``, so its retention is a partition drop; created with RunSQL
    (migration 0006), hence unmanaged. Rows hold ids and keyed hashes of identifiers,
    never the personal data itself: the trail must not become a second copy to erase.
    """

    id = models.BigAutoField(primary_key=True)  # with ``at``, the table's primary key
    at = models.DateTimeField()
    actor_id = models.BigIntegerField(null=True)  # the user; None for the platform itself
    actor_role = models.CharField(max_length=40, blank=True)
    action = models.CharField(max_length=60)
    target_type = models.CharField(max_length=60, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    address = models.GenericIPAddressField(null=True)
    details = models.JSONField(default=dict)

    class Meta:
        managed = False
        db_table = "cdp_site_auditentry"
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action} {self.target_type} {self.target_id}"
