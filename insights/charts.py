"""What the reports' plotly figures share."""

MARGIN = {"t": 24, "r": 16, "b": 40, "l": 56}


def sankey(links: list[tuple], *, label, colour, first=()) -> dict:
    """A Sankey figure from (source key, target key, value) links: each distinct key is a
    node, named by ``label(key)`` and coloured by ``colour(key)``; ``first`` keys come
    first (the left-most node, say)."""
    nodes = list(first)
    index = {key: i for i, key in enumerate(nodes)}

    def node(key) -> int:
        if key not in index:
            index[key] = len(nodes)
            nodes.append(key)
        return index[key]

    link = {"source": [], "target": [], "value": []}
    for source, target, value in links:
        link["source"].append(node(source))
        link["target"].append(node(target))
        link["value"].append(value)
    figure = {
        "type": "sankey",
        "arrangement": "snap",
        "node": {"label": [label(k) for k in nodes], "color": [colour(k) for k in nodes]},
        "link": link,
    }
    return {"data": [figure], "layout": {"margin": MARGIN}}
