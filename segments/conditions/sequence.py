"""One event then another within N days: {"type": "sequence", "first": {"name": E,
"where": [PROP]}, "then": {"name": E, "where": [PROP]}, "within_days": N, "window": W}."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import DateTimeField, Exists, ExpressionWrapper, OuterRef, Q, Value

from .registry import Condition, register

STEPS = ("first", "then")


@register
class SequenceCondition(Condition):
    name = "sequence"
    label = "Event sequence"
    order = 40
    fields = frozenset({"type", "first", "then", "within_days", "window"})
    reads = frozenset({"events"})
    empty = {"first": {"name": ""}, "then": {"name": ""}, "within_days": 7}

    def validate(self, v, path: str, node: dict) -> None:
        for step in STEPS:
            part = node.get(step)
            if not isinstance(part, dict):
                v.error(f"{path}.{step}", "Choose an event.")
                continue
            for name in sorted(set(part) - {"name", "where"}):
                v.error(f"{path}.{step}.{name}", f"“{name}” is not part of a step.")
            if v.text(f"{path}.{step}.name", part.get("name"), "an event name"):
                v.summary.event_names.add(part["name"])
            v.where(f"{path}.{step}.where", part.get("where"))
        v.whole(f"{path}.within_days", node.get("within_days"), "the number of days", low=1)
        v.window(f"{path}.window", node.get("window"))

    def fields_in(self, f, p: str) -> dict:
        node = {"type": "sequence"}
        for step in STEPS:
            part = {"name": f.get(f"{p}.{step}.name").strip()}
            if where := f.where(f"{p}.{step}"):
                part["where"] = where
            node[step] = part
        node["within_days"] = f.whole(f"{p}.within_days")
        if (window := f.window(p)) is not None:
            node["window"] = window
        return node

    def fields_out(self, out, p: str, node: dict) -> None:
        for step in STEPS:
            part = node.get(step) or {}
            out[f"{p}.{step}.name"] = out.show(part.get("name"))
            out.where(f"{p}.{step}", part.get("where"))
        out[f"{p}.within_days"] = out.show(node.get("within_days"))
        out.window(p, node.get("window"))

    def view(self, viewer, path: str, node: dict, own: dict) -> dict:
        steps = [
            {
                "path": f"{path}.{step}",
                "label": "First" if step == "first" else "Then",
                "name": viewer.input(f"{path}.{step}.name", own[f"{step}_name"][1]),
                "filters": viewer.filters(f"{path}.{step}", (node.get(step) or {}).get("where")),
            }
            for step in STEPS
        ]
        return {"steps": steps}

    def compile(self, c, node: dict) -> Q:
        first, then, window = node["first"], node["then"], node.get("window")
        later = ExpressionWrapper(
            OuterRef("timestamp") + Value(timedelta(days=node["within_days"])),
            output_field=DateTimeField(),
        )
        follow = c.events(then["name"], then.get("where"), window).filter(
            profile=OuterRef("profile"), timestamp__gt=OuterRef("timestamp"), timestamp__lte=later
        )
        starts = c.events(first["name"], first.get("where"), window, profile=OuterRef("pk"))
        return Q(Exists(starts.filter(Exists(follow))))

    def describe(self, d, node: dict) -> str:
        first, then = node.get("first") or {}, node.get("then") or {}
        return (
            f"{first.get('name', '?')}{d.where(first.get('where'))} then "
            f"{then.get('name', '?')}{d.where(then.get('where'))} within "
            f"{d.days(node.get('within_days', 0))}{d.window(node.get('window'))}"
        )

    def explain(self, x, node: dict) -> str:
        window = node.get("window")
        first, then = x.count(node["first"], window), x.count(node["then"], window)
        span = x.words.window(window) or " ever"
        times = x.words.times
        return (
            f"{node['first']['name']}: {times(first) if first else 'never'}, "
            f"{node['then']['name']}: {times(then) if then else 'never'}{span}."
        )
