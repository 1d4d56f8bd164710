"""The matching pages' plotly figures, as plain data for json_script (static/js/charts.js
draws them: no inline script)."""

from __future__ import annotations

from .explain import Explanation
from .selectors import LevelWeight

MARGIN = {"t": 24, "r": 16, "b": 40, "l": 220}
FOR, AGAINST, TOTAL = "#2e7d32", "#c62828", "#1f4e9c"


def weights_figure(levels: list[LevelWeight]) -> dict:
    """A horizontal bar per comparison level: its match weight, log2(m / u); evidence
    for a match to the right, against it to the left."""
    shown = [lv for lv in levels if lv.weight is not None]
    labels = [f"{lv.comparison}: {lv.level}" for lv in shown]
    weights = [lv.weight for lv in shown]
    bars = {
        "type": "bar",
        "orientation": "h",
        "y": labels,
        "x": weights,
        "marker": {"color": [FOR if w >= 0 else AGAINST for w in weights]},
        "hovertemplate": "%{y}<br>match weight %{x}<extra></extra>",
    }
    layout = {
        "margin": MARGIN,
        "height": max(240, 22 * len(shown) + 80),
        "yaxis": {"autorange": "reversed", "automargin": True},
        "xaxis": {"title": {"text": "match weight (log2 m/u)"}, "zeroline": True},
    }
    return {"data": [bars], "layout": layout}


def waterfall_figure(explanation: Explanation) -> dict:
    """The prior, then each comparison's weight at the level the pair reached, ending at
    the pair's match weight."""
    steps = explanation.steps
    trace = {
        "type": "waterfall",
        "orientation": "v",
        "measure": ["absolute", *["relative"] * len(steps), "total"],
        "x": ["prior", *[s.comparison for s in steps], "match weight"],
        "y": [explanation.prior, *[s.weight for s in steps], 0],
        "text": ["", *[s.level for s in steps], f"p = {explanation.probability:.4f}"],
        "increasing": {"marker": {"color": FOR}},
        "decreasing": {"marker": {"color": AGAINST}},
        "totals": {"marker": {"color": TOTAL}},
        "hovertemplate": "%{x}: %{y}<br>%{text}<extra></extra>",
    }
    layout = {"margin": {**MARGIN, "l": 56, "b": 80}, "height": 360, "showlegend": False}
    return {"data": [trace], "layout": layout}
