"""Campaigns and journeys: who enters (a broadcast, a segment entry or exit, an event),
the steps they go through (campaigns/journeys/grammar.py), where each person is
(Enrollment, kept in PostgreSQL with its timer), and every message or action sent
(Delivery, one per idempotency key so that a retry never sends twice)."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from cdp_site.models import OutboxCursor


class MessageTemplate(models.Model):
    """An e-mail (subject, HTML, text) or a text message (SMS: ``body_text`` only)
    personalised from the profile's traits and the triggering event
    (campaigns/templating.py renders it in a sandbox, autoescaped).

    A *transactional* message (an order confirmation) needs no marketing consent and is
    neither capped nor held by quiet hours, so only a journey an event starts may send
    it: a broadcast or a segment's campaign refuses it (campaigns/services.check)."""

    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"
        SMS = "sms", "SMS"

    name = models.CharField(max_length=120)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    transactional = models.BooleanField(default=False)
    subject = models.CharField(max_length=200, blank=True, default="")  # e-mail only
    body_html = models.TextField(blank=True, default="")  # e-mail only
    body_text = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Campaign(models.Model):
    class Kind(models.TextChoices):
        BROADCAST = "broadcast", "Broadcast to a segment"
        SEGMENT_ENTERED = "segment_entered", "When someone enters a segment"
        SEGMENT_EXITED = "segment_exited", "When someone leaves a segment"
        EVENT = "event", "When someone does something"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        FINISHED = "finished", "Finished"

    class Entry(models.TextChoices):
        ONCE = "once", "Once ever"
        EVERY = "every", "Every time"
        COOLDOWN = "cooldown", "Again after a cooldown"

    name = models.CharField(max_length=120)
    description = models.TextField(blank=True, default="")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    segment = models.ForeignKey(
        "segments.Segment", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    trigger_event = models.CharField(max_length=200, blank=True, default="")
    # Of the trigger's people, who enters (campaigns/entry_conditions.py): the event's
    # property filters (all must hold) and a segment rule checked at trigger time.
    trigger_filters = models.JSONField(default=list, blank=True)
    entry_audience = models.JSONField(default=dict, blank=True)
    entry = models.CharField(max_length=10, choices=Entry.choices, default=Entry.ONCE)
    cooldown_days = models.PositiveIntegerField(null=True, blank=True)
    scheduled_at = models.DateTimeField(null=True, blank=True)  # a broadcast's send time
    # Reaching the goal ends the journey and counts as a conversion within the window.
    goal_event = models.CharField(max_length=200, blank=True, default="")
    conversion_window_days = models.PositiveIntegerField(default=7)
    steps = models.JSONField(default=list, blank=True)
    gallery_key = models.CharField(max_length=60, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Enrollment(models.Model):
    """One person's way through one campaign. ``wake_at`` is the timer: the due-step
    runner claims enrollments whose time has come with FOR UPDATE SKIP LOCKED."""

    class State(models.TextChoices):
        ACTIVE = "active", "Active"  # due now or waiting for wake_at
        WAITING_EVENT = "waiting_event", "Waiting for an event"
        COMPLETED = "completed", "Completed"
        CONVERTED = "converted", "Reached the goal"
        EXITED = "exited", "Exited"
        FAILED = "failed", "Failed"

    id = models.BigAutoField(primary_key=True)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="enrollments")
    profile_id = models.BigIntegerField()
    state = models.CharField(max_length=15, choices=State.choices, default=State.ACTIVE)
    step_id = models.CharField(max_length=40, blank=True, default="")
    wake_at = models.DateTimeField(null=True, blank=True)
    # For wait-for-event steps: the step to take on timeout is in the step itself.
    waiting_for = models.CharField(max_length=200, blank=True, default="")
    variant = models.CharField(max_length=40, blank=True, default="")
    holdout = models.BooleanField(default=False)
    context = models.JSONField(default=dict, blank=True)  # the trigger: event and its properties
    entered_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    converted_at = models.DateTimeField(null=True, blank=True)
    exit_reason = models.CharField(max_length=200, blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        indexes = [
            models.Index(
                fields=["wake_at"],
                name="enrollment_due",
                condition=Q(state="active"),
            ),
            models.Index(fields=["profile_id", "campaign"], name="enrollment_profile"),
            models.Index(
                fields=["waiting_for", "profile_id"],
                name="enrollment_waiting",
                condition=Q(state="waiting_event"),
            ),
            models.Index(fields=["campaign", "state", "step_id"], name="enrollment_counts"),
            # The runner also claims waits for an event whose timeout came.
            models.Index(
                fields=["wake_at"],
                name="enrollment_timeout",
                condition=Q(state="waiting_event"),
            ),
            # The step-log purge finds the enrollments that ended before its cutoff.
            models.Index(
                fields=["finished_at"],
                name="enrollment_finished",
                condition=Q(finished_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.profile_id} in {self.campaign_id} at {self.step_id or '-'}"


class StepLog(models.Model):
    """Each step an enrollment passed, for the journey view's counts and the timeline."""

    # No foreign-key constraints in the database: a timer firing for 100,000 people writes
    # 200,000 rows at once, and checking each against two tables doubled that time.
    # Deleting an enrollment or a campaign still deletes its log (Django cascades).
    id = models.BigAutoField(primary_key=True)
    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.CASCADE, related_name="log", db_constraint=False
    )
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    profile_id = models.BigIntegerField()
    step_id = models.CharField(max_length=40)
    outcome = models.CharField(max_length=40)  # passed, waiting, timed_out, yes, no, variant…
    at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["campaign", "step_id", "outcome"], name="steplog_counts"),
            models.Index(fields=["profile_id", "-at"], name="steplog_profile"),
        ]

    def __str__(self) -> str:
        return f"{self.enrollment_id} {self.step_id} {self.outcome}"


class Delivery(models.Model):
    """A message or action for one person at one step. ``idempotency_key`` is unique:
    the send happens only for the row that inserted it, so a retry or a worker killed
    mid-send never sends twice."""

    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"
        WEBHOOK = "webhook", "Webhook"
        AUDIENCE = "audience", "Ad audience"
        ESP = "esp", "E-mail platform list"
        TRAIT = "trait", "Set a trait"
        SMS = "sms", "SMS"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"  # claimed; its lease ends at next_attempt_at
        # Sent: the channel took it (an SMTP server accepting a message is not its delivery
        # to a mailbox). Delivered only where the channel reports it: an SMS provider's
        # status callback, an e-mail service's delivery event or a DSN (campaigns/bounces.py).
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    id = models.BigAutoField(primary_key=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="deliveries")
    enrollment = models.ForeignKey(
        Enrollment, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    profile_id = models.BigIntegerField()
    step_id = models.CharField(max_length=40)
    variant = models.CharField(max_length=40, blank=True, default="")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    destination = models.ForeignKey(
        "integrations.Destination", null=True, blank=True, on_delete=models.SET_NULL
    )
    template = models.ForeignKey(MessageTemplate, null=True, blank=True, on_delete=models.SET_NULL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=300, blank=True, default="")  # why skipped or failed
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    counts_toward_cap = models.BooleanField(default=False)  # a marketing message
    # The provider's id of the message (an SMS's sid), for support and status callbacks.
    provider_id = models.CharField(max_length=64, blank=True, default="", db_default="")
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    converted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(fields=["campaign", "step_id", "status"], name="delivery_counts"),
            models.Index(
                fields=["profile_id", "sent_at"],
                name="delivery_cap",
                condition=Q(counts_toward_cap=True),
            ),
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_due",
                condition=Q(status__in=["pending", "sending"]),
            ),
            # A person's messages: the profile page's panel and the customer timeline.
            models.Index(fields=["profile_id", "-created_at"], name="delivery_profile"),
        ]

    def __str__(self) -> str:
        return self.idempotency_key


