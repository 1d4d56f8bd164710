"""A trait or a computed trait compared with a value: {"type": "trait", "key": K, "op":
OP, "value": V} (``values`` for "in" and "between")."""

from __future__ import annotations

from django.db.models import F, Q

from .registry import Condition, register


@register
class TraitCondition(Condition):
    name = "trait"
    label = "Trait"
    order = 10
    fields = frozenset({"type", "key", "op", "value", "values"})
    reads = frozenset({"traits"})
    empty = {"key": "", "op": "equals", "value": ""}
    profile_row = True
    extra_inputs = ("value2",)
    column = "traits"  # the profile's JSON the key is read from

    def validate(self, v, path: str, node: dict) -> None:
        v.text(f"{path}.key", node.get("key"), "a trait")
        v.comparison(path, node)

    def fields_in(self, f, p: str) -> dict:
        return {"type": self.name, "key": f.get(f"{p}.key").strip(), **f.comparison(p)}

    def fields_out(self, out, p: str, node: dict) -> None:
        out[f"{p}.key"] = out.show(node.get("key"))
        out.comparison(p, node)

    def view(self, viewer, path: str, node: dict, own: dict) -> dict:
        return {"value_kind": viewer.op_kind(node.get("op", ""))}

    def compile(self, c, node: dict) -> Q:
        return c.compare(F(self.column), node["key"], node)

    def describe(self, d, node: dict) -> str:
        return d.comparison(node.get("key", "?"), node)

    def explain(self, x, node: dict) -> str:
        return f"Their {node['key']}: {x.value(getattr(x.profile, self.column), node['key'])}."


@register
class ComputedCondition(TraitCondition):
    """A computed trait is compared like a trait."""

    name = "computed"
    label = "Computed trait"
    order = 20
    reads = frozenset({"computed"})
    empty = {"key": "", "op": "gt", "value": ""}
    column = "computed"

    def describe(self, d, node: dict) -> str:
        return d.comparison(f"{node.get('key', '?')} (computed)", node)
