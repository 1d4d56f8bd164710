"""What the lifecycle bars are asked: the period, its buckets, and what counts as active."""

from django import forms

from insights.periods import PeriodForm


class LifecycleForm(PeriodForm):
    event = forms.CharField(
        required=False,
        max_length=200,
        label="Active means doing",
        help_text="An event's name; empty: any event.",
    )

    def question(self) -> dict:
        return {"event": self.cleaned_data.get("event") or ""}
