"""A funnel as asked in a URL (so that it is shareable unsaved): ``event_1`` … ``event_10``
with an optional ``property_k`` = ``value_k`` each, the window in days and the order."""

import re

from django import forms

from insights.periods import PeriodForm

from .selectors import MAX_STEPS, MIN_STEPS, Step

PROPERTY_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")


class FunnelForm(PeriodForm):
    window = forms.IntegerField(min_value=1, max_value=90, required=False, label="Within days")
    order = forms.ChoiceField(
        choices=[("ordered", "in this order"), ("any", "in any order")],
        required=False,
        label="Steps",
    )

    def __init__(self, data=None, *args, **kwargs):
        super().__init__(data, *args, **kwargs)
        for k in range(1, MAX_STEPS + 1):
            self.fields[f"event_{k}"] = forms.CharField(required=False, max_length=200)
            self.fields[f"property_{k}"] = forms.CharField(required=False, max_length=100)
            self.fields[f"value_{k}"] = forms.CharField(required=False, max_length=200)

    def clean(self):
        data = super().clean()
        data["window"] = data.get("window") or 7
        data["order"] = data.get("order") or "ordered"
        for k in range(1, MAX_STEPS + 1):
            name = data.get(f"property_{k}")
            if name and not PROPERTY_NAME.match(name):
                self.add_error(f"property_{k}", "A property name: letters, digits, _ . or -.")
            if name and not data.get(f"event_{k}"):
                self.add_error(f"event_{k}", "Name the step's event.")
        if not MIN_STEPS <= len(self.steps(data)) <= MAX_STEPS:
            self.add_error("event_1", f"A funnel has {MIN_STEPS} to {MAX_STEPS} steps.")
        return data

    @staticmethod
    def steps(data) -> list[Step]:
        """The steps given, in order (empty rows skipped)."""
        found = []
        for k in range(1, MAX_STEPS + 1):
            event = (data.get(f"event_{k}") or "").strip()
            if event:
                prop = data.get(f"property_{k}") or ""
                found.append(Step(event, prop, data.get(f"value_{k}") or "" if prop else ""))
        return found

    def question(self) -> dict:
        data = self.cleaned_data
        return {
            "steps": self.steps(data),
            "window_days": data["window"],
            "ordered": data["order"] == "ordered",
        }


def query_of(*, steps: list[Step], window_days: int, ordered: bool) -> dict:
    """A funnel's URL parameters (a saved funnel opens as its shareable URL)."""
    query = {"window": window_days, "order": "ordered" if ordered else "any"}
    for k, step in enumerate(steps, start=1):
        query[f"event_{k}"] = step.event
        if step.property:
            query |= {f"property_{k}": step.property, f"value_{k}": step.value}
    return query
