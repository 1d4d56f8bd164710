from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from campaigns.models import Campaign, Delivery, Enrollment, MessageTemplate
from cdp_site.api.fields import StorableJSONField
from segments.models import Segment

# --- campaigns ------------------------------------------------------------------------

KIND_CHOICES = "; ".join(f"`{value}`: {label}" for value, label in Campaign.Kind.choices)


@extend_schema_field({"type": "string", "description": f"Who enters: {KIND_CHOICES}."})
class KindField(serializers.ChoiceField):
    """Who enters. Documented as a string listing the choices: with the enum here too,
    drf-spectacular would find two ``kind`` enums in two components each (segments') and
    warn; the answer's ``kind`` (CampaignKindEnum) carries the enum."""

    def __init__(self, **kwargs):
        super().__init__(choices=Campaign.Kind.choices, **kwargs)


class CampaignSerializer(serializers.ModelSerializer):
    created_by = serializers.EmailField(source="created_by.email", read_only=True, allow_null=True)

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "description",
            "kind",
            "status",
            "segment",
            "trigger_event",
            "trigger_filters",
            "entry_audience",
            "entry",
            "cooldown_days",
            "scheduled_at",
            "goal_event",
            "conversion_window_days",
            "steps",
            "created_by",
            "created_at",
            "updated_at",
            "started_at",
        ]
        read_only_fields = fields


class CampaignInputSerializer(serializers.Serializer):
    """A campaign's editable fields. Only shape is checked here: the journey (``steps``)
    and the entry rules are validated by the campaign services, each problem under its
    field (``steps[2].timeout_minutes``). Optional fields left out keep their value (or
    the default, on create)."""

    name = serializers.CharField(max_length=120)
    kind = KindField()
    steps = StorableJSONField(
        help_text="The journey: a list of steps (campaigns/journeys/grammar.py)."
    )
    description = serializers.CharField(required=False, allow_blank=True)
    segment = serializers.PrimaryKeyRelatedField(
        queryset=Segment.objects.all(), required=False, allow_null=True
    )
    trigger_event = serializers.CharField(max_length=200, required=False, allow_blank=True)
    trigger_filters = StorableJSONField(
        required=False,
        help_text=(
            "Event triggers: filters on the event's properties, all must hold, e.g. "
            '[{"property": "cart.total", "op": ">", "value": 50}]; op one of '
            "=, !=, >, >=, <, <=, contains, exists (campaigns/entry_conditions.py)."
        ),
    )
    entry_audience = StorableJSONField(
        required=False,
        help_text=(
            "Who of the trigger's people may enter: a segment rule (the segments' grammar), "
            "checked when the trigger happens; {} for everyone."
        ),
    )
    entry = serializers.ChoiceField(choices=Campaign.Entry.choices, required=False)
    cooldown_days = serializers.IntegerField(
        min_value=1, max_value=100_000, required=False, allow_null=True
    )
    scheduled_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="A broadcast's send time."
    )
    goal_event = serializers.CharField(max_length=200, required=False, allow_blank=True)
    conversion_window_days = serializers.IntegerField(
        min_value=0, max_value=100_000, required=False
    )


# --- people and messages of a campaign ------------------------------------------------


class EnrollmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Enrollment
        fields = [
            "id",
            "profile_id",
            "state",
            "step_id",
            "wake_at",
            "waiting_for",
            "variant",
            "holdout",
            "context",
            "entered_at",
            "finished_at",
            "converted_at",
            "exit_reason",
            "attempts",
            "last_error",
        ]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    enrollment = serializers.IntegerField(source="enrollment_id", read_only=True, allow_null=True)
    destination = serializers.IntegerField(source="destination_id", read_only=True, allow_null=True)
    template = serializers.IntegerField(source="template_id", read_only=True, allow_null=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "enrollment",
            "profile_id",
            "step_id",
            "variant",
            "channel",
            "destination",
            "template",
            "status",
            "reason",
            "attempts",
            "next_attempt_at",
            "created_at",
            "sent_at",
            "delivered_at",
            "provider_id",
            "opened_at",
            "clicked_at",
            "converted_at",
        ]
        read_only_fields = fields


# --- results --------------------------------------------------------------------------


class StepResultSerializer(serializers.Serializer):
    id = serializers.CharField()
    type = serializers.CharField()
    label = serializers.CharField()
    reached = serializers.IntegerField()
    passed = serializers.IntegerField()
    waiting = serializers.IntegerField()
    exited = serializers.IntegerField()
    outcomes = serializers.DictField(child=serializers.IntegerField())


class DeliveryCountsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    pending = serializers.IntegerField(help_text="Pending or being sent.")
    sent = serializers.IntegerField()
    failed = serializers.IntegerField()
    skipped = serializers.IntegerField()
    opened = serializers.IntegerField()
    clicked = serializers.IntegerField()
    converted = serializers.IntegerField()


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField()
    count = serializers.IntegerField()


class VariantResultSerializer(DeliveryCountsSerializer):
    variant = serializers.CharField(help_text='"" without a split; "holdout" for the holdout.')
    label = serializers.CharField()
    holdout = serializers.BooleanField()
    entered = serializers.IntegerField()
    converted_people = serializers.IntegerField()
    conversion_rate = serializers.FloatField(allow_null=True)
    open_rate = serializers.FloatField(allow_null=True)
    click_rate = serializers.FloatField(allow_null=True)


