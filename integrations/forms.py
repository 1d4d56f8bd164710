from django import forms

from .models import Source


class SourceForm(forms.ModelForm):
    class Meta:
        model = Source
        fields = ["name", "kind", "party", "enabled", "priority", "rate_limit"]
        labels = {"rate_limit": "Rate limit (messages per second)"}


class RotateKeyForm(forms.Form):
    grace_hours = forms.IntegerField(
        min_value=0,
        max_value=24 * 30,
        initial=24,
        label="Keep the old key working for (hours)",
        help_text="0 retires it at once; senders using it get 401 from then on.",
    )
