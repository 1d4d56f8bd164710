"""The dashboard's figures, gathered from the apps that own them.

cdp_site imports no domain app: each app registers a tile provider at start-up
(``register_tiles`` in its AppConfig.ready), the way profiles' timeline sources are
registered. A provider returns ``Tile``s and must stay cheap: table estimates
(cdp_site.counting), bounded counts, the per-minute statistics, small tables; never a
full count of a large table on each request. A provider that fails costs its own tiles
only (shown as unreadable), never the page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.humanize.templatetags.humanize import intcomma

from .counting import Count
from .permissions import Cap, has_capability

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tile:
    """A figure, or (``health``) a data-health check that is ``ok`` or a warning.
    ``url_name`` links it for the users holding ``cap``; ``order`` sorts the tiles."""

    title: str
    value: str
    detail: str = ""
    url_name: str = ""
    cap: Cap | None = None
    health: bool = False
    ok: bool = True
    order: int = 50


PROVIDERS: list[Callable[[], list[Tile]]] = []


def register_tiles(provider: Callable[[], list[Tile]]) -> None:
    if provider not in PROVIDERS:
        PROVIDERS.append(provider)


def shown(count: Count) -> tuple[str, str]:
    """(value, how it was counted) of a bounded count, for a tile."""
    if count.how == "exact":
        return intcomma(count.value), ""
    if count.how == "at_least":
        return f"More than {intcomma(count.value)}", "counting stops there"
    if count.how == "estimate":
        return f"About {intcomma(count.value)}", "estimate from table statistics"
    return "Many", "too many to count quickly"


def tiles(*, user) -> tuple[list[dict], list[dict]]:
    """(figures, health checks) for ``user``: each a dict with the tile and whether its
    link may be shown."""
    found: list[Tile] = []
    for provider in PROVIDERS:
        try:
            found += provider()
        except Exception:  # noqa: BLE001 (one app's figures never take the page down)
            logger.exception("dashboard tiles of %s failed", provider.__module__)
            found.append(
                Tile(
                    title=provider.__module__.split(".")[0].title(),
                    value="unreadable",
                    detail="see the server log",
                    health=True,
                    ok=False,
                )
            )
    found.sort(key=lambda t: (t.order, t.title))
    items = [
        {"tile": t, "link": bool(t.url_name and t.cap and has_capability(user, t.cap))}
        for t in found
    ]
    return [i for i in items if not i["tile"].health], [i for i in items if i["tile"].health]
