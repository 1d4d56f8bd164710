"""What the attribution report is asked: the period, the order event, the lookback window
before each order, and what a channel is (its source, medium or campaign); and, for the
people behind a number, which channel and which model credited it."""

from django import forms

from insights.periods import PeriodForm
from profiles.attribution import ORDER_EVENT

from .selectors import people_question

GROUPS = {"source": "source", "medium": "medium", "campaign": "campaign"}
MODELS = {"first": "first touch", "last": "last touch", "linear": "linear"}
DEFAULT_LOOKBACK = 30
MAX_LOOKBACK = 90


class AttributionForm(PeriodForm):
    event = forms.CharField(max_length=200, required=False, label="Order event")
    lookback = forms.IntegerField(
        min_value=1, max_value=MAX_LOOKBACK, required=False, label="Lookback days"
    )
    by = forms.ChoiceField(choices=list(GROUPS.items()), required=False, label="Channel by")

    def clean(self):
        data = super().clean()
        data["event"] = (data.get("event") or "").strip() or ORDER_EVENT
        data["lookback"] = data.get("lookback") or DEFAULT_LOOKBACK
        data["by"] = data.get("by") or "source"
        return data

    def question(self) -> dict:
        data = self.cleaned_data
        return {key: data[key] for key in ("event", "lookback", "by")}


class AttributionPeopleForm(AttributionForm):
    """One number of the report: the channel (a value of ``by``) and the model."""

    channel = forms.CharField(max_length=300, label="Channel")
    model = forms.ChoiceField(choices=list(MODELS.items()), label="Model")

    def who(self) -> dict:
        data = self.cleaned_data
        return {"channel": data["channel"], "model": data["model"]}

    def people_question(self):
        """The people behind the number, for the shared people lists (insights.people)."""
        return people_question(self.period(), title=describe(self), **self.question(), **self.who())


def describe(form) -> str:
    data = form.cleaned_data
    dates = f"{data['start']:%Y-%m-%d} – {data['end']:%Y-%m-%d}"
    return (
        f"{data['event']} credited to {GROUPS[data['by']]} {data['channel']} "
        f"({MODELS[data['model']]}), {dates}"
    )
