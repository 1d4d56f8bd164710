from django import forms

from .models import ConsentPurpose, ConsentRecord, Note
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


def timeline_type_choices() -> list[tuple[str, str]]:
    choices = [("", "Everything")]
    choices += [(f"event:{t}", f"Events: {t}") for t in EVENT_TYPES]
    choices += list(KIND_LABELS.items())
    return choices


class TimelineFilterForm(forms.Form):
    """The timeline's filters: a source, and a kind of item (or an event type)."""

    source = forms.TypedChoiceField(label="Source", required=False, coerce=int, empty_value=None)
    type = forms.ChoiceField(label="Type", required=False)

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
        chosen = self.cleaned_data.get("type") or ""
        if chosen.startswith("event:"):
            out["kinds"], out["event_types"] = ["event"], [chosen.split(":", 1)[1]]
        elif chosen:
            out["kinds"] = [chosen]
        return out
