"""Monthly partitions of the events table and weekly ones of client sources' dedupe
keys, created ahead of time (and the keys' dropped once past their window).

The DEFAULT partition catches rows no partition covers (say the beat was down over a
month change); creating that partition later moves its rows out of DEFAULT first,
since PostgreSQL refuses to create a partition whose rows already sit in DEFAULT.
"""

from datetime import UTC, date, datetime

from django.db import connection, transaction
from django.utils import timezone
from psycopg import sql

PARENT = "integrations_event"
DEFAULT = "integrations_event_default"
LOCK_ID = 0x43445045  # advisory lock: one partition maintainer at a time
KEYS = "integrations_recentmessageid"
KEYS_DEFAULT = "integrations_recentmessageid_default"
WEEK_SECONDS = 7 * 24 * 3600


def week_of(moment: datetime) -> int:
    """Weeks since 1970-01-01 (a Thursday), the partition key of the dedupe keys."""
    return int(moment.timestamp() // WEEK_SECONDS)


def _month_start(day: date, offset: int) -> datetime:
    month = day.month - 1 + offset
    return datetime(day.year + month // 12, month % 12 + 1, 1, tzinfo=UTC)


def partition_name(start: datetime) -> str:
    return f"{PARENT}_y{start.year:04d}m{start.month:02d}"


def existing_partitions(parent: str = PARENT) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [parent],
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


@transaction.atomic
def ensure_message_id_partitions(*, now: datetime | None = None) -> dict[str, list[str]]:
    """Client sources' dedupe keys: this week's and the next two weeks' partitions exist,
    last week's is kept (messages are checked against it), older ones are dropped, and
    stray keys older than that leave DEFAULT. Returns {"created": ..., "dropped": ...}."""
    week = week_of(now or timezone.now())
    connection.ensure_connection()
    raw = connection.connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_ID])
    have = existing_partitions(KEYS)
    created, dropped = [], []
    for w in range(week - 1, week + 3):
        name = f"{KEYS}_w{w}"
        if name not in have:
            _create(
                raw, name=name, start=w, end=w + 1, parent=KEYS, default=KEYS_DEFAULT, column="week"
            )
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


def _create(
    raw, *, name: str, start, end, parent=PARENT, default=DEFAULT, column="received_at"
) -> None:
    parent, default, table, column = map(sql.Identifier, (parent, default, name, column))
    bounds = {"start": start, "end": end}
    with raw.cursor() as cursor:
        cursor.execute(
            sql.SQL(
                "SELECT EXISTS (SELECT 1 FROM {} WHERE {} >= %(start)s AND {} < %(end)s)"
            ).format(default, column, column),
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
                "WITH moved AS (DELETE FROM {} WHERE {} >= %(start)s AND {} < %(end)s "
                "RETURNING *) INSERT INTO {} SELECT * FROM moved"
            ).format(default, column, column, table),
            bounds,
        )
        cursor.execute(
            sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})").format(
                parent, table, sql.Literal(start), sql.Literal(end)
            )
        )