class LiftSerializer(serializers.Serializer):
    """Treated against holdout: the absolute difference of conversion rates with its 95%
    confidence interval (``ci_low`` .. ``ci_high``; null while there is not enough data)."""

    treated_n = serializers.IntegerField()
    treated_conversions = serializers.IntegerField()
    holdout_n = serializers.IntegerField()
    holdout_conversions = serializers.IntegerField()
    treated_rate = serializers.FloatField(allow_null=True)
    holdout_rate = serializers.FloatField(allow_null=True)
    difference = serializers.FloatField(allow_null=True)
    ci_low = serializers.FloatField(allow_null=True)
    ci_high = serializers.FloatField(allow_null=True)
    relative = serializers.FloatField(allow_null=True)
    enough = serializers.BooleanField()
    significant = serializers.BooleanField()
    note = serializers.CharField()


class DayConversionsSerializer(serializers.Serializer):
    day = serializers.DateField()
    treated = serializers.IntegerField()
    holdout = serializers.IntegerField()


class CurrencyRevenueSerializer(serializers.Serializer):
    currency = serializers.CharField(help_text="ISO 4217 code; XXX: the order named none valid")
    orders = serializers.IntegerField()
    buyers = serializers.IntegerField()
    revenue = serializers.FloatField(help_text="revenue, else total, of these orders")


class EmailRevenueSerializer(serializers.Serializer):
    event = serializers.CharField(help_text="the order event counted")
    orders = serializers.IntegerField(
        help_text="orders within the conversion window after a click on one of its e-mails"
    )
    buyers = serializers.IntegerField()
    per_currency = CurrencyRevenueSerializer(many=True)
    too_slow = serializers.BooleanField(help_text="the count ran past its time limit")


class ResultsSerializer(serializers.Serializer):
    campaign_id = serializers.IntegerField()
    goal_event = serializers.CharField(allow_blank=True)
    window_days = serializers.IntegerField()
    entered = serializers.IntegerField()
    states = serializers.DictField(child=serializers.IntegerField())
    converted_people = serializers.IntegerField()
    steps = StepResultSerializer(many=True)
    deliveries = DeliveryCountsSerializer()
    skip_reasons = ReasonSerializer(many=True)
    failure_reasons = ReasonSerializer(many=True)
    variants = VariantResultSerializer(many=True)
    lift = LiftSerializer()
    over_time = DayConversionsSerializer(many=True)
    email_revenue = EmailRevenueSerializer()


class StepNowSerializer(serializers.Serializer):
    outcomes = serializers.DictField(child=serializers.IntegerField())
    now = serializers.IntegerField(help_text="People at this step now.")
    deliveries = serializers.DictField(
        child=serializers.IntegerField(), help_text="Deliveries by status."
    )


class CountsSerializer(serializers.Serializer):
    steps = serializers.DictField(child=StepNowSerializer(), help_text="By step id.")
    states = serializers.DictField(child=serializers.IntegerField())
    enrolled = serializers.IntegerField()
    converted = serializers.IntegerField()


# --- message templates ----------------------------------------------------------------


class TemplateSerializer(serializers.ModelSerializer):
    class Meta:
        model = MessageTemplate
        fields = [
            "id",
            "name",
            "channel",
            "transactional",
            "subject",
            "body_html",
            "body_text",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class TemplateInputSerializer(serializers.Serializer):
    """Subject and bodies are templates (``{{ traits.firstName }}``, ``{{ event.x }}``);
    a part that doesn't compile answers 400 at its field with the line. An e-mail needs
    subject and body_html; an SMS (``channel`` "sms") only body_text, its message.
    ``transactional``: sent without marketing consent, by event journeys only."""

    name = serializers.CharField(max_length=120)
    channel = serializers.ChoiceField(
        choices=MessageTemplate.Channel.choices, default=MessageTemplate.Channel.EMAIL
    )
    transactional = serializers.BooleanField(default=False)
    subject = serializers.CharField(max_length=200, required=False, allow_blank=True)
    body_html = serializers.CharField(required=False, allow_blank=True)
    body_text = serializers.CharField(required=False, allow_blank=True, default="")

    def to_internal_value(self, data):
        # An e-mail's missing parts are reported with the other fields' errors.
        missing = {}
        email = isinstance(data, dict) and data.get("channel", "email") != "sms"
        if email and not self.partial:
            missing = {
                name: ["This field is required."]
                for name in ("subject", "body_html")
                if not data.get(name)
            }
        try:
            attrs = super().to_internal_value(data)
        except serializers.ValidationError as error:
            raise serializers.ValidationError({**missing, **error.detail}) from error
        if missing:
            raise serializers.ValidationError(missing)
        return attrs


# --- protection: each channel's frequency cap and quiet hours -----------------------------


class ChannelRulesSerializer(serializers.Serializer):
    max_messages = serializers.IntegerField(
        min_value=0, allow_null=True, help_text="Messages per person in per_days; null: no cap."
    )
    per_days = serializers.IntegerField(min_value=1, max_value=365)
    quiet_start = serializers.TimeField(
        allow_null=True, format="%H:%M", help_text="Local time, e.g. 21:00; null: none."
    )
    quiet_end = serializers.TimeField(
        allow_null=True, format="%H:%M", help_text="Local time, e.g. 08:00; null: none."
    )


class ProtectionSerializer(serializers.Serializer):
    time_zone = serializers.CharField(max_length=60, help_text="e.g. Europe/Paris.")
    channels = serializers.DictField(
        child=ChannelRulesSerializer(),
        help_text="Per channel (email, webhook, sms); a channel left out keeps its rules.",
    )
