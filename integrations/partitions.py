"""Monthly partitions of the events table and weekly ones of client sources' dedupe
keys, created ahead of time (and the keys' dropped once past their window).

The DEFAULT partition catches rows no partition covers (say the beat was down over a
month change); creating that partition later moves its rows out of DEFAULT first,
since PostgreSQL refuses to create a partition whose rows already sit in DEFAULT.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from psycopg import sql

from cdp_site.partitions import (
    create,
    ensure_months,
    existing_partitions,
    lock_and_connect,
    month_partition_name,
)

PARENT = "integrations_event"
KEYS = "integrations_recentmessageid"
KEYS_DEFAULT = "integrations_recentmessageid_default"
WEEK_SECONDS = 7 * 24 * 3600


def week_of(moment: datetime) -> int:
    """Weeks since 1970-01-01 (a Thursday), the partition key of the dedupe keys."""
    return int(moment.timestamp() // WEEK_SECONDS)


def partition_name(start: datetime) -> str:
    return month_partition_name(PARENT, start)


@transaction.atomic
def ensure_event_partitions(*, months_ahead: int = 2, today=None) -> list[str]:
    """Creates the month partitions from this month to ``months_ahead`` on; returns new ones."""
    today = today or timezone.now().date()
    return ensure_months(
        parent=PARENT, column="received_at", months_ahead=months_ahead, today=today
    )


@transaction.atomic
def ensure_message_id_partitions(*, now: datetime | None = None) -> dict[str, list[str]]:
    """Client sources' dedupe keys: this week's and the next two weeks' partitions exist,
    last week's is kept (messages are checked against it), older ones are dropped, and
    stray keys older than that leave DEFAULT. Returns {"created": ..., "dropped": ...}."""
    week = week_of(now or timezone.now())
    raw = lock_and_connect()
    have = existing_partitions(KEYS)
    created, dropped = [], []
    for w in range(week - 1, week + 3):
        name = f"{KEYS}_w{w}"
        if name not in have:
            create(raw, name=name, start=w, end=w + 1, parent=KEYS, column="week")
            created.append(name)
    for name in sorted(have):
        number = name.rpartition("_w")[2]
        if number.isdigit() and int(number) < week - 1:
            with raw.cursor() as cursor:
                cursor.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))
            dropped.append(name)
    with raw.cursor() as cursor:
        cursor.execute(
            sql.SQL("DELETE FROM {} WHERE week < %s").format(sql.Identifier(KEYS_DEFAULT)),
            [week - 1],
        )
    return {"created": created, "dropped": dropped}
