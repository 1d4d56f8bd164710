"""What the next retention run will remove (``plan``), and the runs' records. Others may
read ``plan`` and ``runs``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from integrations.models import Source

from ..models import RetentionPolicy, RetentionRun
from . import events, operational, people
from .rules import Rules, load, settings_row


@dataclass
class Plan:
    now: datetime
    rules: Rules
    partitions: list[dict] = field(default_factory=list)  # rows: the planner's estimate
    default_rows: int = 0
    by_source: list[dict] = field(default_factory=list)  # a kept month's rows of one source
    names: list[dict] = field(default_factory=list)  # exact, up to events.COUNT_CAP each
    profiles: dict = field(default_factory=dict)
    operational: list[dict] = field(default_factory=list)  # rows None: counted by the run

    @property
    def resolved_rows(self) -> int:
        return sum(n["rows"] for n in self.names)


def _names(rules: Rules, now: datetime) -> list[dict]:
    found = []
    for cut in events.name_cuts(rules, now):
        rows = events.count_expired(cut)
        if rows:
            found.append(
                {
                    "name": cut.name,
                    "rows": rows,
                    "capped": rows >= events.COUNT_CAP,
                    "before": cut.other,
                    "special": cut.special,
                }
            )
    return found


def plan(now: datetime | None = None) -> Plan:
    """What a run at ``now`` would remove: the raw months dropped whole (rows estimated
    from the planner's statistics: counting them would take as long as deleting them), the
    raw rows in DEFAULT as old, the resolved events per name past their rule (exact, up to
    a million per name), the inactive profiles, and the operational tables' rows."""
    now = now or timezone.now()
    rules = load()
    result = Plan(now=now, rules=rules)
    names = dict(Source.objects.values_list("pk", "name"))
    for expired in events.expired_months(rules, now):
        month = expired.month
        kept = [*expired.names, *(f"{n} ({names.get(s, s)})" for s, n in expired.pairs)]
        result.partitions.append(
            {
                "name": month.name,
                "start": month.start,
                "keep_months": expired.keep_months,
                "rows": events.estimated_rows(month.name),
                "kept_events": kept,
            }
        )
    kept_months = {m.name for m in events.months()} - {p["name"] for p in result.partitions}
    for rows in events.expired_sources(rules, now, kept_months):
        result.by_source.append(
            {
                "name": rows.month.name,
                "start": rows.month.start,
                "source": rows.source,
                "source_name": names.get(rows.source, ""),
                "kept_events": rows.names,
                "rows": events.count_source(rows),
            }
        )
    result.default_rows = events.count_default(rules, now)
    result.names = _names(rules, now)
    row = settings_row()
    result.profiles = {
        "years": row.inactive_years,
        "action": row.get_inactive_action_display(),
        "before": people.cutoff(row, now),
        "rows": people.count(row, now),
    }
    result.operational = [
        {
            "key": p.key,
            "label": p.label,
            "window": p.window(),
            "rows": p.count(now) if p.count else None,
        }
        for p in operational.PURGES
    ]
    return result


def policies():
    return RetentionPolicy.objects.select_related("source")


def runs():
    return RetentionRun.objects.select_related("started_by")
