"""Reads of the site app: users, tokens, the account's time zone and the health of the
services."""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection

from cdp_site.celery import HEARTBEAT_TTL, heartbeats, redis_now

from . import health
from .models import AccountSettings, ApiToken, AuditEntry
from .permissions import role_of


def tokens_of(*, user):
    return ApiToken.objects.filter(user=user)


def account_time_zone_name() -> str:
    """The account's time zone as an admin set it, or the site's TIME_ZONE until then."""
    chosen = AccountSettings.objects.filter(pk=1).values_list("time_zone", flat=True).first()
    return chosen or settings.TIME_ZONE


def account_time_zone() -> ZoneInfo:
    """Where the reports' days begin (one indexed read of a one-row table). A name the
    installed tz database no longer knows (an upgrade dropped it) falls back to the site's
    zone rather than failing every report."""
    try:
        return ZoneInfo(account_time_zone_name())
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


def users_with_roles() -> list[dict]:
    users = get_user_model().objects.order_by("email").prefetch_related("groups")
    return [{"user": u, "role": role_of(u)} for u in users]


def _database_state() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True}
    except Exception as exc:  # any failure means "down"; the reason is reported
        return {"ok": False, "error": type(exc).__name__}


def _redis_state() -> dict:
    try:
        client = cache._cache.get_client(write=True)
        client.ping()
        return {"ok": True}
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}


def _worker_state() -> dict:

    try:
        client, key = heartbeats()
        pipe = client.pipeline(transaction=True)
        pipe.zremrangebyscore(key, "-inf", redis_now(client) - HEARTBEAT_TTL)
        pipe.zcard(key)
        workers = pipe.execute()[1]
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}
    if not workers:
        return {"ok": False, "error": "no worker answered"}
    return {"ok": True, "workers": workers}


def service_health(*, info: bool = True) -> dict:
    """State of the database, Redis and the Celery workers; ``ok`` only when all are up.
    ``info`` holds what the apps registered (cdp_site.health): counts, never a verdict
    (left empty with ``info=False``, for a page that reads the checks itself)."""
    checks = {"database": _database_state(), "redis": _redis_state()}
    # Workers report through Redis, so without Redis their state is unknown.
    checks["worker"] = (
        _worker_state() if checks["redis"]["ok"] else {"ok": False, "error": "unknown: Redis down"}
    )
    counts = health.counts() if info and checks["database"]["ok"] else {}
    return {"ok": all(c["ok"] for c in checks.values()), "checks": checks, "info": counts}


AUDIT_PAGE = 100


def audit_entries():
    """The audit trail, newest first (filtered by cdp_site.filters.AuditFilter)."""
    return AuditEntry.objects.order_by("-id")


def audit_page(entries, *, before: int | None) -> tuple[list, int | None]:
    """A page of ``entries`` older than the id ``before``, and the id to ask the next
    page with (None: no more). Keyset paging: a count of the whole trail would scan it."""
    if before is not None:
        entries = entries.filter(id__lt=before)
    page = list(entries[: AUDIT_PAGE + 1])
    more = len(page) > AUDIT_PAGE
    return page[:AUDIT_PAGE], page[AUDIT_PAGE - 1].id if more else None
