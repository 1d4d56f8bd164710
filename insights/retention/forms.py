"""What a retention grid is asked: the cohorts' period, who is in a cohort, and the
returning event."""

from django import forms

from insights.periods import PeriodForm

MAX_COHORTS = 26  # a grid past half a year of weeks no longer reads


class RetentionForm(PeriodForm):
    cohort_by = forms.ChoiceField(
        choices=[("first_seen", "first seen"), ("first_event", "first time they did")],
        required=False,
        label="Cohort by",
    )
    cohort_event = forms.CharField(required=False, max_length=200, label="Cohort event")
    returning_event = forms.CharField(max_length=200, label="Returning event")

    def clean(self):
        data = super().clean()
        data["cohort_by"] = data.get("cohort_by") or "first_seen"
        if data["cohort_by"] == "first_event" and not data.get("cohort_event"):
            self.add_error("cohort_event", "Name the event that starts a cohort.")
        if not self.errors and len(self.period().buckets()) > MAX_COHORTS:
            self.add_error("granularity", f"At most {MAX_COHORTS} cohorts: choose a coarser one.")
        return data

    def question(self) -> dict:
        data = self.cleaned_data
        return {
            "cohort_by": data["cohort_by"],
            "cohort_event": data.get("cohort_event") or "",
            "returning_event": data["returning_event"],
        }
