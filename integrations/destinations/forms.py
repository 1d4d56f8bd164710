"""One form for every destination kind, built from the kind's fields (kinds.py).

Secrets are password inputs that never show the stored value; left blank they keep it.
"""

from django import forms

from . import services, validation
from .kinds import KINDS, Field, consent_purposes
from .models import Destination

CONFIG = "config__"
SECRET = "secret__"  # noqa: S105 (a form field prefix)


def _form_field(field: Field, *, secret: bool = False, hint: str = "") -> forms.Field:
    if secret:
        help_text = " ".join(
            filter(None, [field.help, f"Stored: {hint}. Leave blank to keep it." if hint else ""])
        )
        return forms.CharField(
            label=field.label,
            required=field.required and not hint,
            widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
            help_text=help_text,
            max_length=2000,
        )
    # A setting with a default may be left blank: the default is stored.
    required = field.required and field.default is None
    options = {"label": field.label, "required": required, "help_text": field.help}
    if field.type == "int":
        return forms.IntegerField(min_value=0, initial=field.default, **options)
    if field.type == "bool":
        return forms.BooleanField(initial=field.default, **{**options, "required": False})
    if field.type == "url":
        return forms.URLField(max_length=500, assume_scheme="https", **options)
    if field.type == "purpose" and (purposes := consent_purposes()) is not None:
        return forms.ChoiceField(choices=purposes, initial=field.default, **options)
    if field.type == "list":
        return forms.CharField(max_length=2000, **options)
    return forms.CharField(max_length=500, initial=field.default, **options)


class DestinationForm(forms.Form):
    name = forms.CharField(max_length=120)
    enabled = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args, kind: str, destination: Destination | None = None, **kwargs):
        if destination is not None and "initial" not in kwargs:
            initial = {"name": destination.name, "enabled": destination.enabled}
            initial.update(
                {
                    CONFIG + k: ", ".join(v) if isinstance(v, list) else v
                    for k, v in (destination.config or {}).items()
                }
            )
            kwargs["initial"] = initial
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.destination = destination
        hints = services.secret_hints(destination=destination) if destination else {}
        spec = KINDS[kind]
        for field in spec.config:
            self.fields[CONFIG + field.name] = _form_field(field)
        for field in spec.secrets:
            self.fields[SECRET + field.name] = _form_field(
                field, secret=True, hint=hints.get(field.name, "")
            )

    def clean(self):
        cleaned = super().clean()
        config = {k[len(CONFIG) :]: v for k, v in cleaned.items() if k.startswith(CONFIG)}
        for name, message in validation.config_problems(self.kind, config).items():
            if CONFIG + name in self.fields:
                self.add_error(CONFIG + name, message)
        if self.destination is not None and not self.errors:
            secrets = {k[len(SECRET) :]: v for k, v in cleaned.items() if k.startswith(SECRET)}
            for name, message in validation.secret_problems(
                self.destination, config=config, secrets=secrets
            ).items():
                self.add_error(SECRET + name, message)
        return cleaned

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "enabled": data["enabled"],
            "config": {k[len(CONFIG) :]: v for k, v in data.items() if k.startswith(CONFIG)},
            "secrets": {k[len(SECRET) :]: v for k, v in data.items() if k.startswith(SECRET)},
        }


class KindChoiceForm(forms.Form):
    kind = forms.ChoiceField(choices=Destination.Kind.choices)
