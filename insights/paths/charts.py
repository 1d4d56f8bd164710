"""The paths Sankey: the chosen event, then a column of nodes per step (a step's events
are nodes of their own, so an event seen at two steps makes no cycle)."""

from insights.charts import sankey as sankey_figure

from .selectors import END, Paths


def sankey(found: Paths, *, event: str) -> dict:
    start = (-1, event)
    links = [
        ((step - 1, before) if step else start, (step, after), n)
        for (step, before, after), n in sorted(found.links.items())
    ]
    return sankey_figure(
        links,
        first=[start],
        label=lambda key: key[1] if key[0] < 0 else f"{key[0] + 1}. {key[1]}",
        colour=lambda key: "#fdae6b" if key == start else "#bdbdbd" if key[1] == END else "#4292c6",
    )
