"""Sparklines drawn on the server as an SVG polyline.

Why not plotly here, as on the report pages: a sparkline is a dozen points with no axes,
hover or zoom, and the home page would load three megabytes of plotly.min.js to draw
eight of them. A polyline is a few hundred bytes of markup, needs no script at all (so
nothing for the CSP to allow) and appears with the page; the numbers themselves are in
each tile's table, for screen readers and for reading them off.
"""

WIDTH = 120
HEIGHT = 28
PAD = 2  # keeps the line's stroke inside the box


def points(values: list[float], *, width: int = WIDTH, height: int = HEIGHT) -> str:
    """The polyline's ``points`` for ``values`` (oldest first) scaled into the box: the
    lowest value (or 0, whichever is less) at the bottom, the highest at the top; a
    single value is a flat line. "" when there are no values."""
    if not values:
        return ""
    low, high = min(0, *values), max(values)
    span = (high - low) or 1
    step = (width - 2 * PAD) / max(len(values) - 1, 1)
    found = []
    for i, value in enumerate(values if len(values) > 1 else [values[0], values[0]]):
        x = PAD + i * (step if len(values) > 1 else width - 2 * PAD)
        y = height - PAD - (value - low) / span * (height - 2 * PAD)
        found.append(f"{x:.1f},{y:.1f}")
    return " ".join(found)
