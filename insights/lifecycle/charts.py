"""The lifecycle figure: a relative-mode bar chart, the active people stacked above zero
and the dormant ones below it (as negative bars), one group per bucket."""

from insights.charts import MARGIN

from .selectors import Lifecycle

LABELS = {
    "new": "New",
    "returning": "Returning",
    "resurrecting": "Resurrecting",
    "dormant": "Dormant",
}
COLOURS = {
    "new": "#fdae6b",
    "returning": "#238b45",
    "resurrecting": "#4292c6",
    "dormant": "#bdbdbd",
}


def bars(found: Lifecycle) -> dict:
    x = [day.isoformat() for day in found.buckets]
    data = [
        {
            "type": "bar",
            "name": label,
            "x": x,
            "y": [-n for n in found.counts[kind]] if kind == "dormant" else found.counts[kind],
            "customdata": found.counts[kind],
            "hovertemplate": f"{label}: %{{customdata}} people<extra>%{{x}}</extra>",
            "marker": {"color": COLOURS[kind]},
        }
        for kind, label in LABELS.items()
    ]
    layout = {
        "barmode": "relative",
        "margin": MARGIN,
        "yaxis": {"title": {"text": "people"}, "zeroline": True},
        "legend": {"orientation": "h"},
    }
    return {"data": data, "layout": layout}
