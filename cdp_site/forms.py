from django import forms
from django.contrib.auth import get_user_model

from .permissions import ROLE_DESCRIPTIONS, ROLES
from .services import time_zone_error

ROLE_CHOICES = [(role, f"{role}: {ROLE_DESCRIPTIONS[role]}") for role in ROLES]


TOKEN_LIFETIMES = [
    ("", "Never"),
    ("7", "In 7 days"),
    ("30", "In 30 days"),
    ("90", "In 90 days"),
    ("365", "In a year"),
]


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, label="Token name", help_text="What will use it, e.g. “CRM sync”."
    )
    expires_in_days = forms.TypedChoiceField(
        label="Expires",
        choices=TOKEN_LIFETIMES,
        coerce=int,
        empty_value=None,
        required=False,
    )


class NewUserForm(forms.Form):
    email = forms.EmailField(label="E-mail")
    role = forms.ChoiceField(choices=ROLE_CHOICES)

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("A user with this e-mail already exists.")
        return email


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=[(r, r) for r in ROLES])


class TimeZoneForm(forms.Form):
    time_zone = forms.CharField(
        max_length=200,
        label="Time zone",
        help_text="Where the reports' days, weeks and months begin, e.g. Europe/Amsterdam.",
    )

    def clean_time_zone(self):
        name = self.cleaned_data["time_zone"].strip()
        error = time_zone_error(name)
        if error:
            raise forms.ValidationError(error)
        return name
