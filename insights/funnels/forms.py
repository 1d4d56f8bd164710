"""A funnel as asked in a URL (so that it is shareable unsaved).

The steps use the segment builder's field names and its reading of them
(segments/builder/fields.py): ``steps[k].name`` and the property filters
``steps[k].where[i].property`` / ``.op`` / ``.value`` / ``.value2``, checked by the segment
grammar's rules (insights.funnels.selectors.problems). The first version's
``event_k`` / ``property_k`` / ``value_k`` (k from 1; a filter is "equals") still read,
so that links shared before keep working and the API takes the simple form too."""

from __future__ import annotations

import re

from django import forms
from django.forms.utils import ErrorList

from insights.periods import PeriodForm
from segments import grammar
from segments.builder.fields import Fields, Out

from .selectors import BREAKDOWNS, MAX_STEPS, Breakdown, Step, problems, steps_of

ACTION = re.compile(r"^(add-filter|remove|up|down):steps\[(\d+)\](?:\.where\[(\d+)\])?$")
NEW_FILTER = {"property": "", "op": "equals", "value": ""}


def steps_in(data) -> list[dict]:
    """The steps posted, as ``{"name", "where"}`` (valid or not: check with problems())."""
    fields = Fields(data)
    found = []
    for k in fields.indexed("steps", ".name"):
        step = {"name": fields.get(f"steps[{k}].name").strip()}
        if where := fields.where(f"steps[{k}]"):
            step["where"] = where
        found.append(step)
    return found or _first_version(fields)


def _first_version(fields: Fields) -> list[dict]:
    found = []
    for k in range(1, MAX_STEPS + 2):
        event = fields.get(f"event_{k}").strip()
        if not event:
            continue
        step = {"name": event}
        if prop := fields.get(f"property_{k}").strip():
            value = fields.get(f"value_{k}")
            step["where"] = [{"property": prop, "op": "equals", "value": value}]
        found.append(step)
    return found


def steps_to_fields(steps: list[dict]) -> dict:
    """The builder fields that post ``steps`` back."""
    out = Out()
    for k, step in enumerate(steps):
        out[f"steps[{k}].name"] = out.show(step.get("name"))
        out.where(f"steps[{k}]", step.get("where"))
    return dict(out)


def apply_action(steps: list[dict], action: str) -> str | None:
    """Applies a builder button to ``steps`` in place: ``add-step``, ``add-filter:steps[k]``,
    ``remove:steps[k]`` (or ``…where[i]``), ``up:steps[k]``, ``down:steps[k]``; returns the
    path to focus afterwards (None when the action does not apply)."""
    if action == "add-step":
        if len(steps) >= MAX_STEPS:
            return None
        steps.append({"name": ""})
        return f"steps[{len(steps) - 1}].name"
    match = ACTION.match(action or "")
    if not match or int(match.group(2)) >= len(steps):
        return None
    verb, k, i = match.group(1), int(match.group(2)), match.group(3)
    step = steps[k]
    if verb == "add-filter" and i is None:
        step.setdefault("where", []).append(dict(NEW_FILTER))
        return f"steps[{k}].where[{len(step['where']) - 1}]"
    if verb == "remove" and i is not None:
        where = step.get("where") or []
        if int(i) < len(where):
            del where[int(i)]
        return f"steps[{k}].name"
    if verb == "remove":
        del steps[k]
        return f"steps[{max(k - 1, 0)}].name" if steps else None
    other = k - 1 if verb == "up" else k + 1
    if verb in ("up", "down") and i is None and 0 <= other < len(steps):
        steps[k], steps[other] = steps[other], steps[k]
        return f"steps[{other}].name"
    return None


class FunnelForm(PeriodForm):
    window = forms.IntegerField(min_value=1, max_value=90, required=False, label="Within days")
    order = forms.ChoiceField(
        choices=[("ordered", "in this order"), ("any", "in any order")],
        required=False,
        label="Steps",
    )
    by = forms.ChoiceField(
        choices=[("", "nothing"), *BREAKDOWNS.items()], required=False, label="Break down by"
    )
    key = forms.CharField(required=False, max_length=200, label="Property or trait")

    def __init__(self, data=None, *args, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.steps = steps_in(data) if data is not None else []

    def clean(self):
        data = super().clean()
        data["window"] = data.get("window") or 7
        data["order"] = data.get("order") or "ordered"
        key = (data.get("key") or "").strip()
        if data.get("by") in ("property", "trait"):
            # The grammar's check of a name: not empty, not too long, storable text.
            checked = grammar.Validator()
            if not checked.text("key", key, "the property or trait to break down by"):
                self.add_error("key", checked.errors[0]["message"])
        data["key"] = key
        for problem in problems(self.steps):
            # Keyed by the step's input (``steps[1].name``): shown next to it, and the
            # API's 400 names it.
            self._errors.setdefault(problem["field"], ErrorList()).append(problem["message"])
        return data

    def question(self) -> dict:
        data = self.cleaned_data
        return {
            "steps": [Step.of(step) for step in self.steps],
            "window_days": data["window"],
            "ordered": data["order"] == "ordered",
        }

    def breakdown(self) -> Breakdown | None:
        data = self.cleaned_data
        return Breakdown(data["by"], data["key"]) if data.get("by") else None


def query_of(
    *, steps: list[Step], window_days: int, ordered: bool, breakdown: Breakdown | None = None
) -> dict:
    """A funnel's URL parameters (a saved funnel opens as its shareable URL)."""
    query = {"window": window_days, "order": "ordered" if ordered else "any"}
    if breakdown:
        query |= {"by": breakdown.by, "key": breakdown.key}
    return query | steps_to_fields([step.as_json() for step in steps])


def query_of_saved(funnel_row) -> dict:
    """A saved funnel's URL parameters, its breakdown included."""
    return query_of(
        steps=steps_of(funnel_row),
        window_days=funnel_row.window_days,
        ordered=funnel_row.ordered,
        breakdown=Breakdown.of(funnel_row.breakdown),
    )
