"""HTML forms of the retention page. They validate; profiles.retention.services writes."""

from __future__ import annotations

from django import forms

from integrations.models import Source

from ..models import RetentionPolicy, RetentionSettings
from .services import RetentionError, check_scope


class PolicyForm(forms.ModelForm):
    source = forms.ModelChoiceField(
        queryset=Source.objects.filter(archived_at=None),
        required=False,
        empty_label="Every source",
        help_text="Blank: the rule applies to every source.",
    )

    class Meta:
        model = RetentionPolicy
        fields = ["source", "event_name", "keep_months", "note"]
        labels = {"event_name": "Event name", "keep_months": "Keep (months)"}
        help_texts = {"event_name": "Blank: every event of the source.", "note": "Why, for others."}

    def clean(self):
        # The scope checked here, as the service checks it, names the field; the model's
        # constraints (then skipped for a field in error) would name none.
        data = super().clean()
        source, name = data.get("source"), (data.get("event_name") or "").strip()
        try:
            check_scope(source.pk if source else None, name, exclude=self.instance.pk)
        except RetentionError as error:
            add_errors(self, error.errors)
        return data


class SettingsForm(forms.ModelForm):
    class Meta:
        model = RetentionSettings
        fields = ["default_months", "inactive_years", "inactive_action"]
        labels = {
            "default_months": "Default (months)",
            "inactive_years": "Inactive profiles after (years)",
            "inactive_action": "Then",
        }


def add_errors(form: forms.Form, errors: list[dict]) -> None:
    """A service's refusal (RetentionError.errors) shown beside its fields."""
    for error in errors:
        field = error["field"] if error["field"] in form.fields else None
        form.add_error(field, error["message"])
