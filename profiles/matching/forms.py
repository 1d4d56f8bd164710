"""HTML forms of the matching pages. They check the shape of what was typed; the
services check what it means (MatchingError names the field, shown at that field)."""

from __future__ import annotations

import json

from django import forms

from ..models import MatchRun, MatchSettings
from ..rules.forms import CommaListField
from . import fields, selectors

MAP_PREFIX = "map_"
JSON_HELP = "JSON; leave empty for the default."


def _json_list(text: str, *, item, what: str) -> list:
    if not (text or "").strip():
        return []
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise forms.ValidationError(f"Not valid JSON: {exc}") from None
    if not isinstance(value, list) or not all(item(v) for v in value):
        raise forms.ValidationError(f"Give a list of {what}.")
    return value


def _is_rule(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


class SettingsForm(forms.Form):
    enabled = forms.BooleanField(
        required=False,
        label="Matching enabled",
        help_text="Beat runs a full pass every night and an incremental one every 5 minutes.",
    )
    comparisons = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false"}),
        required=False,
        help_text="One per field: field, method (exact, name, jaro_winkler, "
        "damerau_levenshtein, date, address) and thresholds. " + JSON_HELP,
    )
    blocking = forms.CharField(
        label="Blocking rules",
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        required=False,
        help_text="Each rule a list of fields that must be equal for a pair to be scored. "
        + JSON_HELP,
    )
    vetoes = CommaListField(
        help_text="Fields whose clear disagreement keeps a pair out of an auto-merge. "
        "Separate with commas."
    )
    review_threshold = forms.FloatField(label="Review threshold", min_value=0, max_value=1)
    auto_merge_threshold = forms.FloatField(label="Auto-merge threshold", min_value=0, max_value=1)
    phone_region = forms.CharField(label="Phone region", max_length=20)
    day_first = forms.BooleanField(required=False, label="Dates are day first (02/03 = 2 March)")
    memory_limit = forms.CharField(label="Memory limit", max_length=10)
    max_block = forms.IntegerField(label="Largest block", min_value=2, max_value=10**7)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A row per standard field with the trait paths that feed it, in order.
        for field in fields.FIELDS:
            self.fields[MAP_PREFIX + field.name] = CommaListField(
                label=field.label, max_item_length=200, help_text=""
            )

    @classmethod
    def for_settings(cls, current: MatchSettings) -> SettingsForm:
        chosen = selectors.definition(current)
        initial = {
            name: getattr(current, name)
            for name in (
                "enabled",
                "review_threshold",
                "auto_merge_threshold",
                "phone_region",
                "day_first",
                "memory_limit",
                "max_block",
            )
        }
        # One comparison per line: easy to read and to edit.
        lines = ",\n ".join(json.dumps(c) for c in chosen.comparisons)
        initial["comparisons"] = f"[{lines}]"
        initial["blocking"] = json.dumps(chosen.blocking)
        initial["vetoes"] = list(chosen.vetoes)
        for name in fields.FIELD_NAMES:
            initial[MAP_PREFIX + name] = chosen.mapping.get(name, [])
        return cls(initial=initial)

    def mapping_fields(self):
        return [self[MAP_PREFIX + name] for name in fields.FIELD_NAMES]

    def clean_comparisons(self):
        return _json_list(
            self.cleaned_data["comparisons"], item=lambda v: isinstance(v, dict), what="objects"
        )

    def clean_blocking(self):
        return _json_list(self.cleaned_data["blocking"], item=_is_rule, what="lists of field names")

    def changes(self) -> dict:
        data = dict(self.cleaned_data)
        mapping = {name: data.pop(MAP_PREFIX + name) for name in fields.FIELD_NAMES}
        return {**data, "mapping": {name: paths for name, paths in mapping.items() if paths}}

    def add_matching_error(self, error) -> None:
        """Shows a services.MatchingError at the field it names."""
        field, reason = error.field, error.reason
        if field == "mapping":
            name, _, rest = reason.partition(": ")
            if MAP_PREFIX + name in self.fields:
                field, reason = MAP_PREFIX + name, rest
        field = {"memory": "memory_limit"}.get(field, field)
        self.add_error(field if field in self.fields else None, reason)


class ExplainForm(forms.Form):
    left = forms.IntegerField(label="Profile", min_value=1)
    right = forms.IntegerField(label="and profile", min_value=1)


class StartRunForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[(MatchRun.Kind.FULL, "Full pass"), (MatchRun.Kind.DRY_RUN, "Dry run")]
    )
