"""What a retention grid is asked: the cohorts' period, who is in a cohort, and the
returning event."""

from django import forms

from insights.periods import PeriodForm

MAX_COHORTS = 26  # a grid past half a year of weeks no longer reads
ORDER_EVENT = "Order Completed"  # the order event of the tracking plan (Segment's spec)


class RetentionForm(PeriodForm):
    cohort_by = forms.ChoiceField(
        choices=[("first_seen", "first seen"), ("first_order", "first order")],
        required=False,
        label="Cohort by",
    )
    cohort_event = forms.CharField(
        required=False,
        max_length=200,
        label="Order event",
        help_text=f"With first order: the event that is an order ({ORDER_EVENT} if empty).",
    )
    returning_event = forms.CharField(max_length=200, label="Returning event")

    def clean(self):
        data = super().clean()
        data["cohort_by"] = data.get("cohort_by") or "first_seen"
        if data["cohort_by"] == "first_order" and not data.get("cohort_event"):
            data["cohort_event"] = ORDER_EVENT
        if not self.errors and len(self.period().buckets()) > MAX_COHORTS:
            self.add_error("granularity", f"At most {MAX_COHORTS} cohorts: choose a coarser one.")
        return data

    def question(self) -> dict:
        data = self.cleaned_data
        return {
            "cohort_by": data["cohort_by"],
            "cohort_event": data["cohort_event"] if data["cohort_by"] == "first_order" else "",
            "returning_event": data["returning_event"],
        }
