"""The funnel page's figures and tables: the funnel itself, conversion over time (per
bucket of entering) and the breakdown, from one FunnelResult."""

from __future__ import annotations

from insights.charts import MARGIN

from .selectors import FunnelResult, Step, share


def percent(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 1)


def took(seconds: float | None) -> str:
    """A median time in words a person reads at a glance: "45 s", "2 h 5 min", "3 d 4 h"."""
    if seconds is None:
        return "—"
    seconds = round(seconds)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def funnel_chart(steps: list[Step], found: FunnelResult) -> dict:
    return {
        "data": [
            {
                "type": "funnel",
                "y": [f"{k + 1}. {s.describe()}" for k, s in enumerate(steps)],
                "x": found.counts,
                "textinfo": "value+percent initial",
            }
        ],
        "layout": {"margin": {"t": 24, "r": 16, "b": 24, "l": 16}, "yaxis": {"automargin": True}},
    }


def over_time(found: FunnelResult) -> tuple[dict, list[tuple]]:
    """Overall conversion per bucket of the first step (a line), and its table rows:
    (bucket, people entering, people finishing, percent)."""
    rows = [
        (day.isoformat(), counts[0], counts[-1], percent(share(counts)))
        for day, counts in found.over_time.items()
    ]
    chart = {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "x": [row[0] for row in rows],
                "y": [row[3] for row in rows],
                "name": "conversion",
                "hovertemplate": "%{x}: %{y}%<extra></extra>",
            }
        ],
        "layout": {
            "margin": MARGIN,
            "yaxis": {"title": {"text": "% who finished"}, "rangemode": "tozero"},
            "xaxis": {"type": "category", "title": {"text": "entered in"}},
        },
    }
    return chart, rows


def breakdown(steps: list[Step], found: FunnelResult) -> tuple[dict, list[tuple]]:
    """People at each step per group (grouped bars), and the table rows: (group, people
    per step, overall percent)."""
    rows = [(group, counts, percent(share(counts))) for group, counts in found.groups.items()]
    labels = [f"{k + 1}. {s.event}" for k, s in enumerate(steps)]
    chart = {
        "data": [
            {"type": "bar", "name": group[:40], "x": labels, "y": counts}
            for group, counts, _ in rows
        ],
        "layout": {
            "margin": MARGIN,
            "barmode": "group",
            "showlegend": True,
            "yaxis": {"title": {"text": "people"}},
        },
    }
    return chart, rows
