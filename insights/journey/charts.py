"""Plotly figures of the journey view, as JSON-ready dicts (charts.js draws them from
json_script data: no inline script)."""

from __future__ import annotations

from insights.charts import MARGIN, sankey
from profiles.models.stage import Stage

from .selectors import NEW, STAGES, Journey

LABELS = {**{str(s): s.label for s in Stage}, NEW: "New"}
COLOURS = {
    "orientation": "#9ecae1",
    "consideration": "#4292c6",
    "acquisition": "#2171b5",
    "retention": "#238b45",
    "lapsed": "#bdbdbd",
    NEW: "#fdae6b",
}


def _x(journey: Journey) -> list[str]:
    return [day.isoformat() for day in journey.buckets]


def people_per_stage(journey: Journey) -> dict:
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "stackgroup": "people",
            "name": LABELS[stage],
            "x": _x(journey),
            "y": journey.people[stage],
            "line": {"color": COLOURS[stage]},
        }
        for stage in STAGES
    ]
    layout = {"margin": MARGIN, "yaxis": {"title": {"text": "people"}, "rangemode": "tozero"}}
    return {"data": data, "layout": layout}


def flows(journey: Journey) -> dict:
    """A Sankey of the period's moves between stages, in funnel order. A move back to a
    stage seen before it (a lapsed customer who returns to retention) goes to a node of
    its own, "Retention (again)", so that the diagram has no cycle."""
    order = [NEW, *STAGES]
    links = [
        (a, f"{b} again" if order.index(b) <= order.index(a) else b, n) for a, b, n in journey.flows
    ]
    return sankey(links, label=_node_label, colour=lambda key: COLOURS[key.removesuffix(" again")])


def _node_label(key: str) -> str:
    if key.endswith(" again"):
        return f"{LABELS[key.removesuffix(' again')]} (again)"
    return LABELS[key]


def conversion(journey: Journey) -> dict:
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": f"{LABELS[stage]} → further",
            "x": _x(journey),
            "y": [None if share is None else round(100 * share, 2) for share in shares],
            "line": {"color": COLOURS[stage]},
        }
        for stage, shares in journey.conversion.items()
    ]
    layout = {"margin": MARGIN, "yaxis": {"title": {"text": "% moving on"}, "rangemode": "tozero"}}
    return {"data": data, "layout": layout}


def time_in_stage(journey: Journey) -> dict:
    stages = [s for s in STAGES if s in journey.time_in_stage]
    days = lambda key: [round(journey.time_in_stage[s][key] / 86400, 2) for s in stages]  # noqa: E731
    names = [LABELS[s] for s in stages]
    data = [
        {"type": "bar", "name": "median", "x": names, "y": days("median_s")},
        {"type": "bar", "name": "75th percentile", "x": names, "y": days("p75_s")},
    ]
    layout = {"margin": MARGIN, "barmode": "group", "yaxis": {"title": {"text": "days"}}}
    return {"data": data, "layout": layout}


def breakdown(found) -> dict:
    """Stacked bars: per group, the moves into each stage during the period."""
    data = [
        {
            "type": "bar",
            "name": LABELS[stage],
            "x": found.groups,
            "y": [found.moves[group][stage] for group in found.groups],
            "marker": {"color": COLOURS[stage]},
        }
        for stage in STAGES
    ]
    layout = {"margin": MARGIN, "barmode": "stack", "yaxis": {"title": {"text": "moves"}}}
    return {"data": data, "layout": layout}
