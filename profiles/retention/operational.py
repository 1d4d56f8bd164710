"""The operational tables' windows (rejected messages, per-minute counts, imports' files,
dead letters, webhook signatures, quarantined events, privacy exports, and what higher
apps register, such as campaigns' step logs), run from the retention run and listed on
its page. Each purge stays its app's service; this module only lists and calls them.

Higher apps register theirs in AppConfig.ready() (``register``): profiles imports none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from cdp_site import retention
from integrations import services as collect
from integrations.destinations import services as destinations
from integrations.destinations.models import DeadLetter
from integrations.imports import services as imports
from integrations.models import QuarantinedEvent, RejectedEvent, SourceMinuteStats
from integrations.webhooks import services as webhooks
from integrations.webhooks.models import UsedSignature

from ..privacy import services as privacy


@dataclass(frozen=True)
class Purge:
    key: str
    label: str
    window: Callable[[], str]  # "7 days (CDP_REJECTED_EVENTS_RETENTION_DAYS)"
    purge: Callable[[datetime], int]
    count: Callable[[datetime], int] | None = None  # None: counted by the run only


PURGES: list[Purge] = []


def register(purge: Purge) -> None:
    if all(p.key != purge.key for p in PURGES):
        PURGES.append(purge)


def days_window(setting: str, env: str) -> Callable[[], str]:
    def window() -> str:
        days = retention.days(setting)
        return f"{days} days ({env})" if days else f"kept forever ({env} is 0)"

    return window


def _older(model, field: str, setting: str) -> Callable[[datetime], int]:
    def count(now: datetime) -> int:
        cut = retention.cutoff(setting, now=now)
        return 0 if cut is None else model.objects.filter(**{f"{field}__lt": cut}).count()

    return count


def purge_quarantine(*, now: datetime | None = None) -> int:
    """Quarantined events set aside longer than QUARANTINE_RETENTION_DAYS ago (their row
    holds a copy of the payload)."""
    cut = retention.cutoff("QUARANTINE_RETENTION_DAYS", now=now)
    if cut is None:
        return 0
    return retention.delete_in_batches(QuarantinedEvent.objects.filter(quarantined_at__lt=cut))


def _signatures_window() -> str:
    return f"{2 * webhooks.TOLERANCE_SECONDS // 60} minutes (twice the signature tolerance)"


def _exports_window() -> str:
    return f"{settings.CDP_PRIVACY_LINK_DAYS} days (CDP_PRIVACY_LINK_DAYS: the link's life)"


def _signatures_count(now: datetime) -> int:
    cut = now - timedelta(seconds=2 * webhooks.TOLERANCE_SECONDS)
    return UsedSignature.objects.filter(signed_at__lt=cut).count()


for _purge in (
    Purge(
        "rejected_events",
        "Rejected messages",
        days_window("COLLECT_REJECTED_RETENTION_DAYS", "CDP_REJECTED_EVENTS_RETENTION_DAYS"),
        lambda now: collect.purge_rejected_events(now=now),
        _older(RejectedEvent, "received_at", "COLLECT_REJECTED_RETENTION_DAYS"),
    ),
    Purge(
        "minute_stats",
        "Per-minute event counts",
        days_window("COLLECT_MINUTE_STATS_RETENTION_DAYS", "CDP_MINUTE_STATS_RETENTION_DAYS"),
        lambda now: collect.purge_minute_stats(now=now),
        _older(SourceMinuteStats, "minute", "COLLECT_MINUTE_STATS_RETENTION_DAYS"),
    ),
    Purge(
        "quarantine",
        "Quarantined events",
        days_window("QUARANTINE_RETENTION_DAYS", "CDP_QUARANTINE_RETENTION_DAYS"),
        lambda now: purge_quarantine(now=now),
        _older(QuarantinedEvent, "quarantined_at", "QUARANTINE_RETENTION_DAYS"),
    ),
    Purge(
        "import_files",
        "Uploaded import files",
        days_window("IMPORT_FILE_RETENTION_DAYS", "CDP_IMPORT_FILE_RETENTION_DAYS"),
        lambda now: imports.purge_import_files(now=now),
    ),
    Purge(
        "dead_letters",
        "Destinations' dead letters",
        days_window("DESTINATIONS_DEAD_LETTER_RETENTION_DAYS", "CDP_DEAD_LETTER_RETENTION_DAYS"),
        lambda now: destinations.purge_dead_letters(now=now),
        _older(DeadLetter, "created_at", "DESTINATIONS_DEAD_LETTER_RETENTION_DAYS"),
    ),
    Purge(
        "webhook_signatures",
        "Inbound webhooks' used signatures",
        _signatures_window,
        lambda now: webhooks.purge_used_signatures(now=now),
        _signatures_count,
    ),
    Purge(
        "privacy_exports",
        "Privacy requests' export files",
        _exports_window,
        lambda now: privacy.purge_exports(now=now),
    ),
):
    register(_purge)


def kept() -> list[tuple[str, str]]:
    """What is not purged by this run, and why (listed on the page)."""
    return [
        (
            "Client sources' dedupe keys",
            "1 to 2 weeks: weekly partitions, dropped by the partition task",
        ),
        (
            "Server sources' dedupe keys",
            "kept: a retry of any message ever stored is still recognised, even once the "
            "event itself is past its retention",
        ),
        (
            "Audit trail",
            f"{settings.AUDIT_RETENTION_MONTHS} months (CDP_AUDIT_RETENTION_MONTHS), its "
            "month partitions dropped by the audit partition task",
        ),
    ]
