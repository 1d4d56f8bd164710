"""The message pages' forms: a template (its syntax checked as it is saved), and the
preview and test send (as a chosen profile, or with example data)."""

import json

from django import forms
from django.core.exceptions import ValidationError

from integrations.destinations.models import Destination
from profiles import selectors as profile_selectors
from profiles.models import Identity, Profile

from .. import templating
from ..models import MessageTemplate

MAX_CONTEXT = 20_000


class TemplateForm(forms.ModelForm):
    class Meta:
        model = MessageTemplate
        fields = ["name", "channel", "transactional", "subject", "body_html", "body_text"]
        labels = {
            "body_html": "HTML body",
            "body_text": "Plain-text body (optional)",
            "transactional": "Transactional (e.g. an order confirmation)",
        }
        help_texts = {
            "channel": "An SMS is its text only: the e-mail fields are not used.",
            "transactional": "Sent without marketing consent, frequency cap or quiet hours, "
            "and without an unsubscribe link; only a journey an event starts can send it, "
            "never a broadcast or a segment's campaign.",
            "subject": "e.g. “{{ traits.firstName|default:'Hi' }}, your cart is waiting”",
            "body_html": "Use {{ profile.email }}, {{ traits.firstName }}, "
            "{{ computed.<name> }} and the trigger as {{ event.<property> }}, e.g. "
            "{% for item in event.products %}{{ item.name }}{% endfor %}. Values are "
            "escaped. An unsubscribe link is added unless you place {{ unsubscribe_url }}.",
            "body_text": "E-mail: left empty, it is made from the HTML. SMS: the message, "
            "with the same variables; its length in segments is shown as you type.",
        }
        widgets = {
            "body_html": forms.Textarea(attrs={"rows": 14, "spellcheck": "false"}),
            "body_text": forms.Textarea(attrs={"rows": 6}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].required = False  # an e-mail unless chosen

    def clean_channel(self):
        return self.cleaned_data.get("channel") or MessageTemplate.Channel.EMAIL

    def clean(self):
        data = super().clean()
        if not self.errors:
            try:
                if data.get("channel") == MessageTemplate.Channel.SMS:
                    templating.validate_sms(body_text=data.get("body_text", ""))
                else:
                    templating.validate_email(
                        subject=data.get("subject", ""),
                        body_html=data.get("body_html", ""),
                        body_text=data.get("body_text", ""),
                    )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        self.add_error(field, error)
        return data


class PreviewForm(forms.Form):
    profile = forms.CharField(
        label="Preview as (profile id or e-mail)", required=False, max_length=320
    )
    context = forms.CharField(
        label="Example trigger (JSON)",
        required=False,
        max_length=MAX_CONTEXT,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        help_text="The triggering event and its properties, as {{ event.… }} sees them.",
    )

    def clean_context(self):
        raw = self.cleaned_data["context"].strip()
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise ValidationError(f"Not valid JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise ValidationError('Give a JSON object, e.g. {"properties": {…}}.')
        return value

    def clean_profile(self):
        query = self.cleaned_data["profile"].strip()
        if not query:
            return None
        profile = find_profile(query)
        if profile is None:
            raise ValidationError(f"No profile with the id or e-mail {query!r}.")
        return profile


class TestSendForm(PreviewForm):
    destination = forms.ModelChoiceField(label="Send through", queryset=None, empty_label=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)

        self.fields["destination"].queryset = Destination.objects.filter(
            kind=Destination.Kind.SMTP, enabled=True
        )


def find_profile(query: str):
    """A profile by its id or by an e-mail address (identity or trait); the survivor
    when it was merged."""
    profile = None
    if query.isdigit():
        profile = Profile.objects.filter(pk=int(query)).first()
    elif "@" in query:
        identity = (
            Identity.objects.filter(kind__name="email", value__iexact=query)
            .select_related("profile")
            .first()
        )
        profile = identity.profile if identity else None
        if profile is None:
            profile = Profile.objects.filter(
                merged_into__isnull=True, traits__email__iexact=query
            ).first()
    if profile is not None and profile.merged_into_id:
        profile = profile_selectors.surviving_profile(profile_id=profile.pk)
    return profile
