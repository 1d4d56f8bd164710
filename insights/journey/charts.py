"""Plotly figures of the journey view, as JSON-ready dicts (charts.js draws them from
json_script data: no inline script)."""

from __future__ import annotations

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
MARGIN = {"t": 24, "r": 16, "b": 40, "l": 56}


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
    """A Sankey from the stage each person was in at the start to the one at the end: the
    two sides are separate nodes, so a stage repeated on both sides makes no cycle."""
    left = sorted({f[0] for f in journey.flows}, key=lambda s: [NEW, *STAGES].index(s))
    right = sorted({f[1] for f in journey.flows}, key=STAGES.index)
    index_left = {stage: i for i, stage in enumerate(left)}
    index_right = {stage: len(left) + i for i, stage in enumerate(right)}
    labels = [f"{LABELS[s]} (start)" if s else "New" for s in left]
    labels += [f"{LABELS[s]} (end)" for s in right]
    sankey = {
        "type": "sankey",
        "arrangement": "snap",
        "node": {"label": labels, "color": [COLOURS[s] for s in left + right], "pad": 12},
        "link": {
            "source": [index_left[f[0]] for f in journey.flows],
            "target": [index_right[f[1]] for f in journey.flows],
            "value": [f[2] for f in journey.flows],
        },
    }
    return {"data": [sankey], "layout": {"margin": MARGIN}}


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
