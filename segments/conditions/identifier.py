"""An identifier of a kind is known: {"type": "identifier", "kind": "email"}."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q

from profiles.models import Identity

from .registry import Condition, register


@register
class IdentifierCondition(Condition):
    name = "identifier"
    label = "Identifier present"
    order = 80
    fields = frozenset({"type", "kind"})
    reads = frozenset({"identities"})
    empty = {"kind": ""}

    def validate(self, v, path: str, node: dict) -> None:
        v.text(f"{path}.kind", node.get("kind"), "an identifier kind")

    def fields_in(self, f, p: str) -> dict:
        return {"type": "identifier", "kind": f.get(f"{p}.kind").strip()}

    def fields_out(self, out, p: str, node: dict) -> None:
        out[f"{p}.kind"] = out.show(node.get("kind"))

    def compile(self, c, node: dict) -> Q:
        return Q(Exists(Identity.objects.filter(profile=OuterRef("pk"), kind__name=node["kind"])))

    def describe(self, d, node: dict) -> str:
        return f"has a {node.get('kind')} identifier"

    def explain(self, x, node: dict) -> str:
        n = Identity.objects.filter(profile_id=x.profile.pk, kind__name=node["kind"]).count()
        return f"{n} {node['kind']} identifier{'s' if n != 1 else ''}."
