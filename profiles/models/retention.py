"""Retention: how long events are kept, per source and per event name (``RetentionPolicy``;
the most specific rule wins, the default of ``RetentionSettings`` when none applies), what
happens to people inactive for years, and the record of each run (``RetentionRun``).
The runs themselves: profiles/retention/."""

from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

STALE_AFTER = timedelta(hours=1)  # past the long tasks' 50 minutes (cdp_site.celery)
MAX_MONTHS = 1200  # a hundred years: past that "keep" means forever, and dates overflow


class RetentionPolicy(models.Model):
    """Events of ``source`` (blank: every source) named ``event_name`` (blank: every name)
    are kept ``keep_months`` months after their event time. Specificity: source and name >
    name > source > the default."""

    source = models.ForeignKey(
        "integrations.Source", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    event_name = models.CharField(max_length=200, blank=True, default="")
    keep_months = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(MAX_MONTHS)],
        help_text="Months after the event's time; 1 to 1200.",
    )
    note = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["source_id", "event_name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "event_name"],
                name="retentionpolicy_scope_unique",
                nulls_distinct=False,
            ),
            models.CheckConstraint(
                condition=Q(keep_months__gte=1, keep_months__lte=MAX_MONTHS),
                name="retentionpolicy_months_range",
            ),
            # A rule for every source and every name is the default: set it in the settings.
            models.CheckConstraint(
                condition=Q(source__isnull=False) | ~Q(event_name=""),
                name="retentionpolicy_not_default",
            ),
        ]

    def __str__(self) -> str:
        source = self.source.name if self.source_id else "every source"
        return f"{self.event_name or 'every event'} from {source}: {self.keep_months} months"

    @property
    def scope(self) -> str:
        if self.source_id and self.event_name:
            return "source and event"
        return "event" if self.event_name else "source"


class RetentionSettings(models.Model):
    """The one row of retention's account-wide settings."""

    class InactiveAction(models.TextChoices):
        ANONYMISE = "anonymise", "Anonymise (keep the profile id for aggregates)"
        DELETE = "delete", "Delete (every app's rows, as an erasure)"

    default_months = models.PositiveIntegerField(
        default=25,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_MONTHS)],
        help_text="Months events are kept when no rule names their source or name.",
    )
    inactive_years = models.PositiveIntegerField(
        default=0,
        validators=[MaxValueValidator(100)],
        help_text="Profiles with no activity for this many years are anonymised or deleted; "
        "0: never.",
    )
    inactive_action = models.CharField(
        max_length=10, choices=InactiveAction.choices, default=InactiveAction.ANONYMISE
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "retention settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(default_months__gte=1, default_months__lte=MAX_MONTHS),
                name="retentionsettings_months_range",
            )
        ]

    def __str__(self) -> str:
        return f"events kept {self.default_months} months by default"


class RetentionRun(models.Model):
    """One retention run (or a dry run: what it would remove): counts per table and rule,
    the partitions dropped, and the errors of the steps that failed (the others went on)."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    dry_run = models.BooleanField(default=False)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    removed = models.JSONField(default=dict, blank=True)  # {step: rows}
    partitions_dropped = models.JSONField(default=list, blank=True)
    errors = models.JSONField(default=dict, blank=True)  # {step: "ErrorKind: message"}
    seconds = models.JSONField(default=dict, blank=True)  # {step: seconds taken}

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"retention run {self.pk} at {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def total_removed(self) -> int:
        return sum(self.removed.values())

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish (None while it runs)."""
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def state(self) -> str:
        """done, errors, running, or stopped (unfinished past the task's time limit: its
        worker died; what it did stays done)."""
        if self.finished_at:
            return "errors" if self.errors else "done"
        stale = self.started_at < timezone.now() - STALE_AFTER
        return "stopped" if stale else "running"
