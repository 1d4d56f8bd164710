"""Sources, the events they send, and the bookkeeping around the events table.

The events table itself is partitioned by month and created with RunSQL (see
migrations/0002_events.py); ``Event`` is an unmanaged model used only to read it.
"""

import secrets

from django.contrib.postgres.fields import ArrayField
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone


def new_write_key() -> str:
    # URL-safe alphabet: no ':' so the key can be an HTTP Basic username.
    return secrets.token_urlsafe(24)


# Kinds whose write key ships in pages and apps people can read: their calls are only as
# trustworthy as the browser that sends them.
CLIENT_KINDS = frozenset({"website", "mobile_app"})


class Source(models.Model):
    class Kind(models.TextChoices):
        WEBSITE = "website", "Website"
        MOBILE_APP = "mobile_app", "Mobile app"
        SERVER = "server", "Server"
        CRM = "crm", "CRM"
        EMAIL = "email", "E-mail platform"
        POINT_OF_SALE = "point_of_sale", "Point of sale"
        ERP = "erp", "ERP"
        SOCIAL = "social", "Social media"
        PARTNER = "partner", "Partner"
        DATA_PROVIDER = "data_provider", "Data provider"
        FILE = "file", "File"

    class Party(models.TextChoices):
        FIRST = "first", "First-party"
        SECOND = "second", "Second-party"
        THIRD = "third", "Third-party"

    class Trust(models.TextChoices):
        SERVER = "server", "Server (secret key, trusted)"
        CLIENT = "client", "Client (public key: website, mobile app)"

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    party = models.CharField(max_length=10, choices=Party.choices, default=Party.FIRST)
    enabled = models.BooleanField(default=True)
    # Stored in clear with a unique index: write keys identify a source, they are not
    # secrets (browsers and apps ship them), and the collection API looks them up per request.
    write_key = models.CharField(max_length=64, unique=True, default=new_write_key)
    previous_write_key = models.CharField(max_length=64, blank=True, default="", db_index=True)
    previous_key_valid_until = models.DateTimeField(null=True, blank=True)
    priority = models.IntegerField(
        default=100, help_text="Higher wins when two sources disagree about a trait."
    )
    rate_limit = models.PositiveIntegerField(
        default=50_000, help_text="Messages accepted per second; 0 means no limit."
    )
    # Source trust (README, "Security"): what a call may do to a known customer's profile.
    trust = models.CharField(max_length=10, choices=Trust.choices, default=Trust.SERVER)
    require_verification = models.BooleanField(
        default=True,
        help_text="Client sources: only calls signed by your backend may link to a known "
        "customer (by user id, e-mail or phone).",
    )
    verification_secret_encrypted = models.TextField(blank=True, default="")
    ip_rate_limit = models.PositiveIntegerField(
        default=0, help_text="Messages accepted per second from one address; 0: no limit."
    )
    # Orders (profiles.attribution): the property holding an order's amount when it is
    # not ``revenue``/``total``, and the currency of orders that name none. Read by the
    # reports' SQL as column values (a JSON key, a code), never as SQL text.
    revenue_property = models.CharField(
        max_length=100,
        blank=True,
        default="",
        validators=[
            RegexValidator(
                r"^[A-Za-z0-9_.-]+$",
                "Use letters, digits, and _ - . only (the name of an order property).",
            )
        ],
        help_text="The order property holding its amount, e.g. amount. Blank: revenue, else total.",
    )
    currency = models.CharField(
        max_length=3,
        blank=True,
        default="",
        validators=[
            # Either case: the services upper-case it.
            RegexValidator(r"^[A-Za-z]{3}$", "A three-letter ISO 4217 code, e.g. EUR.")
        ],
        help_text="The currency of this source's orders that name none, e.g. EUR. Blank: "
        "the account's default.",
    )
    # The personalisation API (GET /v1/personalize): the web origins whose pages may read
    # its answers (CORS), e.g. https://shop.example. What the answer holds is chosen on the
    # campaigns' personalisation page; an app or a server (no Origin) needs no entry.
    personalize_origins = ArrayField(models.CharField(max_length=200), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # A source that sent data is archived, not deleted (its events and the profiles built
    # from them keep pointing at it): disabled, its keys refused, hidden from lists.
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(party__in=["first", "second", "third"]), name="source_party_valid"
            ),
            models.CheckConstraint(
                condition=Q(trust__in=["server", "client"]), name="source_trust_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_client(self) -> bool:
        return self.trust == self.Trust.CLIENT

    @property
    def archived(self) -> bool:
        return self.archived_at is not None

    @property
    def previous_key_active(self) -> bool:
        return bool(
            self.previous_write_key
            and self.previous_key_valid_until
            and self.previous_key_valid_until > timezone.now()
        )


class RejectedEvent(models.Model):
    """A message the collection API refused, kept 7 days so that senders can see why."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="rejected_events")
    code = models.CharField(max_length=40)
    reason = models.CharField(max_length=500)
    payload = models.JSONField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["source", "-id"], name="rejected_source_id_idx")]

    def __str__(self) -> str:
        return f"{self.code}: {self.reason}"


class SourceMinuteStats(models.Model):
    """Events processed per source and minute (of receipt); the live page's chart."""

    source_id = models.BigIntegerField()
    minute = models.DateTimeField()
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source_id", "minute"], name="source_minute_unique")
        ]

    def __str__(self) -> str:
        return f"source {self.source_id} at {self.minute:%Y-%m-%d %H:%M}: {self.count}"


