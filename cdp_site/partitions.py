"""Range partitions created ahead of time, for every partitioned table of the platform
(the raw events by month, client sources' dedupe keys by week, the audit trail by month).

A table's DEFAULT partition catches rows no partition covers (say the beat was down over
a month change); creating that partition later moves its rows out of DEFAULT first, since
PostgreSQL refuses to create a partition whose rows already sit in DEFAULT. The move is a
DELETE ... INSERT made with ``cdp.partition_maintenance`` set for the transaction, which
is what lets it through the audit trail's append-only trigger (cdp_site/audit.py).
"""

import re
from contextlib import contextmanager
from datetime import UTC, date, datetime

from django.db import connection
from psycopg import sql

LOCK_ID = 0x43445045  # advisory lock: one partition maintainer at a time
MONTH_NAME = re.compile(r"_y(?P<year>\d{4})m(?P<month>\d{2})")  # month_partition_name's


def month_start(day: date, offset: int) -> datetime:
    """The first instant (UTC) of the month ``offset`` months from ``day``'s."""
    month = day.month - 1 + offset
    return datetime(day.year + month // 12, month % 12 + 1, 1, tzinfo=UTC)


def month_partition_name(parent: str, start: datetime) -> str:
    return f"{parent}_y{start.year:04d}m{start.month:02d}"


def lock_and_connect():
    """The psycopg connection (for sql.Composed statements), with the maintainers' lock
    held to the end of the caller's transaction."""
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_ID])
    return connection.connection


def existing_partitions(parent: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [parent],
        )
        return {row[0] for row in cursor.fetchall()}


def ensure_months(*, parent: str, column: str, months_ahead: int, today: date) -> list[str]:
    """Creates ``parent``'s month partitions from ``today``'s month to ``months_ahead`` on
    (its DEFAULT is ``<parent>_default``); returns the new ones. Call in a transaction."""
    raw = lock_and_connect()
    have = existing_partitions(parent)
    created = []
    for offset in range(months_ahead + 1):
        start, end = month_start(today, offset), month_start(today, offset + 1)
        name = month_partition_name(parent, start)
        if name not in have:
            create(raw, name=name, start=start, end=end, parent=parent, column=column)
            created.append(name)
    return created


def drop_months_before(*, parent: str, cutoff: datetime) -> list[str]:
    """Drops ``parent``'s month partitions that end on or before ``cutoff`` (a month's
    first instant): a retention that costs a catalogue change, not a long DELETE. Call
    in a transaction."""
    raw = lock_and_connect()
    prefix = f"{parent}_y"
    dropped = []
    for name in sorted(existing_partitions(parent)):
        stamp = name.removeprefix(prefix)
        if (
            name == stamp
            or len(stamp) != 7
            or stamp[4] != "m"
            or not stamp.replace("m", "").isdigit()
        ):
            continue  # DEFAULT, or a name this module did not give
        start = datetime(int(stamp[:4]), int(stamp[5:]), 1, tzinfo=UTC)
        if month_start(start.date(), 1) <= cutoff:
            with raw.cursor() as cursor:
                cursor.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))
            dropped.append(name)
    return dropped


@contextmanager
def maintenance(cursor):
    """Statements run as partition maintenance: the one DELETE the audit trail's
    append-only trigger lets through (the setting lasts to the end of the transaction at
    most, and is cleared after the block)."""
    cursor.execute("SELECT set_config('cdp.partition_maintenance', 'on', true)")
    yield
    cursor.execute("SELECT set_config('cdp.partition_maintenance', '', true)")


def create(raw, *, name: str, start, end, parent: str, column: str) -> None:
    """The partition ``name`` of ``parent`` for [start, end), the rows DEFAULT holds for
    that range moved into it."""
    default = f"{parent}_default"
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
        with maintenance(cursor):
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
