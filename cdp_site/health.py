"""Counts other apps report beside /healthz's checks, registered at start-up (cdp_site
imports no domain app; each app registers in its AppConfig.ready, as the timeline sources
and the dashboard tiles do).

A count is information, never a verdict: a large quarantine is worth a look, but the
service is up, so it never turns /healthz into a 503. Readers must be cheap: /healthz is
polled by load balancers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

_readers: dict[str, tuple[str, Callable[[], int]]] = {}


def register_count(name: str, *, label: str, read: Callable[[], int]) -> None:
    _readers[name] = (label, read)


def counts() -> dict[str, dict]:
    """{name: {"label", "count"}}; a reader that fails reports its error instead, and the
    others are still read."""
    found = {}
    for name, (label, read) in _readers.items():
        try:
            found[name] = {"label": label, "count": read()}
        except Exception as exc:  # the database may be what is down
            logger.warning("health count %s failed", name, exc_info=True)
            found[name] = {"label": label, "error": type(exc).__name__}
    return found
