"""One form for every connector kind, built from the kind's declaration (base.Kind): its
config and secrets fields, its streams with their default mapping. A new kind gets its
page without a change here.

Field names follow the services' error keys with "__" for ".": ``config__path``,
``secrets__token``, ``streams__records__rules``; so ``ConnectionInvalid.errors`` land on
their fields. Secrets are password inputs that never show a stored value ("set" / "not
set"); left blank they keep it.
"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.db import transaction

from integrations.models import Source
from integrations.services import SourceArchived, update_source
from integrations.webhooks.mapping import rules_text

from . import services
from .base import MESSAGE_KINDS, STREAM_OVERRIDES, Field, Kind
from .models import Connection
from .selectors import secret_status

SCHEDULES = (
    ("minutes", "Every N minutes"),
    ("hourly", "Hourly"),
    ("daily", "Daily"),
    ("manual", "Manual only"),
)
SCHEDULE_MINUTES = {"hourly": 60, "daily": 24 * 60, "manual": 0}


def schedule_choice(minutes: int) -> tuple[str, int | None]:
    for name, value in SCHEDULE_MINUTES.items():
        if minutes == value:
            return name, None
    return "minutes", minutes


def _config_field(field: Field) -> forms.Field:
    # A setting with a default may be left blank: the kind's default applies.
    options = {
        "label": field.label,
        "required": field.required and field.default is None,
        "help_text": field.help,
        "initial": field.default,
    }
    if field.type == "int":
        return forms.IntegerField(**options)
    if field.type == "bool":
        return forms.BooleanField(**{**options, "required": False})
    if field.type == "choice":
        return forms.ChoiceField(choices=field.choices, **options)
    if field.type == "textarea":
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), **options)
    return forms.CharField(max_length=2000, **options)


def _secret_field(field: Field, status: str) -> forms.Field:
    return forms.CharField(
        label=field.label,
        required=field.required and status != "set",
        max_length=4000,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=" ".join(filter(None, [field.help, f"Stored: {status}." if status else ""])),
    )


class ConnectionForm(forms.Form):
    name = forms.CharField(max_length=120)
    base_url = forms.URLField(
        label="Base URL",
        max_length=500,
        assume_scheme="https",
        help_text="Where the service answers; changing it forgets the stored secrets.",
    )
    schedule = forms.ChoiceField(choices=SCHEDULES, initial="hourly")
    every_minutes = forms.IntegerField(
        label="N (minutes)",
        required=False,
        min_value=services.MIN_SCHEDULE_MINUTES,
        help_text=f"For “every N minutes”; at least {services.MIN_SCHEDULE_MINUTES}.",
    )
    request_budget = forms.IntegerField(
        label="Requests a minute",
        min_value=0,
        initial=0,
        help_text="0: the service's own limit.",
    )

    def __init__(self, *args, kind: Kind, connection: Connection | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind, self.connection = kind, connection
        if connection is None:
            self._add_creation_fields()
        status = secret_status(connection=connection) if connection else {}
        for field in kind.config:
            self.fields[f"config__{field.name}"] = _config_field(field)
        for field in kind.secrets:
            self.fields[f"secrets__{field.name}"] = _secret_field(field, status.get(field.name, ""))
        for stream in kind.streams:
            self._add_stream_fields(stream)
        self.initial = self._initial() | dict(self.initial)

    # --- the form's three parts, for the template ---------------------------------------

    def _part(self, *prefixes: str, inverse: bool = False) -> list:
        return [self[n] for n in self.fields if n.startswith(prefixes) != inverse]

    def general_fields(self) -> list:
        return self._part("config__", "secrets__", "streams__", inverse=True)

    def kind_fields(self) -> list:
        return self._part("config__", "secrets__")

    def stream_fields(self) -> list:
        return self._part("streams__")

    def _add_creation_fields(self) -> None:
        self.fields["party"] = forms.ChoiceField(
            choices=Source.Party.choices, initial=Source.Party.FIRST
        )
        self.fields["priority"] = forms.IntegerField(
            initial=100, min_value=0, help_text="Which source's values win a conflict."
        )
        self.fields["history_days"] = forms.IntegerField(
            label="History window (days)",
            initial=0,
            min_value=0,
            max_value=3650,
            help_text="Records changed within this many days before the connection is "
            "created still start journeys and campaigns; older ones are history only.",
        )

    def _add_stream_fields(self, stream) -> None:
        prefix = f"streams__{stream.name}__"
        self.fields[prefix + "enabled"] = forms.BooleanField(
            label=f"Read {stream.label}", required=False, initial=True, help_text=stream.help
        )
        self.fields[prefix + "rules"] = forms.CharField(
            label=f"{stream.label}: mapping",
            required=False,
            widget=forms.Textarea(attrs={"rows": 6}),
            help_text='One "target = $.json.path" a line (the webhook grammar).',
        )
        self.fields[prefix + "primary_key"] = forms.CharField(
            label=f"{stream.label}: primary key",
            required=False,
            help_text=f"Default: {stream.primary_key}",
        )
        self.fields[prefix + "updated_at"] = forms.CharField(
            label=f"{stream.label}: updated-at",
            required=False,
            help_text=f"Default: {stream.updated_at or 'none (every read is a full read)'}",
        )
        self.fields[prefix + "message_kind"] = forms.ChoiceField(
            label=f"{stream.label}: becomes",
            required=False,
            choices=[("", f"default ({stream.message_kind})")] + [(k, k) for k in MESSAGE_KINDS],
        )

    def _initial(self) -> dict:
        connection, kind = self.connection, self.kind
        if connection is None:
            initial = {"base_url": kind.default_base_url}
            stored_streams = {}
        else:
            choice, every = schedule_choice(connection.schedule_minutes)
            initial = {
                "name": connection.source.name,
                "base_url": connection.base_url,
                "schedule": choice,
                "every_minutes": every,
                "request_budget": connection.request_budget,
            }
            initial |= {f"config__{k}": v for k, v in connection.config.items()}
            stored_streams = connection.streams
        for stream in kind.streams:
            spec = stored_streams.get(stream.name)
            prefix = f"streams__{stream.name}__"
            initial[prefix + "enabled"] = spec is None or spec.get("enabled", True)
            if connection is not None and spec is None:
                initial[prefix + "enabled"] = False
            rules = spec.get("rules") if spec else None
            initial[prefix + "rules"] = rules_text(rules) if rules else stream.rules
            for key in STREAM_OVERRIDES:
                initial[prefix + key] = (spec or {}).get(key, "")
        return initial

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("schedule") == "minutes" and not cleaned.get("every_minutes"):
            self.add_error("every_minutes", "How many minutes between runs?")
        return cleaned

    # --- to the services ----------------------------------------------------------------

    def schedule_minutes(self) -> int:
        choice = self.cleaned_data["schedule"]
        if choice == "minutes":
            return self.cleaned_data["every_minutes"]
        return SCHEDULE_MINUTES[choice]

    def _section(self, name: str) -> dict:
        prefix = name + "__"
        return {
            key[len(prefix) :]: value
            for key, value in self.cleaned_data.items()
            if key.startswith(prefix) and value not in (None, "")
        }

    def streams(self) -> dict:
        streams = {}
        for stream in self.kind.streams:
            prefix = f"streams__{stream.name}__"
            spec = {
                "enabled": self.cleaned_data.get(prefix + "enabled", False),
                "rules": self.cleaned_data.get(prefix + "rules") or stream.rules,
            }
            spec |= {k: self.cleaned_data[prefix + k] for k in STREAM_OVERRIDES}
            streams[stream.name] = spec
        return streams

    def apply_errors(self, errors: dict[str, str]) -> None:
        """The service's {"config.path": reason} on the fields they name."""
        for key, reason in errors.items():
            name = key.replace(".", "__")
            self.add_error(name if name in self.fields else None, reason)

    def save(self) -> Connection | None:
        """Creates or updates the connection through the services; None, with the errors
        on the form, when they refuse it."""
        try:
            with transaction.atomic():
                return self._create() if self.connection is None else self._update()
        except services.ConnectionInvalid as exc:
            self.apply_errors(exc.errors)
        except SourceArchived as exc:
            self.add_error(None, str(exc))
        return None

    def _create(self) -> Connection:
        data = self.cleaned_data
        return services.create_connection(
            name=data["name"],
            kind=self.kind.key,
            base_url=data["base_url"],
            config=self._section("config"),
            secrets=self._section("secrets"),
            streams=self.streams(),
            schedule_minutes=self.schedule_minutes(),
            party=data["party"],
            priority=data["priority"],
            trigger_window=timedelta(days=data["history_days"]),
            request_budget=data["request_budget"],
        )

    def _update(self) -> Connection:
        data, connection = self.cleaned_data, self.connection
        if connection.source.archived:  # as its source, it does not change until restored
            raise SourceArchived(connection.source)
        if data["name"] != connection.source.name:
            update_source(source=connection.source, name=data["name"])
        services.update_connection(
            connection=connection,
            base_url=data["base_url"],
            config=self._section("config"),
            streams=self.streams(),
            schedule_minutes=self.schedule_minutes(),
            request_budget=data["request_budget"],
        )
        services.set_secrets(connection=connection, secrets=self._section("secrets"))
        return connection
