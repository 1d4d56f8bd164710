from django.conf import settings
from django.db import models


class StageFlow(models.Model):
    """Moves between journey stages per UTC hour: the rollup the journey view reads
    instead of every profile's history.

    PostgreSQL keeps it (the trigger in migration 0001): each statement that inserts or
    deletes profiles' StageChange rows appends one row per (hour, from, to, spell) with
    the number of moves, negative for deletions (an unmerge's replay, an erased profile's
    cascade). Appending instead of updating a row per hour keeps concurrent processing
    batches from queueing on the same row lock; ``compact_stage_flows`` sums old rows
    into one per group every few minutes. A sum over any range of hours is therefore
    always exactly what a count of the history gives (``manage.py verify_insights``).
    """

    id = models.BigAutoField(primary_key=True)
    hour = models.DateTimeField()
    from_stage = models.CharField(max_length=20, blank=True)
    to_stage = models.CharField(max_length=20)
    moves = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["hour"], name="stageflow_hour")]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}h {self.from_stage} → {self.to_stage}: {self.moves}"


class StageSpell(models.Model):
    """How long people stayed in a stage before leaving it, per UTC day: a histogram kept
    by the same trigger as StageFlow (and compacted with it). ``spell`` is floor(log base
    1.05 of the seconds spent in from_stage), so percentiles are right to within 5 %; a
    day (not an hour) keeps the histogram small: a stage's spells spread over hundreds
    of buckets."""

    id = models.BigAutoField(primary_key=True)
    day = models.DateField()
    from_stage = models.CharField(max_length=20)
    spell = models.SmallIntegerField()
    moves = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["day"], name="stagespell_day")]

    def __str__(self) -> str:
        return f"{self.day} left {self.from_stage} after spell {self.spell}: {self.moves}"


class Funnel(models.Model):
    """A saved funnel: its steps as the segment grammar's event steps (``[{"name":
    "Product Viewed", "where": [{"property": "category", "op": "equals", "value":
    "Tents"}]}, ...]``, the filters optional; the first version's ``{"event", "property",
    "value"}`` still reads), the conversion window and whether
    the steps must happen in order. A funnel is also shareable unsaved, by its URL."""

    name = models.CharField(max_length=120)
    steps = models.JSONField()
    window_days = models.PositiveSmallIntegerField(default=7)
    ordered = models.BooleanField(default=True)
    # How the funnel opens broken down: {"by": "property" | "trait" | "source", "key": name}
    # (key empty for source), or null for no breakdown.
    breakdown = models.JSONField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name