class EventMessageId(models.Model):
    """One row per (source, messageId) ever stored: the dedupe key.

    A unique constraint on the partitioned events table would have to include the
    partition column, which would let a retry in the next month through.
    """

    pk = models.CompositePrimaryKey("source_id", "message_id")
    source_id = models.BigIntegerField()
    message_id = models.CharField(max_length=100)

    def __str__(self) -> str:
        return f"{self.source_id}/{self.message_id}"


class EventInbox(models.Model):
    """Stored events not processed yet; filled in the same transaction as the events."""

    event_id = models.BigIntegerField()
    received_at = models.DateTimeField()
    source_id = models.BigIntegerField()

    def __str__(self) -> str:
        return f"event {self.event_id}"


class QuarantinedEvent(models.Model):
    """A stored event that processing could not handle, set aside with why.

    Only an event that fails alone with a data error lands here (integrations.processing
    bisects a failing batch until it finds it); the rest of its batch is processed. The
    payload is copied so the row says everything even after its partition is dropped.
    Replaying puts the event back in the inbox and deletes this row.
    """

    id = models.BigAutoField(primary_key=True)
    event_id = models.BigIntegerField(unique=True)
    received_at = models.DateTimeField()
    source_id = models.BigIntegerField()
    step = models.CharField(max_length=200)
    error = models.TextField()
    payload = models.JSONField(null=True)
    quarantined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["source_id", "-id"], name="quarantine_source_id_idx")]

    def __str__(self) -> str:
        return f"event {self.event_id}: {self.error[:80]}"

    @property
    def summary(self) -> str:
        """What the event was, from its payload: "track Order Completed"."""
        payload = self.payload if isinstance(self.payload, dict) else {}
        name = payload.get("event") or payload.get("name") or ""
        return f"{payload.get('type') or 'event'} {name}".strip()


class Event(models.Model):
    """Read-only view of the append-only, month-partitioned events table."""

    source = models.ForeignKey(
        Source, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    type = models.CharField(max_length=16)
    # NULL, not "", means "not sent": the table mirrors the raw messages.
    event = models.TextField(null=True)  # noqa: DJ001
    user_id = models.TextField(null=True)  # noqa: DJ001
    anonymous_id = models.TextField(null=True)  # noqa: DJ001
    message_id = models.TextField()
    timestamp = models.DateTimeField()
    original_timestamp = models.DateTimeField(null=True)
    sent_at = models.DateTimeField(null=True)
    received_at = models.DateTimeField()
    payload = models.JSONField()

    class Meta:
        managed = False
        db_table = "integrations_event"
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.type} {self.event or ''} ({self.message_id})"


# Models of the catalogue, destinations, file import, webhook and connector packages,
# registered with this app.
from .catalog.models import Product  # noqa: E402, F401
from .connectors.models import Connection, DroppedFile, StreamState, SyncRun  # noqa: E402, F401
from .destinations.models import DeadLetter, Destination  # noqa: E402, F401
from .imports.models import FileImport, ImportMapping  # noqa: E402, F401
from .suppression.models import SuppressedCount, Suppression, SuppressionKey  # noqa: E402, F401
from .tracking_plan.models import PlannedEvent, PlanSource, TrackingPlan, Violation  # noqa: E402, F401
from .webhooks.models import UsedSignature, WebhookConfig  # noqa: E402, F401
