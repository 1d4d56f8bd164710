"""HTML forms of the rules pages. They validate; profiles.rules.services writes."""

from __future__ import annotations

import phonenumbers
from django import forms

from cdp_site.permissions import ADMIN, ROLE_DESCRIPTIONS, ROLES

from ..computed import definitions
from ..computed import filters as event_filters
from ..models import BlockedValue, ComputedTrait, IdentifierKind, StageRule, TraitKey

NEEDS_PROPERTY = definitions.NEEDS_PROPERTY
NUMERIC = {"sum", "avg", "min", "max"}


class CommaListField(forms.CharField):
    """A list of texts typed as "a, b, c"."""

    def __init__(self, *, max_item_length: int = 200, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "Separate with commas.")
        self.max_item_length = max_item_length
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(value)
        return value

    def to_python(self, value):
        if isinstance(value, list | tuple):
            items = [str(v).strip() for v in value]
        else:
            items = [v.strip() for v in (value or "").split(",")]
        items = list(dict.fromkeys(v for v in items if v))
        for item in items:
            if len(item) > self.max_item_length:
                raise forms.ValidationError(
                    f"{item[:40]}… is longer than {self.max_item_length} characters."
                )
        return items


PERSONAL_HELP = (
    "Shown masked (a•••@example.com) to roles not granted to see personal data, and "
    "exports holding it need the grant."
)


class KindForm(forms.ModelForm):
    trait_keys = CommaListField(
        max_item_length=80,
        label="Trait keys",
        help_text="Traits and externalIds types that carry this identifier; separate with commas.",
    )

    class Meta:
        model = IdentifierKind
        fields = ["label", "priority", "max_per_profile", "normalizer", "trait_keys", "personal"]
        labels = {
            "max_per_profile": "Per-profile limit",
            "normalizer": "Normaliser",
            "personal": "Personal data",
        }
        help_texts = {
            "priority": "Higher is stronger: decides which profile an event belongs to.",
            "max_per_profile": "Empty: no limit.",
            "personal": PERSONAL_HELP,
        }

    def clean_max_per_profile(self):
        value = self.cleaned_data.get("max_per_profile")
        if value is not None and value < 1:
            raise forms.ValidationError("A limit must be at least 1 (leave it empty for none).")
        return value

    def clean_normalizer(self):
        value = self.cleaned_data.get("normalizer")
        if self.instance.pk and self.instance.builtin and value != self.instance.normalizer:
            raise forms.ValidationError("The normaliser of a built-in kind cannot change.")
        return value

    def rule_changes(self) -> dict:
        """The resolution rules this edit changes (what a dry run is needed for)."""
        changes = {}
        for field in ("priority", "max_per_profile"):
            if field in self.changed_data:
                changes[field] = self.cleaned_data[field]
        return changes


class KindCreateForm(KindForm):
    class Meta(KindForm.Meta):
        fields = ["name", *KindForm.Meta.fields]
        help_texts = {
            **KindForm.Meta.help_texts,
            "name": "Lower-case letters, digits, - and _; e.g. partner_member_id.",
        }

    def clean_name(self):
        name = self.cleaned_data["name"].strip().lower()
        if IdentifierKind.objects.filter(name=name).exists():
            raise forms.ValidationError("An identifier kind with this name exists already.")
        return name


class BlockedValueForm(forms.Form):
    kind = forms.ModelChoiceField(
        queryset=IdentifierKind.objects.all(),
        required=False,
        empty_label="Any kind",
        to_field_name="name",
        label="Kind",
    )
    value = forms.CharField(max_length=200, label="Value")

    def clean_value(self):
        value = self.cleaned_data["value"].strip()
        if not value:
            raise forms.ValidationError("Enter a value to block.")
        return value

    def clean(self):
        data = super().clean()
        kind, value = data.get("kind"), data.get("value")
        if value and BlockedValue.objects.filter(kind=kind, value__iexact=value).exists():
            self.add_error("value", "This value is blocked already.")
        return data


def _region_choices():
    regions = sorted(phonenumbers.SUPPORTED_REGIONS)
    return [(r, r) for r in regions]


class PhoneRegionForm(forms.Form):
    region = forms.ChoiceField(
        choices=_region_choices,
        label="Default phone region",
        help_text="Phone numbers without a country code are read as numbers of this country.",
    )


