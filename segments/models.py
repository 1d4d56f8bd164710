"""Segments: a rule (JSON grammar, see segments/grammar.py), its materialised members,
and every entry and exit with when and why."""

from django.conf import settings
from django.db import models

from cdp_site.models import OutboxCursor


class Segment(models.Model):
    class Kind(models.TextChoices):
        DYNAMIC = "dynamic", "Rule-based"
        STATIC = "static", "Uploaded list"

    name = models.CharField(max_length=120)
    description = models.TextField(blank=True, default="")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.DYNAMIC)
    rule = models.JSONField(default=dict, blank=True)
    # What the rule reads ("traits", "events", "stage", ...; see grammar.dependencies) and
    # the event names it reads: a profile change re-evaluates only the segments it touches.
    depends_on = models.JSONField(default=list, blank=True)
    event_names = models.JSONField(default=list, blank=True)
    slides = models.BooleanField(default=False)  # has a time window: the scheduled pass
    # People a privacy request restricted are members (counted, listed) only when the
    # marketer asks; campaigns and exports leave them out either way.
    include_restricted = models.BooleanField(default=False, db_default=False)
    # Flagged by a marketer for on-site use: a source's personalisation settings may make
    # membership public to the visitor (GET /v1/personalize, campaigns/personalization/).
    on_site = models.BooleanField(default=False, db_default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The last full computation: never stuck silently.
    member_count = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField(null=True, blank=True)
    compute_ms = models.PositiveIntegerField(null=True, blank=True)
    compute_error = models.TextField(blank=True, default="")
    computing_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="memberships")
    profile_id = models.BigIntegerField()
    entered_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["segment", "profile_id"], name="membership_unique")
        ]
        indexes = [models.Index(fields=["profile_id"], name="membership_profile")]

    def __str__(self) -> str:
        return f"{self.profile_id} in {self.segment_id}"


class MembershipChange(models.Model):
    """An entry or exit: the history per profile, and the change record campaigns read
    (in id order, after the last id they handled; ``membership_changed`` signal too)."""

    class Change(models.TextChoices):
        ENTERED = "entered", "Entered"
        EXITED = "exited", "Exited"

    id = models.BigAutoField(primary_key=True)
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="changes")
    profile_id = models.BigIntegerField()
    change = models.CharField(max_length=10, choices=Change.choices)
    at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True, default="")
    # Caused only by history a connector backfilled (ProfileChange.backfill): the membership
    # is real, but the change starts no journey. Raw inserts may leave it out.
    backfill = models.BooleanField(default=False, db_default=False)

    class Meta:
        indexes = [
            models.Index(fields=["profile_id", "-at"], name="membershipchange_profile"),
            models.Index(fields=["segment", "-at"], name="membershipchange_segment"),
        ]

    def __str__(self) -> str:
        return f"{self.profile_id} {self.change} {self.segment_id}"


class SizeSample(models.Model):
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="sizes")
    at = models.DateTimeField()
    size = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["segment", "at"], name="sizesample_segment_at")]

    def __str__(self) -> str:
        return f"{self.segment_id}: {self.size}"


class ChangeCursor(OutboxCursor):
    """How far the real-time evaluator has read the profiles' change signal."""
