"""Dry runs that take a while run in the background with a live count.

A small events table gets its figures at once, in the request. Above
``INLINE_EVENTS`` (planner estimate) the dry run is a Celery task; its state lives in the
cache under the proposal's digest and the data's version (the last profile change), so
the page polls it, two people asking for the same proposal share one run, and figures
never outlive the data they describe. The state: {"state": "queued"|"running"|"done"|"failed",
"scanned": n, "total": n, "result": {...}}.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from cdp_site import outbox

from .dryrun import DryRunResult, dry_run, estimated_events

STATE_TTL = 600  # the figures describe the data of the moment; ask again after that
# The registered name of the task that runs run() (profiles/tasks.py), from before it
# moved there: rows queued in the outbox (cdp_site.outbox) and broker messages name it.
RUN_TASK = "profiles.dryrun_jobs.run_dry_run"


def inline_limit() -> int:
    return getattr(settings, "PROFILES_DRY_RUN_INLINE_EVENTS", 50_000)


@dataclass
class DryRunStatus:
    key: str
    state: str
    scanned: int = 0
    total: int = 0
    result: DryRunResult | None = None

    @property
    def done(self) -> bool:
        return self.result is not None

    @property
    def percent(self) -> int:
        return min(100, int(100 * self.scanned / self.total)) if self.total else 0

    # The figures, so that templates read a finished status like a DryRunResult.
    def __getattr__(self, name):
        if name in DryRunResult.__dataclass_fields__ and self.__dict__.get("result"):
            return getattr(self.result, name)
        raise AttributeError(name)


def _cache_key(key: str) -> str:
    return f"profiles:dry-run:{key}"


def status(key: str) -> DryRunStatus:
    data = cache.get(_cache_key(key)) or {"state": "missing"}
    result = DryRunResult(**data["result"]) if data.get("result") else None
    return DryRunStatus(key, data["state"], data.get("scanned", 0), data.get("total", 0), result)


def data_version() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM profiles_profilechange")
        return cursor.fetchone()[0]


def digest_of(key: str) -> str:
    """The proposal digest a run key starts with (what the save token signs)."""
    return key.split("-", 1)[0]


def start(*, digest: str, kinds=None, blocked=None) -> DryRunStatus:
    """The figures now for a small table, else the state of the background run."""
    key = f"{digest}-{data_version()}"
    current = status(key)
    if current.state in ("queued", "running", "done"):
        return current
    total = estimated_events()
    if total < inline_limit():
        result = dry_run(kinds=kinds, blocked=blocked)
        cache.set(_cache_key(key), {"state": "done", "result": result.as_dict()}, STATE_TTL)
        return status(key)
    cache.set(_cache_key(key), {"state": "queued", "scanned": 0, "total": total}, STATE_TTL)
    outbox.enqueue(RUN_TASK, key, kinds, blocked)
    return status(key)


def run(key: str, kinds=None, blocked=None) -> DryRunResult:
    total = estimated_events()

    def report(scanned: int) -> None:
        cache.set(
            _cache_key(key),
            {"state": "running", "scanned": scanned, "total": max(total, scanned)},
            STATE_TTL,
        )

    try:
        result = dry_run(kinds=kinds, blocked=blocked, on_progress=report)
    except Exception:
        cache.set(_cache_key(key), {"state": "failed"}, STATE_TTL)
        raise
    cache.set(_cache_key(key), {"state": "done", "result": result.as_dict()}, STATE_TTL)
    return result
