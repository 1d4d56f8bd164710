"""HTML input for tracking plans; the API's serializers check the same things with the
same functions (schemas.check_schema, services.check_traits)."""

from __future__ import annotations

import json

from django import forms

from .models import Mode, PlannedEvent, TrackingPlan
from .schemas import TRAIT_TYPES, SchemaInvalid, check_schema
from .selectors import free_sources
from .services import TraitsInvalid, check_traits


class PlanForm(forms.ModelForm):
    class Meta:
        model = TrackingPlan
        fields = ["name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}


class InferForm(forms.Form):
    source = forms.ModelChoiceField(queryset=free_sources(), label="Source")
    name = forms.CharField(max_length=120, label="Name of the new plan")

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if TrackingPlan.objects.filter(name=name).exists():
            raise forms.ValidationError("A plan has this name already.")
        return name


class EventForm(forms.Form):
    name = forms.CharField(max_length=200, label="Event name")
    description = forms.CharField(required=False, label="Description")
    schema = forms.CharField(
        label="JSON Schema of its properties",
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false", "class": "code"}),
        help_text="Properties not listed are unplanned unless additionalProperties is true.",
    )

    def __init__(self, *args, plan: TrackingPlan, event: PlannedEvent | None = None, **kwargs):
        if event is not None and not args and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": event.name,
                "description": event.description,
                "schema": json.dumps(event.schema, indent=2),
            }
        super().__init__(*args, **kwargs)
        self.plan, self.event = plan, event

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        taken = self.plan.events.filter(name=name)
        if self.event is not None:
            taken = taken.exclude(pk=self.event.pk)
        if taken.exists():
            raise forms.ValidationError("This plan has an event of this name already.")
        return name

    def clean_schema(self):
        try:
            schema = json.loads(self.cleaned_data["schema"])
        except ValueError as exc:
            raise forms.ValidationError(f"Not JSON: {exc}") from None
        try:
            check_schema(schema)
        except SchemaInvalid as exc:
            raise forms.ValidationError(str(exc)) from None
        return schema


def traits_text(traits: dict) -> str:
    return "\n".join(f"{name}: {kind}" for name, kind in traits.items())


class TraitsForm(forms.Form):
    traits = forms.CharField(
        required=False,
        label="Traits, one a line: name: type",
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "class": "code"}),
        help_text=f"Types: {', '.join(TRAIT_TYPES)}. A trait may always be null (unset).",
    )

    def clean_traits(self):
        traits = {}
        for number, line in enumerate(self.cleaned_data["traits"].splitlines(), start=1):
            if not line.strip():
                continue
            name, colon, kind = line.rpartition(":")
            if not colon:
                raise forms.ValidationError(f"Line {number}: write it as name: type.")
            traits[name.strip()] = kind.strip()
        try:
            return check_traits(traits)
        except TraitsInvalid as exc:
            raise forms.ValidationError(str(exc)) from None


class FollowForm(forms.Form):
    source = forms.ModelChoiceField(queryset=free_sources(), label="Source")
    mode = forms.ChoiceField(choices=Mode.choices, initial=Mode.FLAG, label="What breaks the plan")
