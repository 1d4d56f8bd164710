"""The home page: the dashboard's tiles (insights.dashboard.selectors), each linking to
its page for those who may open it, and the state of the services."""

from django.template.response import TemplateResponse

from cdp_site.access import requires
from cdp_site.permissions import Cap, capabilities_of
from cdp_site.selectors import service_health
from insights.journey import charts

from . import selectors, sparkline

# Each tile's page and the capability it needs: the link is shown to those holding it.
LINKS = {
    "profiles": ("profiles:index", Cap.VIEW_PROFILES),
    "events": ("integrations:index", Cap.VIEW_INTEGRATIONS),
    "new_customers": ("insights:journey", Cap.VIEW_DASHBOARDS),
    "revenue": ("insights:attribution", Cap.VIEW_DASHBOARDS),
    "stages": ("insights:journey", Cap.VIEW_DASHBOARDS),
    "segments": ("segments:index", Cap.VIEW_SEGMENTS),
    "campaigns": ("campaigns:index", Cap.VIEW_CAMPAIGNS),
}
SPARKLINES = ("events", "new_customers", "revenue")


@requires(Cap.VIEW_DASHBOARDS)
def dashboard(request):
    found = selectors.dashboard()
    tiles = found["tiles"]
    caps = capabilities_of(request.user)
    for key in SPARKLINES:
        _add_sparkline(tiles[key], tiles[key].get("per_day"))
    _add_sparkline(tiles["profiles"], tiles["profiles"].get("new_per_day"))
    for source in tiles["events"].get("sources", []):
        _add_sparkline(source, source["per_day"])
    for segment in tiles["segments"].get("segments", []):
        segment["spark"] = sparkline.points(segment["samples"])
    for check in tiles["health"].get("checks", []):
        check["link"] = bool(check["url_name"] and check["cap"] in caps)
        check["shown"] = {"value": check.get("count"), "how": check.get("how", "exact")}
    context = {
        "as_of": found["as_of"],
        "time_zone": found["time_zone"],
        "tiles": tiles,
        "links": {key: url for key, (url, cap) in LINKS.items() if cap in caps},
        "may": {cap.name.lower(): True for cap in caps},
        "stages": _stages(tiles["stages"]),
        "empty": _fresh(tiles),
        "health": service_health(info=False),
    }
    return TemplateResponse(request, "insights/dashboard.html", context)


def _add_sparkline(tile: dict, per_day: list[dict] | None) -> None:
    if per_day:
        tile["spark"] = sparkline.points([p["value"] for p in per_day])


def _stages(tile: dict) -> list[dict]:
    """Each stage's people and share of all staged people, for the bar of the tile."""
    people = tile.get("people", {})
    total = sum(n for n in people.values() if n > 0)
    found, start = [], 0.0
    for stage, n in people.items():
        percent = 100 * n / total if total and n > 0 else 0.0
        found.append(
            {
                "stage": stage,
                "label": charts.LABELS[stage],
                "colour": charts.COLOURS[stage],
                "people": n,
                "percent": round(percent, 1),
                "start": start,  # where its part of the bar begins
            }
        )
        start += percent
    return found


def _fresh(tiles: dict) -> bool:
    """A fresh install: no profile and no event yet (the tiles then say what to do)."""
    stored = tiles["events"].get("stored", {}).get("value")
    people = tiles["profiles"].get("total", {}).get("value")
    return stored == 0 and people == 0