class ActivationSettings(models.Model):
    """The one row of settings that protect people across every campaign: the time zone
    quiet hours and time-of-day waits are read in, and (``ChannelRules``) each channel's
    frequency cap and quiet hours."""

    time_zone = models.CharField(max_length=60, default="UTC")

    def __str__(self) -> str:
        return "Activation settings"

    @classmethod
    def load(cls) -> "ActivationSettings":
        """The settings with every channel's rules, read once (a run of the engine)."""
        settings = cls.objects.get_or_create(pk=1)[0]
        settings.channels = {rule.channel: rule for rule in ChannelRules.objects.all()}
        return settings

    def for_channel(self, channel: str) -> "ChannelRules":
        """The channel's rules: saved, else its defaults (``ChannelRules.DEFAULTS``)."""
        channels = getattr(self, "channels", None)
        if channels is None:
            channels = self.channels = {r.channel: r for r in ChannelRules.objects.all()}
        return channels.get(channel) or ChannelRules.default(channel)


class ChannelRules(models.Model):
    """A channel's protection: at most ``max_messages`` messages per person in
    ``per_days`` (no cap when empty), and quiet hours (``quiet_start`` to ``quiet_end``,
    local time in ActivationSettings.time_zone) in which its messages wait."""

    class Channel(models.TextChoices):  # the channels whose messages reach a person
        EMAIL = Delivery.Channel.EMAIL.value, Delivery.Channel.EMAIL.label
        WEBHOOK = Delivery.Channel.WEBHOOK.value, "Webhook (e.g. push gateways)"
        SMS = Delivery.Channel.SMS.value, Delivery.Channel.SMS.label

    # Until set: e-mail keeps the cap it always had, SMS has the same, webhooks none.
    DEFAULTS = {
        Channel.EMAIL: {"max_messages": 3, "per_days": 7},
        Channel.SMS: {"max_messages": 3, "per_days": 7},
    }

    channel = models.CharField(max_length=10, choices=Channel.choices, unique=True)
    max_messages = models.PositiveIntegerField(null=True, blank=True)
    per_days = models.PositiveIntegerField(default=7)
    quiet_start = models.TimeField(null=True, blank=True)  # e.g. 21:00
    quiet_end = models.TimeField(null=True, blank=True)  # e.g. 08:00

    class Meta:
        ordering = ["channel"]

    def __str__(self) -> str:
        return f"{self.channel} rules"

    @classmethod
    def default(cls, channel: str) -> "ChannelRules":
        return cls(channel=channel, **cls.DEFAULTS.get(channel, {}))


