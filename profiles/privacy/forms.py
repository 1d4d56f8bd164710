from django import forms

from ..models import PrivacyRequest
from . import selectors

MAX_VALUE = PrivacyRequest._meta.get_field("identifier_value").max_length


class RequestForm(forms.Form):
    kind = forms.ChoiceField(label="The person asks for", choices=PrivacyRequest.Kind.choices)
    identifier_kind = forms.ChoiceField(label="Known by")
    identifier_value = forms.CharField(
        label="Identifier",
        max_length=MAX_VALUE,
        help_text="As the person gave it: e-mail addresses and phone numbers are normalised "
        "as identity resolution does.",
    )
    verification = forms.ChoiceField(
        label="Identity verified by", choices=PrivacyRequest.Verification.choices
    )
    verification_note = forms.CharField(
        label="Verification note",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="How and when, e.g. “replied from the address on file, 3 May”. "
        "No document numbers or copies.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["identifier_kind"].choices = selectors.identifier_kinds()


class ConfirmForm(forms.Form):
    """Erasure and restriction are confirmed by ticking a box (the page explains)."""

    confirm = forms.BooleanField(label="I confirm", required=True)


class HandledForm(forms.Form):
    """A destination's job marked handled by hand: what was done, kept as the proof."""

    note = forms.CharField(
        label="What was done",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="E.g. “deleted in the platform's admin, ticket 42”. No personal data.",
    )
