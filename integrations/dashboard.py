"""The integrations' dashboard tiles (registered in IntegrationsConfig.ready): events
stored, and the health of what comes in and goes out: rejected events, failed imports,
dead letters. Each read is an estimate, a bounded count or a small range of the
per-minute statistics."""

from datetime import timedelta

from django.db.models import Sum
from django.utils import timezone

from cdp_site.counting import bounded_count, count_rows
from cdp_site.dashboard import Tile, shown
from cdp_site.permissions import Cap

from .destinations.models import DeadLetter
from .imports.models import FileImport
from .models import Event, QuarantinedEvent, RejectedEvent, Source, SourceMinuteStats

DAY = timedelta(hours=24)
IMPORT_DAYS = 7


def _events_last_day(now) -> int:
    # By source: each sum follows the (source_id, minute) index for one day of minutes.
    sources = list(Source.objects.values_list("pk", flat=True))
    stats = SourceMinuteStats.objects.filter(source_id__in=sources, minute__gte=now - DAY)
    return stats.aggregate(n=Sum("count"))["n"] or 0


def tiles() -> list[Tile]:
    now = timezone.now()
    value, how = shown(count_rows(Event.objects.all(), table=Event._meta.db_table))
    events = Tile(
        title="Events",
        value=value,
        order=20,
        url_name="integrations:index",
        cap=Cap.VIEW_INTEGRATIONS,
        detail="; ".join(
            filter(None, [f"{_events_last_day(now):,} processed in the last 24 h", how])
        ),
    )
    rejected = bounded_count(RejectedEvent.objects.filter(received_at__gte=now - DAY))
    failed = FileImport.objects.filter(
        status=FileImport.Status.FAILED, created_at__gte=now - timedelta(days=IMPORT_DAYS)
    ).count()
    dead = bounded_count(DeadLetter.objects.filter(replayed_at__isnull=True))
    quarantined = bounded_count(QuarantinedEvent.objects.all())
    return [
        events,
        Tile(
            title="Rejected events, last 24 h",
            value=shown(rejected)[0],
            health=True,
            ok=rejected.value == 0,
            url_name="integrations:index",
            cap=Cap.VIEW_INTEGRATIONS,
            detail="each source's page lists its rejections and why",
        ),
        Tile(
            title=f"Failed imports, last {IMPORT_DAYS} days",
            value=f"{failed:,}",
            health=True,
            ok=failed == 0,
            url_name="integrations:index",
            cap=Cap.VIEW_INTEGRATIONS,
            detail="each source's imports say what failed",
        ),
        Tile(
            title="Dead letters waiting",
            value=shown(dead)[0],
            health=True,
            ok=dead.value == 0,
            url_name="integrations:dead-letter-list",
            cap=Cap.VIEW_INTEGRATIONS,
            detail="webhook calls that failed for good, to replay",
        ),
        Tile(
            title="Quarantined events",
            value=shown(quarantined)[0],
            health=True,
            ok=quarantined.value == 0,
            url_name="integrations:quarantine",
            cap=Cap.VIEW_INTEGRATIONS,
            detail="events processing set aside, to replay after a fix",
        ),
    ]
