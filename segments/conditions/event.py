"""Did (or did not) an event, how often, where its properties match, in a window:
{"type": "event", "name": E, "did": true, "where": [PROP], "count": COUNT, "window": W}."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Q

from profiles.models import Profile

from .registry import Condition, register

COUNT_OPS = {"at_least", "at_most", "exactly"}
COUNT_WORDS = {"at_least": "at least", "at_most": "at most", "exactly": "exactly"}


@register
class EventCondition(Condition):
    name = "event"
    label = "Event"
    order = 30
    fields = frozenset({"type", "name", "did", "where", "count", "window"})
    reads = frozenset({"events"})
    empty = {"name": ""}

    def validate(self, v, path: str, node: dict) -> None:
        if v.text(f"{path}.name", node.get("name"), "an event name"):
            v.summary.event_names.add(node["name"])
        if not isinstance(node.get("did", True), bool):
            v.error(f"{path}.did", "Choose did or did not.")
        v.where(f"{path}.where", node.get("where"))
        count = node.get("count")
        if count is not None:
            if not isinstance(count, dict) or count.get("op") not in COUNT_OPS:
                v.error(f"{path}.count.op", "Choose at least, at most or exactly.")
            else:
                low = 0 if count["op"] != "at_least" else 1
                v.whole(f"{path}.count.value", count.get("value"), "the count", low=low)
        v.window(f"{path}.window", node.get("window"))

    def fields_in(self, f, p: str) -> dict:
        node = {"type": "event", "name": f.get(f"{p}.name").strip()}
        if f.get(f"{p}.did") == "did_not":
            node["did"] = False
        if where := f.where(p):
            node["where"] = where
        if count_op := f.get(f"{p}.count.op"):
            node["count"] = {"op": count_op, "value": f.whole(f"{p}.count.value")}
        if (window := f.window(p)) is not None:
            node["window"] = window
        return node

    def fields_out(self, out, p: str, node: dict) -> None:
        out[f"{p}.name"] = out.show(node.get("name"))
        out[f"{p}.did"] = "did" if node.get("did", True) else "did_not"
        out.where(p, node.get("where"))
        count = node.get("count") or {}
        out[f"{p}.count.op"] = out.show(count.get("op"))
        out[f"{p}.count.value"] = out.show(count.get("value"))
        out.window(p, node.get("window"))

    def view(self, viewer, path: str, node: dict, own: dict) -> dict:
        return {"filters": viewer.filters(path, node.get("where"))}

    @staticmethod
    def grouped(node: dict) -> bool:
        """Compiled to a positive IN over grouped events (not a semi-join)."""
        count = node.get("count") or {}
        return (
            node["type"] == "event"
            and node.get("did", True)
            and (
                (count.get("op") == "at_least" and count.get("value", 1) > 1)
                or (count.get("op") == "exactly" and count.get("value", 0) > 0)
            )
        )

    def compile(self, c, node: dict, *, restrict: Q | None = None) -> Q:
        """``restrict``: profile-row conditions of an "all" group pushed into the count
        (see compiler.py)."""
        count = node.get("count") or {"op": "at_least", "value": 1}
        op, n = count["op"], count["value"]
        if op == "at_most":  # at most N: not at least N + 1
            op, n, negate = "at_least", n + 1, True
        else:
            negate = False
        if op == "exactly" and n == 0:
            op, n, negate = "at_least", 1, True
        if op == "at_least" and n == 1:
            events = c.events(
                node["name"], node.get("where"), node.get("window"), profile=OuterRef("pk")
            )
            matched = Q(Exists(events))
        else:
            having = Q(n__gte=n) if op == "at_least" else Q(n=n)
            found = c.events(node["name"], node.get("where"), node.get("window"))
            if c.profile_ids is not None:
                found = found.filter(profile_id__in=c.profile_ids)
            if restrict is not None:
                found = found.filter(profile_id__in=Profile.objects.filter(restrict).values("pk"))
            grouped = (
                found.order_by()
                .values("profile_id")
                .annotate(n=Count("*"))
                .filter(having)
                .values("profile_id")
            )
            matched = Q(pk__in=grouped)
        if negate:
            matched = ~matched
        return matched if node.get("did", True) else ~matched

    def describe(self, d, node: dict) -> str:
        name, count = node.get("name", "?"), node.get("count")
        if count:
            what = f"{name} {COUNT_WORDS.get(count['op'], count['op'])} {d.times(count['value'])}"
        else:
            what = name
        what += d.where(node.get("where")) + d.window(node.get("window"))
        if not node.get("did", True):
            return f"did not {what}"
        return what if count else f"did {what}"

    def explain(self, x, node: dict) -> str:
        n = x.count(node, node.get("window"))
        span = x.words.window(node.get("window")) or " ever"
        return f"{node['name']}: {x.words.times(n) if n else 'never'}{span}."
