"""Tracking plans, their events, the sources that follow them, and the violations counted
at the door (registered with the app via integrations/models.py)."""

from django.db import models


class TrackingPlan(models.Model):
    """What one or more sources are expected to send.

    ``traits`` maps a trait name to its type (TRAIT_TYPES) for identify calls; events are
    ``PlannedEvent`` rows. ``version`` goes up with every change (events, traits, sources),
    so that the door recompiles a plan only when it changed.
    """

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True, default="")
    traits = models.JSONField(default=dict, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class PlannedEvent(models.Model):
    """One expected track event and the JSON Schema of its ``properties``."""

    plan = models.ForeignKey(TrackingPlan, on_delete=models.CASCADE, related_name="events")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    schema = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "name"], name="plannedevent_plan_name")
        ]

    def __str__(self) -> str:
        return self.name


class Mode(models.TextChoices):
    FLAG = "flag", "Accept and flag"
    DROP = "drop", "Drop what breaks it"
    BLOCK = "block", "Block the event"


class PlanSource(models.Model):
    """A source follows one plan, with what to do with what breaks it."""

    source = models.OneToOneField(
        "integrations.Source", on_delete=models.CASCADE, related_name="tracking_plan_link"
    )
    plan = models.ForeignKey(TrackingPlan, on_delete=models.CASCADE, related_name="links")
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.FLAG)

    class Meta:
        ordering = ["source__name", "id"]

    def __str__(self) -> str:
        return f"source {self.source_id} follows plan {self.plan_id} ({self.mode})"


class Violation(models.Model):
    """How often a source broke its plan, per message type, event name ("" for identify
    traits) and kind, with the last few examples: the message id, the JSON pointer of the
    property and what was wrong, never the values."""

    source_id = models.BigIntegerField()
    message_type = models.CharField(max_length=16)
    event = models.CharField(max_length=200, blank=True, default="")
    kind = models.CharField(max_length=32)
    count = models.BigIntegerField(default=0)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    examples = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["event", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["source_id", "message_type", "event", "kind"], name="violation_key"
            )
        ]

    def __str__(self) -> str:
        return f"source {self.source_id} {self.event or self.message_type}: {self.kind}"
