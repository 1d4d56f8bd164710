from django.contrib.postgres.fields import ArrayField
from django.db import models


class Stage(models.TextChoices):
    ORIENTATION = "orientation", "Orientation"
    CONSIDERATION = "consideration", "Consideration"
    ACQUISITION = "acquisition", "Acquisition"
    RETENTION = "retention", "Retention"
    LAPSED = "lapsed", "Lapsed"


# The funnel order: a profile moves forward when a later stage's rule matches.
STAGE_ORDER = [Stage.ORIENTATION, Stage.CONSIDERATION, Stage.ACQUISITION, Stage.RETENTION]


class StageRule(models.Model):
    """A profile reaches ``stage`` once it has ``min_count`` of these events on
    ``min_days`` distinct days (``min_days`` 2 is a return visit)."""

    stage = models.CharField(max_length=20, choices=Stage.choices)
    event_names = ArrayField(models.CharField(max_length=200), default=list)
    min_count = models.PositiveIntegerField(default=1)
    min_days = models.PositiveIntegerField(default=1)
    # Only for LAPSED: a retained profile with no event for this many days.
    quiet_days = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.get_stage_display()}: {', '.join(self.event_names)}"


class StageChange(models.Model):
    """One move of one profile from a stage to another: the complete journey history the
    insights reports count. ``event_id`` is the event that made the rule match (known when
    the history is replayed from the events; None for a live change, where the counts come
    from one aggregate); ``rule`` is the rule that matched (the lapse rule for a lapse);
    neither is set for a profile's first activity. A merge replays the survivor's history
    from all its events and drops the merged profile's; an unmerge replays both."""

    # No index of its own: stagechange_profile_time (profile, -changed_at) serves lookups by
    # profile, and one index less is less to write for every change processing records. No
    # foreign key constraint in the database either: PostgreSQL checks one with a trigger per
    # inserted row at commit, a lookup of the profile per change, which was most of what
    # keeping the history cost processing. Only processing writes these rows, for profiles
    # it holds locked; a profile's deletion still takes its history (Django's cascade).
    profile = models.ForeignKey(
        "Profile",
        on_delete=models.CASCADE,
        related_name="stage_changes",
        db_index=False,
        db_constraint=False,
    )
    from_stage = models.CharField(max_length=20, choices=Stage.choices, blank=True)
    to_stage = models.CharField(max_length=20, choices=Stage.choices)
    changed_at = models.DateTimeField()
    # When the profile entered from_stage (its previous change): the time spent in it is
    # changed_at - since. None for a first change (and for changes recorded before 0008).
    since = models.DateTimeField(null=True, blank=True)
    event_id = models.BigIntegerField(null=True, blank=True)
    # Neither constraint nor index, for the same reason: a rule's deletion (rare, by an
    # admin) sets its changes' rule to none through Django's SET_NULL, scanning the table.
    rule = models.ForeignKey(
        StageRule,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["profile", "-changed_at"], name="stagechange_profile_time"),
            # Counting by period and stage: "who entered acquisition in November".
            models.Index(fields=["to_stage", "changed_at"], name="stagechange_to_time"),
            models.Index(fields=["from_stage", "changed_at"], name="stagechange_from_time"),
        ]

    def __str__(self) -> str:
        return f"{self.from_stage} → {self.to_stage}"
