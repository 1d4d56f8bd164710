"""The dashboard's figures (the home page and /api/v1/insights/dashboard/), one tile at a
time, each read from what its app offers the dashboard (``<app>/dashboard.py``), the
stage-flow rollup and the data-health checks the apps register with cdp_site.health.

Every tile stays cheap at a million profiles and ten million events: table estimates,
samples and bounded counts (cdp_site.counting), the per-minute event statistics, the
stage-flow rollup (kept by PostgreSQL in the transaction that records each move) and
small tables. The one read that grows with the events, the revenue of 30 days of orders,
is kept a minute in the cache (its ``as_of`` says when it was read). Each tile runs under
its own time limit in its own savepoint: a tile that fails or is too slow costs itself
only, never the page.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from campaigns import dashboard as campaigns
from cdp_site import health
from cdp_site.counting import Count, TimeLimitExceeded, time_limit
from cdp_site.selectors import account_time_zone
from insights.journey.selectors import STAGES, people_now
from integrations import dashboard as integrations
from profiles import dashboard as profiles
from segments import dashboard as segments

logger = logging.getLogger(__name__)

WEEK = 7  # days of the events and segments tiles (today included)
MONTH = 30  # days of the new customers and revenue tiles (today included)
TILE_MS = 2_000
REVENUE_CACHE_S = 60
REFRESH_MS = 30_000  # the scheduled read may take longer than a page's

# Per local day over the period: profiles first seen ("" is a profile's first stage), and
# new customers: people reaching acquisition or retention (a first order may go straight
# there) from an earlier stage or straight away; a lapsed customer's return is no new one.
STAGE_ENTRIES = """
SELECT (hour AT TIME ZONE %(zone)s)::date,
       sum(moves) FILTER (WHERE from_stage = ''),
       sum(moves) FILTER (WHERE to_stage IN ('acquisition', 'retention')
                          AND from_stage IN ('', 'orientation', 'consideration'))
FROM insights_stageflow WHERE hour >= %(start)s GROUP BY 1
"""


@dataclass(frozen=True)
class Window:
    """The instant the figures are read and the local days they cover."""

    now: datetime
    zone: object

    @property
    def today(self) -> date:
        return timezone.localdate(self.now, self.zone)

    def days(self, n: int) -> list[date]:
        return [self.today - timedelta(days=n - 1 - i) for i in range(n)]

    def start(self, n: int) -> datetime:
        """Local midnight at the start of the first of the last ``n`` days."""
        return datetime.combine(self.days(n)[0], time.min, tzinfo=self.zone)


def counted(count: Count) -> dict:
    return {"value": count.value, "how": count.how}


def series(days: list[date], per_day: dict) -> list[dict]:
    return [{"day": day, "value": per_day.get(day, 0)} for day in days]


def _stage_entries(w: Window) -> tuple[dict, dict]:
    """(profiles first seen, new customers) per local day of the last MONTH days."""
    new, customers = {}, {}
    with connection.cursor() as cursor:
        cursor.execute(STAGE_ENTRIES, {"zone": str(w.zone), "start": w.start(MONTH)})
        for day, first, acquired in cursor.fetchall():
            new[day], customers[day] = int(first or 0), int(acquired or 0)
    return new, customers


def profiles_tile(w: Window) -> dict:
    total = profiles.profiles_count()
    split = profiles.identified_split(total)
    new, _ = _stage_entries(w)
    return {
        "as_of": w.now,
        "total": counted(total),
        "identified": split and split[0],
        "anonymous": split and split[1],
        "split_how": split and split[2],
        "new_per_day": series(w.days(MONTH), new),
    }


def events_tile(w: Window) -> dict:
    found = integrations.events_per_source_per_day(start=w.start(WEEK), zone=w.zone)
    days = w.days(WEEK)
    per_day = defaultdict(int)
    for source in found:
        for day, n in source["per_day"].items():
            per_day[day] += n
    sources = [
        {
            "id": s["source_id"],
            "name": s["name"],
            "total": sum(s["per_day"].values()),
            "per_day": series(days, s["per_day"]),
        }
        for s in found
    ]
    return {
        "as_of": w.now,
        "stored": counted(integrations.events_stored()),
        "today": per_day.get(w.today, 0),
        "week": sum(per_day.values()),
        "per_day": series(days, per_day),
        "sources": sorted(sources, key=lambda s: -s["total"]),
    }


def new_customers_tile(w: Window) -> dict:
    _, customers = _stage_entries(w)
    return {
        "as_of": w.now,
        "days": MONTH,
        "count": sum(customers.values()),
        "per_day": series(w.days(MONTH), customers),
    }


def revenue_tile(w: Window) -> dict:
    """Kept REVENUE_CACHE_S in the cache, per time zone and day: one read of the month's
    orders a minute at most, however many people open the page; the scheduled
    ``refresh_revenue`` reads it ahead of them, so a page seldom pays for that read."""
    found = cache.get(_revenue_key(w))
    if found is None:
        found = _revenue(w)
        cache.set(_revenue_key(w), found, REVENUE_CACHE_S)
    return found


def refresh_revenue(*, zone=None) -> None:
    """Reads the revenue tile again and keeps it (the insights-refresh-dashboard task, every
    30 seconds: the tile is never more than a minute behind the orders)."""
    w = Window(now=timezone.now(), zone=zone or account_time_zone())
    with time_limit(REFRESH_MS):
        cache.set(_revenue_key(w), _revenue(w), REVENUE_CACHE_S)


def _revenue_key(w: Window) -> str:
    return f"insights:dashboard:revenue:{w.zone}:{w.today}"


def forget_revenue(*, zone=None) -> None:
    """Drops today's kept revenue: the next read counts the orders again."""
    w = Window(now=timezone.now(), zone=zone or account_time_zone())
    cache.delete(_revenue_key(w))


