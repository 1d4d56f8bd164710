"""Data-health checks other apps register at start-up: counts of what needs a look
(rejected and quarantined events, failed imports, dead letters, segments failing to
compute). cdp_site imports no domain app; each app registers in its AppConfig.ready, as
the timeline sources do. Two readers collect them: /healthz (``counts``, beside its
service checks) and the dashboard's data-health tile (``checks``, served by insights).

A count is information, never a verdict: a large quarantine is worth a look, but the
service is up, so it never turns /healthz into a 503. Readers must be cheap (/healthz is
polled by load balancers): a bounded count (cdp_site.counting) or a small table.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from .counting import Count
from .permissions import Cap

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Check:
    """``read`` returns how many things need a look (0: all is well), as an int or a
    bounded ``Count``; ``url_name`` is the page that lists them, for holders of ``cap``."""

    label: str
    read: Callable[[], int | Count]
    url_name: str = ""
    cap: Cap | None = None
    detail: str = ""


_checks: dict[str, Check] = {}


def register_count(
    name: str,
    *,
    label: str,
    read: Callable[[], int | Count],
    url_name: str = "",
    cap: Cap | None = None,
    detail: str = "",
) -> None:
    _checks[name] = Check(label=label, read=read, url_name=url_name, cap=cap, detail=detail)


def _read(name: str, check: Check) -> dict:
    try:
        found = check.read()
    except Exception as exc:  # the database may be what is down; the others are still read
        logger.warning("health count %s failed", name, exc_info=True)
        return {"error": type(exc).__name__}
    if isinstance(found, Count):
        return {"count": found.value} if found.exact else {"count": found.value, "how": found.how}
    return {"count": found}


def counts() -> dict[str, dict]:
    """{name: {"label", "count"}} for /healthz ("how" when the count is bounded or
    unknown); a reader that fails reports its ``error`` instead."""
    return {name: {"label": c.label, **_read(name, c)} for name, c in _checks.items()}


def checks() -> list[dict]:
    """Every check read, for a page: name, label, detail, url_name, cap, count (and
    "how" or "error" as in ``counts``) and ``ok`` (nothing needs a look), by label."""
    found = []
    for name, c in _checks.items():
        read = _read(name, c)
        ok = read.get("count") == 0
        found.append(
            {
                "name": name,
                "label": c.label,
                "detail": c.detail,
                "url_name": c.url_name,
                "cap": c.cap,
                "ok": ok,
                **read,
            }
        )
    return sorted(found, key=lambda f: f["label"])
