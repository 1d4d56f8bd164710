"""Monthly partitions of the events table, created ahead of time.

The DEFAULT partition catches rows no month partition covers (say the beat was down
over a month change); creating that month later moves its rows out of DEFAULT first,
since PostgreSQL refuses to create a partition whose rows already sit in DEFAULT.
"""

from datetime import UTC, date, datetime

from django.db import connection, transaction
from django.utils import timezone
from psycopg import sql

PARENT = "integrations_event"
DEFAULT = "integrations_event_default"
LOCK_ID = 0x43445045  # advisory lock: one partition maintainer at a time


def _month_start(day: date, offset: int) -> datetime:
    month = day.month - 1 + offset
    return datetime(day.year + month // 12, month % 12 + 1, 1, tzinfo=UTC)


def partition_name(start: datetime) -> str:
    return f"{PARENT}_y{start.year:04d}m{start.month:02d}"


def existing_partitions() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [PARENT],
        )
        return {row[0] for row in cursor.fetchall()}


@transaction.atomic
def ensure_event_partitions(*, months_ahead: int = 2, today: date | None = None) -> list[str]:
    """Creates the month partitions from this month to ``months_ahead`` on; returns new ones."""
    today = today or timezone.now().date()
    connection.ensure_connection()
    raw = connection.connection  # the psycopg connection, for sql.Composed statements
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_ID])
    have = existing_partitions()
    created = []
    for offset in range(months_ahead + 1):
        start, end = _month_start(today, offset), _month_start(today, offset + 1)
        name = partition_name(start)
        if name in have:
            continue
        _create(raw, name=name, start=start, end=end)
        created.append(name)
    return created


def _create(raw, *, name: str, start: datetime, end: datetime) -> None:
    parent, default, table = map(sql.Identifier, (PARENT, DEFAULT, name))
    bounds = {"start": start, "end": end}
    with raw.cursor() as cursor:
        cursor.execute(
            sql.SQL(
                "SELECT EXISTS (SELECT 1 FROM {} WHERE received_at >= %(start)s "
                "AND received_at < %(end)s)"
            ).format(default),
            bounds,
        )
        stranded = cursor.fetchone()[0]
        if not stranded:
            cursor.execute(
                sql.SQL("CREATE TABLE {} PARTITION OF {} FOR VALUES FROM ({}) TO ({})").format(
                    table, parent, sql.Literal(start), sql.Literal(end)
                )
            )
            return
        cursor.execute(
            sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)").format(
                table, parent
            )
        )
        cursor.execute(
            sql.SQL(
                "WITH moved AS (DELETE FROM {} WHERE received_at >= %(start)s "
                "AND received_at < %(end)s RETURNING *) INSERT INTO {} SELECT * FROM moved"
            ).format(default, table),
            bounds,
        )
        cursor.execute(
            sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})").format(
                parent, table, sql.Literal(start), sql.Literal(end)
            )
        )
