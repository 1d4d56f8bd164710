"""In one of the journey stages: {"type": "stage", "in": ["retention", ...]}."""

from __future__ import annotations

from django.db.models import Q

from profiles.models import Profile

from .registry import Condition, register

STAGES = {"orientation", "consideration", "acquisition", "retention", "lapsed"}


@register
class StageCondition(Condition):
    name = "stage"
    label = "Journey stage"
    order = 50
    fields = frozenset({"type", "in"})
    reads = frozenset({"stage"})
    empty = {"in": []}
    profile_row = True

    def validate(self, v, path: str, node: dict) -> None:
        stages = node.get("in")
        if not isinstance(stages, list) or not stages or not set(stages) <= STAGES:
            v.error(f"{path}.in", "Choose one or more journey stages.")

    def fields_in(self, f, p: str) -> dict:
        return {"type": "stage", "in": [s for s in f.getlist(f"{p}.in") if s]}

    def fields_out(self, out, p: str, node: dict) -> None:
        out[f"{p}.in"] = [s for s in node.get("in") or () if isinstance(s, str)]

    def compile(self, c, node: dict) -> Q:
        return Q(stage__in=node["in"])

    def describe(self, d, node: dict) -> str:
        labels = dict(Profile._meta.get_field("stage").choices)
        return "stage is " + " or ".join(str(labels.get(s, s)) for s in node.get("in") or [])

    def explain(self, x, node: dict) -> str:
        return f"Their stage: {x.profile.get_stage_display() or 'not yet known'}."
