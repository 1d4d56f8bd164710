"""Reads of integrations for the dashboard (insights' home page reads the figures; the
data-health counts are registered with cdp_site.health in IntegrationsConfig.ready, for
/healthz and the dashboard's data-health tile). Each read is a table estimate, a bounded
count or an indexed range of the per-minute statistics: never a full count of a large
table on a request. Other apps may use every function here."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone

from cdp_site.counting import Count, bounded_count, count_rows

from .destinations.models import DeadLetter
from .imports.models import FileImport
from .models import Event, QuarantinedEvent, RejectedEvent, Source

DAY = timedelta(hours=24)
IMPORT_DAYS = 7

# One day of minutes per source: each sum follows the (source_id, minute) unique index.
PER_SOURCE_PER_DAY = """
SELECT source_id, (minute AT TIME ZONE %(zone)s)::date, sum(count)
FROM integrations_sourceminutestats
WHERE source_id = ANY(%(sources)s) AND minute >= %(start)s
GROUP BY 1, 2
"""


def events_stored() -> Count:
    """How many events the events table holds (its estimate past 10,000 rows)."""
    return count_rows(Event.objects.all(), table=Event._meta.db_table)


def events_per_source_per_day(*, start: datetime, zone) -> list[dict]:
    """[{"source_id", "name", "per_day": {local date: events}}] for every source, events
    counted by the minute they were received from ``start`` (the per-minute statistics
    are kept COLLECT_MINUTE_STATS_RETENTION_DAYS, 7 by default)."""
    sources = dict(Source.objects.order_by("name", "pk").values_list("pk", "name"))
    per_day: dict[int, dict] = defaultdict(dict)
    with connection.cursor() as cursor:
        cursor.execute(
            PER_SOURCE_PER_DAY, {"zone": str(zone), "sources": list(sources), "start": start}
        )
        for source_id, day, n in cursor.fetchall():
            per_day[source_id][day] = int(n)
    return [
        {"source_id": pk, "name": name, "per_day": per_day.get(pk, {})}
        for pk, name in sources.items()
    ]


def rejected_last_day() -> Count:
    since = timezone.now() - DAY
    return bounded_count(RejectedEvent.objects.filter(received_at__gte=since))


def failed_imports() -> int:
    since = timezone.now() - timedelta(days=IMPORT_DAYS)
    return FileImport.objects.filter(status=FileImport.Status.FAILED, created_at__gte=since).count()


def dead_letters_waiting() -> Count:
    return bounded_count(DeadLetter.objects.filter(replayed_at__isnull=True))


def quarantined() -> Count:
    return bounded_count(QuarantinedEvent.objects.all())