def _revenue(w: Window) -> dict:
    rows = profiles.revenue_per_day(start=w.start(MONTH), end=w.now, zone=w.zone)
    totals, orders, per_day = defaultdict(float), defaultdict(int), defaultdict(dict)
    for day, currency, amount, n in rows:
        totals[currency] += float(amount or 0)
        orders[currency] += n
        per_day[currency][day] = float(amount or 0)
    currencies = [
        {"currency": c, "revenue": round(totals[c], 2), "orders": orders[c]}
        for c in sorted(totals, key=lambda c: (-totals[c], c))
    ]
    main = currencies[0]["currency"] if currencies else ""
    return {
        "as_of": w.now,
        "days": MONTH,
        "events": profiles.ORDER_EVENTS,
        "currencies": currencies,
        "per_day": series(w.days(MONTH), per_day.get(main, {})),
    }


def stages_tile(w: Window) -> dict:
    now = people_now()
    return {"as_of": w.now, "people": {str(s): now[s] for s in STAGES}}


def segments_tile(w: Window) -> dict:
    changes = segments.largest_changes(since=w.now - timedelta(days=WEEK))
    for change in changes:
        change["samples"] = [size for _, size in change["samples"]]
    return {"as_of": w.now, "days": WEEK, "segments": changes}


def campaigns_tile(w: Window) -> dict:
    running = campaigns.running()
    for campaign in running["campaigns"]:
        campaign["sent"] = counted(campaign["sent"])
        campaign["converted"] = counted(campaign["converted"])
    return {"as_of": w.now, "running": running["count"], "campaigns": running["campaigns"]}


def health_tile(w: Window) -> dict:
    checks = health.checks()
    for check in checks:
        check["cap"] = check["cap"] and str(check["cap"])
    return {"as_of": w.now, "ok": all(c["ok"] for c in checks), "checks": checks}


TILES = {
    "profiles": profiles_tile,
    "events": events_tile,
    "new_customers": new_customers_tile,
    "revenue": revenue_tile,
    "stages": stages_tile,
    "segments": segments_tile,
    "campaigns": campaigns_tile,
    "health": health_tile,
}


def dashboard(*, zone=None) -> dict:
    """{"as_of": the oldest tile's as_of, "tiles": {key: numbers, or {"error": why}}}."""
    w = Window(now=timezone.now(), zone=zone or account_time_zone())
    tiles = {key: _tile(key, read, w) for key, read in TILES.items()}
    as_of = min((t["as_of"] for t in tiles.values() if "as_of" in t), default=w.now)
    return {"as_of": as_of, "time_zone": str(w.zone), "tiles": tiles}


def _tile(key: str, read, w: Window) -> dict:
    try:
        with time_limit(TILE_MS):
            return read(w)
    except TimeLimitExceeded:
        return {"error": "too slow"}
    except Exception:  # noqa: BLE001 (one tile's failure never takes the page down)
        logger.exception("dashboard tile %s failed", key)
        return {"error": "unreadable"}