class Undeliverable(models.Model):
    """An address no message goes to any more: an e-mail address that bounced for good or
    whose owner complained (marked spam). Sends to it are skipped with the reason."""

    class Kind(models.TextChoices):
        BOUNCE = "bounce", "Bounced"
        COMPLAINT = "complaint", "Complained (marked as spam)"

    channel = models.CharField(max_length=10, default=Delivery.Channel.EMAIL)
    address = models.CharField(max_length=320)  # lower-cased e-mail, or E.164
    kind = models.CharField(max_length=10, choices=Kind.choices)
    reason = models.CharField(max_length=300, blank=True, default="")
    via = models.CharField(max_length=40)  # webhook | bounce folder
    delivery = models.ForeignKey(Delivery, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "address"], name="undeliverable_once")
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.address}"


class InboundSms(models.Model):
    """A text message people sent back (a STOP keyword, or anything else): kept with what
    it did. From a number no profile holds, it is recorded and nothing else."""

    class Outcome(models.TextChoices):
        STOPPED = "stopped", "SMS consent withdrawn"
        UNKNOWN_NUMBER = "unknown_number", "No profile holds the number"
        NO_KEYWORD = "no_keyword", "Not a keyword: nothing done"

    id = models.BigAutoField(primary_key=True)
    destination = models.ForeignKey(
        "integrations.Destination", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    provider_id = models.CharField(max_length=64, blank=True, default="")
    from_number = models.CharField(max_length=40)
    body = models.CharField(max_length=320, blank=True, default="")
    profile_id = models.BigIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["profile_id"], name="inboundsms_profile")]

    def __str__(self) -> str:
        return f"{self.from_number}: {self.outcome}"


class TriggerCursor(OutboxCursor):
    """How far the trigger reader has read an outbox (segment changes, profile changes);
    also a broadcast's marker (``broadcast:<id>``) that its audience was enrolled."""


class PersonalizationSetting(models.Model):
    """What one source's personalisation API answers may hold (GET /v1/personalize): the
    visitor's membership of the chosen segments (among those flagged ``on_site``), the
    chosen traits, and the journey stage. Nothing else about a person leaves. No row: the
    source answers every visitor with the empty answer."""

    source = models.OneToOneField(
        "integrations.Source", on_delete=models.CASCADE, related_name="personalization"
    )
    segments = models.ManyToManyField("segments.Segment", blank=True, related_name="+")
    traits = models.JSONField(default=list, blank=True)  # trait (or computed trait) names
    stage = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"personalisation of source {self.source_id}"


# Audience sync's models live with their package; imported here so Django registers them.
from .audiences.models import AudienceMember, AudiencePending, AudienceSync  # noqa: E402, F401
from .recommendations.models import CategoryTop, ItemNeighbour, Recommendation  # noqa: E402, F401
