from django import forms

from . import services
from .models import Source

UNVERIFIED_WARNING = (
    "Turned off, anyone who reads this source's write key in your pages can send calls "
    "that link their browser to a known customer by user id, e-mail or phone. Contact "
    "fields from this source still never win over your server sources', unconfirmed "
    "e-mail addresses are still not written to, and consent grants from unsigned calls "
    "still never reach a known customer."
)


class SourceForm(forms.ModelForm):
    trust = forms.ChoiceField(
        choices=[("", "As its kind says (websites and apps: client)"), *Source.Trust.choices],
        required=False,
        help_text="Client sources' write keys ship in pages and apps: their calls link to a "
        "known customer only as far as identity verification allows.",
    )

    class Meta:
        model = Source
        # The allowed origins are the personalisation settings' (campaigns), not this form's.
        fields = [name for name in services.UPDATABLE if name != "personalize_origins"]
        labels = {
            "rate_limit": "Rate limit (messages per second)",
            "require_verification": "Require identity verification (client sources)",
            "ip_rate_limit": "Rate limit per visitor address (messages per second)",
            "revenue_property": "Order amount property",
            "currency": "Currency of orders that name none",
        }
        help_texts = {"require_verification": UNVERIFIED_WARNING}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:  # defaults follow the kind and trust (services)
            self.fields["ip_rate_limit"].required = False
            self.initial.pop("ip_rate_limit", None)
            self.fields[
                "ip_rate_limit"
            ].help_text = "Empty: 50 for client sources, none for server sources."

    def clean_trust(self):
        return self.cleaned_data["trust"] or None


class RotateKeyForm(forms.Form):
    grace_hours = forms.IntegerField(
        min_value=0,
        max_value=24 * 30,
        initial=24,
        label="Keep the old key working for (hours)",
        help_text="0 retires it at once; senders using it get 401 from then on.",
    )
