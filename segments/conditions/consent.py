"""A consent statement for a purpose: {"type": "consent", "purpose": P, "status":
"granted"}."""

from __future__ import annotations

from django.db.models import Q
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.lookups import Exact

from .registry import Condition, register

CONSENT_STATUSES = {"granted", "denied", "withdrawn"}


@register
class ConsentCondition(Condition):
    name = "consent"
    label = "Consent"
    order = 70
    fields = frozenset({"type", "purpose", "status"})
    reads = frozenset({"consent"})
    empty = {"purpose": "", "status": "granted"}
    profile_row = True

    def validate(self, v, path: str, node: dict) -> None:
        v.text(f"{path}.purpose", node.get("purpose"), "a consent purpose")
        if node.get("status", "granted") not in CONSENT_STATUSES:
            v.error(f"{path}.status", "Choose granted, denied or withdrawn.")

    def fields_in(self, f, p: str) -> dict:
        purpose = f.get(f"{p}.purpose").strip()
        return {"type": "consent", "purpose": purpose, "status": f.get(f"{p}.status", "granted")}

    def fields_out(self, out, p: str, node: dict) -> None:
        out[f"{p}.purpose"] = out.show(node.get("purpose"))
        out[f"{p}.status"] = out.show(node.get("status", "granted"))

    def compile(self, c, node: dict) -> Q:
        status = KeyTextTransform("status", KeyTransform(node["purpose"], "consent"))
        return Q(Exact(status, node.get("status", "granted")))

    def describe(self, d, node: dict) -> str:
        return f"consent for {node.get('purpose')} is {node.get('status', 'granted')}"

    def explain(self, x, node: dict) -> str:
        state = (x.profile.consent or {}).get(node["purpose"]) or {}
        return f"Their consent: {state.get('status') or 'no statement'}."