class SourceKindForm(forms.Form):
    kind = forms.ModelChoiceField(
        queryset=IdentifierKind.objects.all(),
        to_field_name="name",
        empty_label=None,
        label="userId is a",
    )


class EventFiltersField(forms.CharField):
    """Event-property filters typed one per line ("category = Tents")."""

    widget = forms.Textarea(attrs={"rows": 2})

    def prepare_value(self, value):
        if isinstance(value, list):
            return event_filters.as_lines(value)
        return value

    def to_python(self, value):
        if isinstance(value, list):
            return value
        try:
            return event_filters.parse_lines(super().to_python(value))
        except event_filters.FilterError as error:
            raise forms.ValidationError(str(error)) from None


class ComputedTraitForm(forms.ModelForm):
    filters = EventFiltersField(
        required=False,
        max_length=2000,
        label="Only events where",
        help_text="One per line: property, then = != > < or contains, then a value; "
        "e.g. category = Tents. Empty: every such event.",
    )

    class Meta:
        model = ComputedTrait
        fields = [
            "label",
            "key",
            "event_name",
            "aggregation",
            "property",
            "window_days",
            "filters",
            "formula",
            "score_of",
            "higher_is_better",
        ]
        labels = {
            "window_days": "Window (days)",
            "event_name": "Event name",
            "score_of": "Score of",
            "higher_is_better": "Higher values score higher",
        }
        help_texts = {
            "key": "The name segments and the API use; letters, digits, - and _.",
            "event_name": "The events aggregated (not needed for formulas and scores).",
            "property": "The event property aggregated (not needed to count).",
            "window_days": "Only events of the last this many days; empty: all time.",
            "formula": "For a formula: + - * / min( ) max( ) round( ) over other traits' "
            "keys, e.g. round(order_revenue / order_count, 2); `a key` in backquotes if it "
            "has other characters.",
            "score_of": "For a score: the key of the computed trait ranked in quintiles.",
            "higher_is_better": "For a score: untick when less is better (days since the "
            "last order, say).",
        }
        widgets = {
            "event_name": forms.TextInput(attrs={"list": "event-names"}),
            "formula": forms.TextInput(attrs={"maxlength": 500}),
        }

    def clean(self):
        data = super().clean()
        window = data.get("window_days")
        if window is not None and window < 1:
            self.add_error(
                "window_days", "A window is at least 1 day (leave it empty for all time)."
            )
        try:
            data.update(definitions.check(data, pk=self.instance.pk))
        except definitions.DefinitionError as error:
            self.add_error(error.field if error.field in self.fields else None, error.message)
        return data


class TraitKeyForm(forms.ModelForm):
    class Meta:
        model = TraitKey
        fields = ["type", "strategy", "personal"]
        labels = {"personal": "Personal data"}
        help_texts = {"personal": PERSONAL_HELP}


class StageRuleForm(forms.ModelForm):
    event_names = CommaListField(
        label="Event names",
        help_text="Event names, or the types page / screen; separate with commas.",
    )

    class Meta:
        model = StageRule
        fields = ["event_names", "min_count", "min_days", "quiet_days"]
        labels = {
            "min_count": "At least this many events",
            "min_days": "On at least this many distinct days",
            "quiet_days": "Quiet days",
        }

    def clean(self):
        data = super().clean()
        for field in ("min_count", "min_days"):
            if data.get(field) is not None and data[field] < 1:
                self.add_error(field, "Must be at least 1.")
        if self.instance.stage == "lapsed":
            if not data.get("quiet_days"):
                self.add_error("quiet_days", "The lapsed rule needs a number of quiet days.")
        else:
            data["quiet_days"] = None
            if "event_names" in data and not data["event_names"]:
                self.add_error("event_names", "Name at least one event.")
        return data


class PersonalDataForm(forms.Form):
    """The roles besides Admin (who always does) that see personal data in clear."""

    roles = forms.MultipleChoiceField(
        choices=[(role, role) for role in ROLES if role != ADMIN],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Roles that see personal data in clear and may export it",
        help_text="Admins always do. The others see personal traits and identifiers masked.",
    )

    @staticmethod
    def descriptions() -> dict[str, str]:
        return {role: ROLE_DESCRIPTIONS[role] for role in ROLES if role != ADMIN}
