"""What a paths report is asked: the event, which way, how many steps, within what window
(hours, or the same session)."""

from django import forms

from insights.periods import PeriodForm


class PathsForm(PeriodForm):
    event = forms.CharField(max_length=200, label="Event")
    direction = forms.ChoiceField(
        choices=[("next", "after it"), ("previous", "before it")], required=False, label="Steps"
    )
    steps = forms.IntegerField(min_value=1, max_value=5, required=False, label="How many")
    window = forms.ChoiceField(
        choices=[("hours", "within hours"), ("session", "in the same session")],
        required=False,
        label="Window",
    )
    hours = forms.IntegerField(min_value=1, max_value=168, required=False, label="Within hours")
    top = forms.IntegerField(min_value=2, max_value=15, required=False, label="Events per step")

    def clean(self):
        data = super().clean()
        data["direction"] = data.get("direction") or "next"
        data["steps"] = data.get("steps") or 3
        data["hours"] = data.get("hours") or 24
        data["window"] = data.get("window") or "hours"
        data["top"] = data.get("top") or 8
        return data

    def question(self) -> dict:
        data = self.cleaned_data
        keys = ("event", "direction", "steps", "hours", "top")
        return {key: data[key] for key in keys} | {"session": data["window"] == "session"}
