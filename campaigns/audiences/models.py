"""Audience sync: a segment kept in step with one audience on an ad platform.

- ``AudienceSync``: which segment goes to which destination's audience, its state and
  its counts (what the status page shows).
- ``AudienceMember``: what the platform holds, as far as this side knows: per person the
  hashes sent (a removal sends the same hashes, even after the person's e-mail changed or
  they were erased), or that the platform rejected them.
- ``AudiencePending``: people whose place in the audience must be checked again (they
  entered or left the segment, their consent or identifiers changed). The sender
  reconciles them in batches and deletes the rows.

A full upload (the first one, "resync everything") needs no rows of its own: it walks
the segment's members and the audience's people in profile id order, ``full_after``
being how far it got.
"""

from django.conf import settings
from django.db import models


class AudienceSync(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused: an admin must reconnect the destination"
        BROKEN = "broken", "Broken: the audience is gone on the platform"

    name = models.CharField(max_length=120)
    segment = models.ForeignKey("segments.Segment", on_delete=models.PROTECT, related_name="+")
    destination = models.ForeignKey(
        "integrations.Destination", on_delete=models.PROTECT, related_name="+"
    )
    audience_id = models.CharField(max_length=120)  # the platform's audience / user list id
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    status_message = models.TextField(blank=True, default="")
    members_sent = models.PositiveIntegerField(default=0)  # in the audience now
    added_total = models.PositiveBigIntegerField(default=0)
    removed_total = models.PositiveBigIntegerField(default=0)
    failed_total = models.PositiveBigIntegerField(default=0)
    match_rate = models.CharField(max_length=40, blank=True, default="")
    last_error = models.TextField(blank=True, default="")
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    # Backoff after a rate limit or a server error: nothing is sent before it.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # A full upload in progress: the last profile id it sent (0 before the first batch).
    full_after = models.BigIntegerField(null=True, blank=True)
    # A full upload in parts (Meta's session: id, batches sent, estimated total).
    session = models.JSONField(default=dict, blank=True)
    # Google reports a request's match rate and rejected records later: asked next run.
    pending_request_id = models.CharField(max_length=200, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class AudienceMember(models.Model):
    class State(models.TextChoices):
        IN = "in", "In the audience"
        FAILED = "failed", "Rejected by the platform"

    id = models.BigAutoField(primary_key=True)
    sync = models.ForeignKey(AudienceSync, on_delete=models.CASCADE, related_name="members")
    profile_id = models.BigIntegerField()
    email_hash = models.CharField(max_length=64, blank=True, default="")
    phone_hash = models.CharField(max_length=64, blank=True, default="")
    state = models.CharField(max_length=6, choices=State.choices, default=State.IN)
    error = models.CharField(max_length=300, blank=True, default="")
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sync", "profile_id"], name="audiencemember_unique")
        ]
        indexes = [models.Index(fields=["profile_id"], name="audiencemember_profile")]

    def __str__(self) -> str:
        return f"{self.profile_id} {self.state} {self.sync_id}"


class AudiencePending(models.Model):
    id = models.BigAutoField(primary_key=True)
    sync = models.ForeignKey(AudienceSync, on_delete=models.CASCADE, related_name="pending")
    profile_id = models.BigIntegerField()
    # Set again by each change: the sender deletes the row only if it was not marked again
    # after it was read (a change while a batch is being sent is not lost).
    marked_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sync", "profile_id"], name="audiencepending_unique")
        ]

    def __str__(self) -> str:
        return f"{self.profile_id} pending in {self.sync_id}"
