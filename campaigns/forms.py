"""HTML input for campaigns: the settings beside the journey editor (who enters, when,
how often, and the goal). The steps come from campaigns/journeys/editor.py."""

from zoneinfo import available_timezones

from django import forms

from cdp_site.filters import real_utc_offset
from segments.models import Segment

from .models import Campaign


def _event_name_field(label: str, help_text: str) -> forms.CharField:
    """An optional event name, suggested from the event names seen (the page's datalist)."""
    return forms.CharField(
        label=label,
        required=False,
        max_length=200,
        help_text=help_text,
        widget=forms.TextInput(attrs={"list": "event-names", "autocomplete": "off"}),
    )


class CampaignSettingsForm(forms.Form):
    name = forms.CharField(max_length=Campaign._meta.get_field("name").max_length)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    kind = forms.ChoiceField(label="Who enters", choices=Campaign.Kind.choices)
    segment = forms.ModelChoiceField(
        queryset=Segment.objects.order_by("name"),
        required=False,
        empty_label="(no segment)",
        help_text="For broadcasts and segment entries or exits.",
    )
    trigger_event = _event_name_field(
        "Trigger event", "For “when someone does something”, e.g. Checkout Started."
    )
    scheduled_at = forms.DateTimeField(
        label="Send at (broadcasts)",
        required=False,
        validators=[real_utc_offset],  # a forged +16:00 would fail in PostgreSQL
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    entry = forms.ChoiceField(label="Entry", choices=Campaign.Entry.choices)
    cooldown_days = forms.IntegerField(label="Cooldown (days)", required=False, min_value=1)
    goal_event = _event_name_field(
        "Goal event", "Reaching it ends the journey and counts as a conversion."
    )
    conversion_window_days = forms.IntegerField(
        label="Conversion window (days)", min_value=1, max_value=365, initial=7
    )

    FIELDS = (
        "name",
        "description",
        "kind",
        "segment",
        "trigger_event",
        "scheduled_at",
        "entry",
        "cooldown_days",
        "goal_event",
        "conversion_window_days",
    )

    @classmethod
    def for_campaign(cls, campaign: Campaign) -> "CampaignSettingsForm":
        initial = {name: getattr(campaign, name) for name in cls.FIELDS}
        initial["segment"] = campaign.segment_id
        return cls(initial=initial)

    def clean_name(self):
        return self.cleaned_data["name"].strip()

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind in (
            Campaign.Kind.BROADCAST,
            Campaign.Kind.SEGMENT_ENTERED,
            Campaign.Kind.SEGMENT_EXITED,
        ) and not data.get("segment"):
            self.add_error("segment", "Choose the segment.")
        if kind == Campaign.Kind.EVENT and not (data.get("trigger_event") or "").strip():
            self.add_error("trigger_event", "Name the event that starts the journey.")
        if data.get("entry") == Campaign.Entry.COOLDOWN and not data.get("cooldown_days"):
            self.add_error("cooldown_days", "Enter the cooldown in days.")
        return data

    def values(self) -> dict:
        """The cleaned settings as Campaign field values."""
        data = {name: self.cleaned_data.get(name) for name in self.FIELDS}
        data["trigger_event"] = (data["trigger_event"] or "").strip()
        data["goal_event"] = (data["goal_event"] or "").strip()
        data["description"] = data["description"] or ""
        if data["entry"] != Campaign.Entry.COOLDOWN:
            data["cooldown_days"] = None
        return data


class NewCampaignForm(CampaignSettingsForm):
    """The same settings, for a new draft (its journey starts with one e-mail)."""


class ProtectionForm(forms.Form):
    """The time zone quiet hours are read in (one for every channel)."""

    time_zone = forms.ChoiceField(
        label="Time zone",
        help_text="Quiet hours and time-of-day waits are in this zone's local time.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [(z, z) for z in sorted(available_timezones())]


class ChannelRulesForm(forms.Form):
    """One channel's frequency cap and quiet hours (prefixed with the channel)."""

    max_messages = forms.IntegerField(
        label="At most (messages per person)",
        required=False,
        min_value=0,
        help_text="Leave empty for no cap; 0 sends none.",
        widget=forms.NumberInput(attrs={"class": "j-num"}),
    )
    per_days = forms.IntegerField(
        label="In (days)",
        min_value=1,
        max_value=365,
        widget=forms.NumberInput(attrs={"class": "j-num"}),
    )
    quiet_start = forms.TimeField(
        label="Quiet from",
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}),
        help_text="e.g. 21:00; messages due then wait until the end.",
    )
    quiet_end = forms.TimeField(
        label="Quiet until",
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}),
        help_text="e.g. 08:00; both empty: no quiet hours.",
    )
