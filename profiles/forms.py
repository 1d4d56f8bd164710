from datetime import date, datetime, timedelta

from django import forms
from django.utils import timezone

from .models import ConsentPurpose, ConsentRecord, Note, TraitKey
from .selectors import KIND_LABELS

EVENT_TYPES = ("track", "page", "screen", "identify", "group", "alias")


class NoteForm(forms.Form):
    body = forms.CharField(
        label="Add a note",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=Note._meta.get_field("body").max_length,
    )


class ConsentForm(forms.Form):
    purpose = forms.ChoiceField(label="Purpose")
    status = forms.ChoiceField(label="Status", choices=ConsentRecord.Status.choices)
    note = forms.CharField(
        label="Evidence (optional)",
        required=False,
        max_length=500,
        help_text="Where the person said so, e.g. “phone call 12 May”.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["purpose"].choices = list(ConsentPurpose.objects.values_list("slug", "label"))


class RectifyForm(forms.Form):
    """A trait's value corrected by hand (profiles/rectification.py types and checks it)."""

    key = forms.ChoiceField(label="Trait")
    # Checked by the service (rectification.rectify_trait), which names every problem at once.
    value = forms.CharField(
        label="Correct value",
        required=False,
        max_length=1000,
        help_text="As the trait's type: text, a number, yes / no, or JSON for an object or list.",
    )
    reason = forms.CharField(
        label="Reason",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why it is corrected, e.g. “the customer asked by phone on 12 May”.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        keys = TraitKey.objects.order_by("key").values_list("key", flat=True)
        self.fields["key"].choices = [(k, k) for k in keys]


def _start_of(day: date) -> datetime:
    """Midnight at the start of ``day``, in the site's time zone."""
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def timeline_type_choices() -> list[tuple[str, str]]:
    choices = [("", "Everything")]
    choices += [(f"event:{t}", f"Events: {t}") for t in EVENT_TYPES]
    choices += list(KIND_LABELS.items())
    return choices


class TimelineFilterForm(forms.Form):
    """The timeline's filters: a source, a kind of item (or an event type), and dates."""

    source = forms.TypedChoiceField(label="Source", required=False, coerce=int, empty_value=None)
    type = forms.ChoiceField(label="Type", required=False)
    since = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            self.add_error("until", "The end comes before the start.")
        return data

    def __init__(self, *args, sources=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].choices = [("", "All sources"), *sources]
        self.fields["type"].choices = timeline_type_choices()

    def selection(self) -> dict:
        """Keyword arguments for selectors.timeline (empty when the filters are invalid)."""
        if not self.is_valid():
            return {}
        out: dict = {}
        if self.cleaned_data.get("source"):
            out["source_ids"] = [self.cleaned_data["source"]]
        if self.cleaned_data.get("since"):
            out["since"] = _start_of(self.cleaned_data["since"])
        if self.cleaned_data.get("until"):  # the whole of the last day
            out["until"] = _start_of(self.cleaned_data["until"] + timedelta(days=1))
        chosen = self.cleaned_data.get("type") or ""
        if chosen.startswith("event:"):
            out["kinds"], out["event_types"] = ["event"], [chosen.split(":", 1)[1]]
        elif chosen:
            out["kinds"] = [chosen]
        return out


class MergeForm(forms.Form):
    """The profile to merge into the one whose page this is (the survivor)."""

    other = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
