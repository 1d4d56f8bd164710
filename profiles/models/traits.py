import builtins

from django.db import models


class TraitKey(models.Model):
    """A trait seen in the data: its type (from the first value, or set by an admin) and
    how the current value is chosen among the values seen."""

    class Type(models.TextChoices):
        TEXT = "text", "Text"
        NUMBER = "number", "Number"
        BOOLEAN = "boolean", "Yes / no"
        OBJECT = "object", "Object"
        LIST = "list", "List"

    class Strategy(models.TextChoices):
        PRIORITY = "priority", "Source priority, then most recent"
        LATEST = "latest", "Most recent"
        EARLIEST = "earliest", "First seen"

    key = models.CharField(max_length=120, unique=True)
    type = models.CharField(max_length=10, choices=Type.choices)
    strategy = models.CharField(max_length=10, choices=Strategy.choices, default="priority")
    example = models.JSONField(null=True, blank=True)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    # Personal data: masked for whoever lacks Cap.SEE_PERSONAL_DATA (profiles/masking.py).
    # A key first seen is marked when its name looks personal (masking.PERSONAL_KEY).
    personal = models.BooleanField(default=False, db_default=False)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


class TraitValue(models.Model):
    """One value of a trait as one source stated it through one identity, with when it
    was first and last stated. ``conflict``: the value's type differs from the trait's
    and it could not be converted; it is kept and shown, but never wins."""

    id = models.BigAutoField(primary_key=True)
    profile = models.ForeignKey("Profile", on_delete=models.CASCADE, related_name="trait_values")
    identity = models.ForeignKey("Identity", null=True, blank=True, on_delete=models.CASCADE)
    source = models.ForeignKey(
        "integrations.Source", null=True, blank=True, on_delete=models.SET_NULL
    )
    key = models.CharField(max_length=120)
    value = models.JSONField()
    value_hash = models.CharField(max_length=32)
    conflict = models.BooleanField(default=False)
    # Vouched for: every value of a server source; of a client source, only an e-mail or
    # phone that a signature covered (profiles/trust.py). An unverified e-mail is not a
    # send address until confirmed.
    verified = models.BooleanField(default=True, db_default=True)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    event_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["identity", "source", "key", "value_hash"],
                name="traitvalue_unique",
                nulls_distinct=False,
            )
        ]
        indexes = [models.Index(fields=["profile", "key"], name="traitvalue_profile_key")]

    def __str__(self) -> str:
        return f"{self.key}={self.value!r}"


class ComputedTrait(models.Model):
    """A trait computed from a profile's events: ``aggregation`` of ``property`` over the
    ``event_name`` events of the last ``window_days`` days (all time when empty) that pass
    every one of ``filters`` (profiles/computed/filters.py). Three aggregations read other
    traits instead of events: a ``formula`` over them (profiles/computed/formulas.py); a
    quintile ``score`` (1 to 5) of the computed trait ``score_of`` among the profiles that
    have a value above zero, higher values scoring higher unless ``higher_is_better`` is
    off; and the ``rfm_segment`` named from the recency and frequency scores
    (profiles/computed/scores.py)."""

    class Aggregation(models.TextChoices):
        COUNT = "count", "Count"
        SUM = "sum", "Sum"
        AVG = "avg", "Average"
        MIN = "min", "Minimum"
        MAX = "max", "Maximum"
        FIRST = "first", "First value"
        LAST = "last", "Last value"
        MOST_FREQUENT = "most_frequent", "Most frequent value"
        DAYS_SINCE_LAST = "days_since_last", "Days since last"
        REVENUE = "revenue", "Order revenue (as the attribution report counts it)"
        FORMULA = "formula", "Formula over other traits"
        SCORE = "score", "Quintile score (1–5) of a computed trait"
        RFM_SEGMENT = "rfm_segment", "RFM segment (from the recency and frequency scores)"

    key = models.SlugField(max_length=80, unique=True)
    label = models.CharField(max_length=120)
    event_name = models.CharField(max_length=200, blank=True, default="")
    aggregation = models.CharField(max_length=20, choices=Aggregation.choices)
    property = models.CharField(max_length=200, blank=True, default="")
    window_days = models.PositiveIntegerField(null=True, blank=True)
    filters = models.JSONField(default=list, blank=True)
    formula = models.TextField(blank=True, default="")
    score_of = models.CharField(max_length=80, blank=True, default="")
    higher_is_better = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["label"]

    def __str__(self) -> str:
        return self.label

    @builtins.property  # "property" is a field's name in this class
    def reads_events(self) -> bool:
        return self.aggregation not in ("formula", "score", "rfm_segment")
