"""Probabilistic matching's tables: its settings, the models it trains (versioned), its
passes, and the pairs it found (the review queue, and the decisions people made on it).

profiles/matching/ holds the code; README "Probabilistic matching" says how to use it.
"""

from django.conf import settings
from django.db import models

from cdp_site.models import OutboxCursor


class MatchSettings(models.Model):
    """The one row of matching settings: which traits feed which field, how fields are
    compared and blocked, and the two thresholds that decide what happens to a pair."""

    enabled = models.BooleanField(default=False)
    # {standard field: [trait paths]}; profiles/matching/fields.py validates it.
    mapping = models.JSONField(default=dict, blank=True)
    comparisons = models.JSONField(default=list, blank=True)
    blocking = models.JSONField(default=list, blank=True)
    vetoes = models.JSONField(default=list, blank=True)
    phone_region = models.CharField(max_length=2, default="US")
    day_first = models.BooleanField(default=True)
    # Match probability at or above which a pair is merged without a person...
    auto_merge_threshold = models.FloatField(default=0.998)
    # ...and at or above which (below the first) it waits in the review queue.
    review_threshold = models.FloatField(default=0.9)
    memory_limit = models.CharField(max_length=10, default="2GB")
    max_block = models.PositiveIntegerField(default=1000)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return "Matching settings"

    @classmethod
    def load(cls) -> "MatchSettings":
        return cls.objects.get_or_create(pk=1)[0]


class MatchModel(models.Model):
    """A trained model: Splink's JSON and the definition it was trained with (fields,
    comparisons, blocking), so a model trained on other fields than the current settings
    is known and refused until retrained."""

    id = models.BigAutoField(primary_key=True)
    definition = models.JSONField()
    signature = models.CharField(max_length=64)  # sha-256 of the definition
    splink = models.JSONField()
    profiles_used = models.PositiveIntegerField()
    seconds = models.FloatField()
    trained_at = models.DateTimeField(auto_now_add=True)
    trained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Model v{self.pk}"


class MatchRun(models.Model):
    """One pass: a full pass over every active profile, an incremental one over those
    changed since, or a dry run that changes nothing."""

    class Kind(models.TextChoices):
        FULL = "full", "Full pass"
        INCREMENTAL = "incremental", "Incremental pass"
        DRY_RUN = "dry_run", "Dry run"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    model = models.ForeignKey(MatchModel, null=True, on_delete=models.SET_NULL, related_name="+")
    auto_merge_threshold = models.FloatField()
    review_threshold = models.FloatField()
    profiles = models.PositiveIntegerField(default=0)
    pairs = models.PositiveIntegerField(default=0)
    merged = models.PositiveIntegerField(default=0)
    queued = models.PositiveIntegerField(default=0)
    # Pairs above the auto-merge threshold held back, by why (a veto, an unverified
    # value, two different unique identifiers, a person's earlier decision).
    held = models.JSONField(default=dict, blank=True)
    capped = models.JSONField(default=dict, blank=True)  # blocking values left out
    samples = models.JSONField(default=list, blank=True)  # a dry run's examples
    # Where a running pass is, for its page's progress bar: the phase, and within the
    # merging phase the merges made of those planned (profiles/matching/progress.py).
    phase = models.CharField(max_length=10, blank=True, default="")
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    # The profile id changes are read after, for the next incremental pass.
    changed_after = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True, default="")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            # Two passes at once would merge the same people twice: one runs.
            models.UniqueConstraint(
                fields=["status"],
                condition=models.Q(status="running"),
                name="matchrun_one_running",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.pk}"


class MatchCandidate(models.Model):
    """A pair the matcher found: waiting for review, or decided. ``low_id`` < ``high_id``:
    one row per pair, whichever order it was found in. A rejected pair is never suggested
    again, and neither a rejected nor an unmerged pair is merged by the matcher."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for review"
        ACCEPTED = "accepted", "Merged by a person"
        REJECTED = "rejected", "Not the same person"
        MERGED = "merged", "Merged by the matcher"
        STALE = "stale", "One of the two is gone"

    id = models.BigAutoField(primary_key=True)
    low_id = models.BigIntegerField()
    high_id = models.BigIntegerField()
    probability = models.FloatField()
    weight = models.FloatField()
    model = models.ForeignKey(MatchModel, null=True, on_delete=models.SET_NULL, related_name="+")
    held_by = models.JSONField(default=list, blank=True)  # why it was not auto-merged
    # {comparison: [level (Splink's gamma), match weight]}: the score's explanation.
    parts = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    found_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-probability", "id"]
        constraints = [
            models.UniqueConstraint(fields=["low_id", "high_id"], name="matchcandidate_pair"),
            models.CheckConstraint(
                condition=models.Q(low_id__lt=models.F("high_id")), name="matchcandidate_order"
            ),
        ]
        indexes = [
            models.Index(
                fields=["-probability"],
                name="matchcandidate_queue",
                condition=models.Q(status="pending"),
            ),
            models.Index(fields=["high_id"], name="matchcandidate_high"),
        ]

    def __str__(self) -> str:
        return f"{self.low_id} ~ {self.high_id} ({self.probability:.3f})"


class MatchCursor(OutboxCursor):
    """How far the incremental matcher has read the profiles' change signal."""
