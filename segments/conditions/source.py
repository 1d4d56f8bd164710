"""Data (events or trait values) from a source, or from any source of a party:
{"type": "source", "source_id": ID} | {"type": "party", "party": "first"}."""

from __future__ import annotations

from django.db.models import Q

from .registry import Condition, register

PARTIES = {"first", "second", "third"}


@register
class SourceCondition(Condition):
    name = "source"
    label = "Source"
    order = 90
    fields = frozenset({"type", "source_id"})
    reads = frozenset({"events", "traits"})
    empty = {"source_id": ""}

    def validate(self, v, path: str, node: dict) -> None:
        v.whole(f"{path}.source_id", node.get("source_id"), "a source", low=1, high=2**62)

    def fields_in(self, f, p: str) -> dict:
        return {"type": "source", "source_id": f.whole(f"{p}.source_id")}

    def fields_out(self, out, p: str, node: dict) -> None:
        out[f"{p}.source_id"] = out.show(node.get("source_id"))

    def compile(self, c, node: dict) -> Q:
        return c.from_sources(Q(source_id=node["source_id"]))

    def describe(self, d, node: dict) -> str:
        return f"has data from “{d.source_name(node.get('source_id'))}”"

    def explain(self, x, node: dict) -> str:
        return x.from_sources(Q(source_id=node["source_id"]))


@register
class PartyCondition(Condition):
    name = "party"
    label = "Data party"
    order = 100
    fields = frozenset({"type", "party"})
    reads = frozenset({"events", "traits"})
    empty = {"party": "first"}

    def validate(self, v, path: str, node: dict) -> None:
        if node.get("party") not in PARTIES:
            v.error(f"{path}.party", "Choose first, second or third party.")

    def fields_in(self, f, p: str) -> dict:
        return {"type": "party", "party": f.get(f"{p}.party")}

    def fields_out(self, out, p: str, node: dict) -> None:
        out[f"{p}.party"] = out.show(node.get("party"))

    def compile(self, c, node: dict) -> Q:
        return c.from_sources(Q(source__party=node["party"]))

    def describe(self, d, node: dict) -> str:
        return f"has {node.get('party')}-party data"

    def explain(self, x, node: dict) -> str:
        return x.from_sources(Q(source__party=node["party"]))
