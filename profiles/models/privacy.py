from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

LEGAL_DAYS = 30  # GDPR art. 12(3): one month to answer


class PrivacyRequest(models.Model):
    """A data subject's request (access, erasure, restriction), as the person who handled
    it recorded it. The identifier's clear value is kept only while the request is open:
    on completion only its keyed hash (cdp_site.audit.hashed) stays, so that the record of
    an erasure does not itself keep the erased person's identifier."""

    class Kind(models.TextChoices):
        ACCESS = "access", "Access (export)"
        ERASURE = "erasure", "Erasure"
        RESTRICTION = "restriction", "Restriction of processing"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RUNNING = "running", "In progress"
        # An erasure done here whose destinations are still being asked to delete the
        # person (PropagationJob): not answered until every one succeeded or was handled.
        PROPAGATING = "propagating", "Erased here, reaching destinations"
        COMPLETED = "completed", "Completed"
        NO_DATA = "no_data", "No data found"
        FAILED = "failed", "Failed"

    class Verification(models.TextChoices):
        ACCOUNT = "account", "Signed in to their account"
        EMAIL = "email", "Answered from the e-mail address on file"
        DOCUMENT = "document", "Identity document seen (not kept)"
        OTHER = "other", "Other (see the note)"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    identifier_kind = models.CharField(max_length=40)  # an IdentifierKind name, or profile_id
    identifier_value = models.CharField(max_length=300, blank=True, default="")  # until done
    identifier_hash = models.CharField(max_length=32, db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    verification = models.CharField(max_length=10, choices=Verification.choices)
    verification_note = models.TextField(max_length=1000, blank=True, default="")
    due_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    profile_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    counts = models.JSONField(default=dict, blank=True)  # {part: rows} exported or erased
    error = models.CharField(max_length=300, blank=True, default="")
    export_file = models.CharField(max_length=100, blank=True, default="")  # under VAR_DIR
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["status", "due_at"], name="privacyrequest_open_due")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} request {self.pk}"

    def save(self, *args, **kwargs):
        if self.due_at is None:
            self.due_at = self.requested_at + timedelta(days=LEGAL_DAYS)
        super().save(*args, **kwargs)

    @property
    def is_done(self) -> bool:
        return self.status in (self.Status.COMPLETED, self.Status.NO_DATA)

    def due_in_words(self, now=None) -> str:
        """'12 days left', 'due today', '3 days overdue' (whole days, by the calendar)."""
        now = now or timezone.now()
        days = (timezone.localdate(self.due_at) - timezone.localdate(now)).days
        if days == 0:
            return "due today"
        if days > 0:
            return f"{days} day{'s' if days != 1 else ''} left"
        return f"{-days} day{'s' if days != -1 else ''} overdue"


class PropagationJob(models.Model):
    """One destination that received an erased person, asked to delete them too: its own
    status, attempts (exponential backoff, then "dead" for a person to look at), and who
    marked it handled by hand. ``person_encrypted`` (cdp_site.crypto) holds what the
    destination knows the person by (e-mail, phone, profile ids) only until the job
    succeeded or was handled: then it is wiped, so no clear identifier outlives the
    erasure here. The destination's name and kind are copied: a deleted destination
    leaves the job readable."""

    class Action(models.TextChoices):
        DELETE_MEMBER = "delete_member", "Delete the list member"
        REMOVE_FROM_AUDIENCE = "remove_from_audience", "Remove from the audience"
        DELETE_WEBHOOK = "delete_webhook", "Send a signed delete webhook"
        BY_HAND = "by_hand", "Delete by hand (no API to call)"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        FAILED = "failed", "Failed, will retry"
        DEAD = "dead", "Dead letter: gave up"
        WAITING = "waiting", "Waiting for a person"
        SUCCEEDED = "succeeded", "Succeeded"
        HANDLED = "handled_by_hand", "Handled by hand"

    FINAL = (Status.SUCCEEDED, Status.HANDLED)
    NEEDS_PERSON = (Status.DEAD, Status.WAITING)

    id = models.BigAutoField(primary_key=True)
    request = models.ForeignKey(
        PrivacyRequest, on_delete=models.CASCADE, related_name="propagation_jobs"
    )
    destination = models.ForeignKey(
        "integrations.Destination", null=True, blank=True, on_delete=models.SET_NULL
    )
    destination_name = models.CharField(max_length=120)
    destination_kind = models.CharField(max_length=30)
    action = models.CharField(max_length=24, choices=Action.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)  # running: lease end
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True, default="")
    outcome = models.CharField(max_length=300, blank=True, default="")  # what succeeded
    person_encrypted = models.TextField(blank=True, default="")
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(max_length=1000, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="propagationjob_due",
                condition=models.Q(status__in=["pending", "failed", "running"]),
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "destination"], name="propagationjob_one_per_destination"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} at {self.destination_name}"

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL

    @property
    def needs_person(self) -> bool:
        return self.status in self.NEEDS_PERSON
