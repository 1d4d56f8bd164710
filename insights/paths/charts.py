"""The paths Sankey: the chosen event, then a column of nodes per step (a step's events
are nodes of their own, so an event seen at two steps makes no cycle)."""

from .selectors import END, Paths

MARGIN = {"t": 24, "r": 16, "b": 24, "l": 16}


def sankey(found: Paths, *, event: str) -> dict:
    nodes = [(-1, event)]
    links = {"source": [], "target": [], "value": []}

    def node(key) -> int:
        if key not in nodes:
            nodes.append(key)
        return nodes.index(key)

    for (step, before, after), n in sorted(found.links.items()):
        links["source"].append(node((step - 1, before or event)))
        links["target"].append(node((step, after)))
        links["value"].append(n)
    labels = [name if step < 0 else f"{step + 1}. {name}" for step, name in nodes]
    colours = ["#bdbdbd" if name == END else "#4292c6" for _, name in nodes]
    colours[0] = "#fdae6b"
    data = {
        "type": "sankey",
        "arrangement": "snap",
        "node": {"label": labels, "color": colours, "pad": 10},
        "link": links,
    }
    return {"data": [data], "layout": {"margin": MARGIN}}
