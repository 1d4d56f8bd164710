"""What other apps report beside the health checks: registered at start-up, read by
/healthz and the dashboard. cdp_site imports no domain app; each app registers a reader
in its AppConfig.ready (as the timeline sources do).

A reading is information, never a verdict: a large quarantine is worth a look, but the
service is up, so it never turns /healthz into a 503.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from .permissions import has_capability

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reading:
    label: str  # for people: "Quarantined events"
    read: Callable[[], int]
    url_name: str = ""  # the page that shows what is counted
    url_capability: str = ""  # what a user needs to follow the link (a permissions.Cap)
    warn_above: int = 0  # the dashboard flags a count above this


_readings: dict[str, Reading] = {}


def register_reading(name: str, reading: Reading) -> None:
    _readings[name] = reading


def readings(*, user=None) -> dict[str, dict]:
    """{name: {"label", "count", "warning", "url_name"}}; a reader that fails reports its
    error instead of a count, and the others are still read. With ``user``, a link is
    given only where that user may follow it."""
    found = {}
    for name, reading in _readings.items():
        try:
            count = reading.read()
        except Exception as exc:  # the database may be the thing that is down
            logger.warning("health reading %s failed", name, exc_info=True)
            found[name] = {"label": reading.label, "error": type(exc).__name__}
            continue
        found[name] = {
            "label": reading.label,
            "count": count,
            "warning": count > reading.warn_above,
            "url_name": reading.url_name
            if user is None or has_capability(user, reading.url_capability)
            else "",
        }
    return found
