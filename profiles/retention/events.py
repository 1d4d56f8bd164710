"""Events past their retention: the raw events' month partitions dropped where a whole
month has expired, resolved events (with their raw copies) deleted in batches otherwise.

Raw events (integrations_event) are partitioned by month of receipt. A month goes whole
(DETACH PARTITION, then DROP TABLE: a catalogue change, seconds for any size) once it
ended longer ago than the default and the rules of the sources with rows there (one probe
of the (source, received_at) index each), plus RETENTION_EVENT_TIME_MARGIN_DAYS for events
whose time is later than their receipt. Events a longer rule for their name keeps (orders
kept for the tax years) are first moved out of the detached month into DEFAULT (one scan
of the month, an insert of those rows), where their rule removes them later.

Resolved events (profiles_profileevent: segments, computed traits and the timeline read
them) are not partitioned: their primary key is the event id, and partitioning by time
would put the time into every key and every reader's join. They are deleted by event time,
one event name at a time down the (name, timestamp) index, each batch in its own
transaction with the raw copies of the same events (by id, in their month's partition).
In a month that stays because a longer rule applies to one of its sources, the rows of
each other source past its own rule (but for the names kept longer) go in batches down the
(source, received_at) index, those that never resolved included. Otherwise a raw event
that never resolved (unresolved, quarantined) goes with its month partition.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from psycopg import sql

from cdp_site.partitions import (
    MONTH_NAME,
    existing_partitions,
    lock_and_connect,
    maintenance,
    month_start,
)

from .rules import Rules, months_before

logger = logging.getLogger(__name__)

RAW = "integrations_event"
RAW_DEFAULT = "integrations_event_default"
COUNT_CAP = 1_000_000  # the preview counts up to this many rows per name, then says "at least"


def margin() -> timedelta:
    return timedelta(days=settings.RETENTION_EVENT_TIME_MARGIN_DAYS)


def batch_size() -> int:
    return settings.RETENTION_BATCH_SIZE


@dataclass(frozen=True)
class Month:
    name: str
    start: datetime
    end: datetime


def months() -> list[Month]:
    """The raw table's month partitions, oldest first (DEFAULT is not one)."""
    found = []
    for name in existing_partitions(RAW):
        match = MONTH_NAME.fullmatch(name.removeprefix(RAW))
        if match:
            start = datetime(int(match["year"]), int(match["month"]), 1, tzinfo=UTC)
            found.append(Month(name, start, month_start(start.date(), 1)))
    return sorted(found, key=lambda m: m.start)


def _sources_in(month: Month, sources: set[int]) -> set[int]:
    """Which of ``sources`` have rows in ``month`` (one index probe each)."""
    present = set()
    with connection.cursor() as cursor:
        for source in sorted(sources):
            cursor.execute(
                sql.SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE source_id = %s)")
                .format(sql.Identifier(month.name))
                .as_string(connection.connection),
                [source],
            )
            if cursor.fetchone()[0]:
                present.add(source)
    return present


@dataclass(frozen=True)
class Expired:
    """A month past ``keep_months`` (its longest rule without an event name) that goes
    whole, but for the events of ``names`` (any source) and ``pairs`` (source, name),
    whose rules keep them longer: those are moved to DEFAULT first."""

    month: Month
    keep_months: int
    names: list[str]
    pairs: list[tuple[int, str]]


def _gone(month: Month, now: datetime) -> Callable[[int], bool]:
    """Whether a rule of so many months has expired every row of ``month``."""
    return lambda months: month.end + margin() <= months_before(now, months)


def expired_months(rules: Rules, now: datetime) -> list[Expired]:
    """The month partitions past the rules without an event name that apply to them (the
    default, and the rules of the sources with rows there)."""
    found = []
    for month in months():
        gone = _gone(month, now)
        if not gone(rules.shortest()):
            break  # later months are younger still
        base = rules.base(_sources_in(month, set(rules.by_source)))
        if gone(base):
            found.append(Expired(month, base, *rules.keepers(gone)))
    return found


SOURCES = """
WITH RECURSIVE s(id) AS (
    SELECT min(source_id) FROM {t}
    UNION ALL
    SELECT (SELECT min(source_id) FROM {t} WHERE source_id > s.id) FROM s WHERE s.id IS NOT NULL
)
SELECT id FROM s WHERE id IS NOT NULL
"""


def sources_of(month: Month) -> list[int]:
    """The sources with rows in ``month``, read by skipping down its (source_id,
    received_at) index."""
    statement = sql.SQL(SOURCES).format(t=sql.Identifier(month.name))
    with connection.cursor() as cursor:
        cursor.execute(statement.as_string(connection.connection))
        return [row[0] for row in cursor.fetchall()]


@dataclass(frozen=True)
class SourceRows:
    """``source``'s rows in a month that stays, past the source's rule, but for the events
    of ``names`` whose rules keep them longer."""

    month: Month
    source: int
    names: list[str]


def expired_sources(rules: Rules, now: datetime, kept: set[str]) -> list[SourceRows]:
    """In the months that stay (``kept``: a longer rule of a source with rows there keeps
    them), the other sources' rows past their own rule: deleted in batches, those that
    never resolved included."""
    found = []
    for month in months():
        gone = _gone(month, now)
        if not gone(rules.shortest()):
            break
        if month.name not in kept:
            continue
        for source in sources_of(month):
            if gone(rules.by_source.get(source, rules.default)):
                names, pairs = rules.keepers(gone)
                names += [n for s, n in pairs if s == source]
                found.append(SourceRows(month, source, sorted(names)))
    return found


# A source's rows, but for the kept names' (event is NULL for identify, page and such).
SOURCE_BATCH = (
    "DELETE FROM {t} WHERE id IN (SELECT id FROM {t} WHERE source_id = %s "
    "AND (event IS NULL OR NOT event = ANY(%s)) LIMIT %s)"
)
SOURCE_COUNT = (
    "SELECT count(*) FROM (SELECT 1 FROM {t} WHERE source_id = %s "
    "AND (event IS NULL OR NOT event = ANY(%s)) LIMIT %s) c"
)


def count_source(rows: SourceRows) -> int:
    statement = sql.SQL(SOURCE_COUNT).format(t=sql.Identifier(rows.month.name))
    with connection.cursor() as cursor:
        params = [rows.source, rows.names, COUNT_CAP]
        cursor.execute(statement.as_string(connection.connection), params)
        return cursor.fetchone()[0]


def delete_source(rows: SourceRows) -> int:
    """The rows, a batch per transaction down the source index."""
    statement = sql.SQL(SOURCE_BATCH).format(t=sql.Identifier(rows.month.name))
    statement, deleted = statement.as_string(connection.connection), 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [rows.source, rows.names, batch_size()])
            deleted += cursor.rowcount
            if cursor.rowcount < batch_size():
                return deleted


def estimated_rows(table: str) -> int:
    """The planner's row estimate (pg_class.reltuples): exact counting a month of events
    would take as long as deleting it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT GREATEST(reltuples, 0)::bigint FROM pg_class WHERE oid = %s::regclass", [table]
        )
        return cursor.fetchone()[0]


# Rows that hang off raw events by id: unprocessed events' inbox rows and the record of
# events that did not resolve. Event ids come from one sequence in order of receipt, so a
# month's ids lie in [lo, hi]; rows there whose event is gone after the detach go too.
DELETE_HANGING = """
DELETE FROM {} h WHERE h.event_id BETWEEN %s AND %s
AND NOT EXISTS (SELECT 1 FROM integrations_event e WHERE e.id = h.event_id)
"""
HANGING = {"inbox": "integrations_eventinbox", "unresolved": "profiles_unresolvedevent"}
# The rows a longer rule keeps, into DEFAULT (the month's range has no partition now).
MOVE_KEPT = """
INSERT INTO integrations_event SELECT * FROM {} d
WHERE d.event = ANY(%s)
   OR (d.source_id, d.event) IN (SELECT * FROM unnest(%s::bigint[], %s::text[]))
"""


@transaction.atomic
def drop_month(expired: Expired) -> dict[str, int]:
    """Detaches the month, moves the rows longer rules keep into DEFAULT, drops it, and
    deletes the inbox and unresolved rows of the events that went; returns the rows
    that went (the partition's estimate less those moved)."""
    raw = lock_and_connect()
    name = expired.month.name
    rows, table = estimated_rows(name), sql.Identifier(name)
    with raw.cursor() as cursor:
        # DETACH waits for the parent's lock behind inserts in flight, and new inserts then
        # wait behind it: give up after a while rather than hold ingestion up (the step
        # fails, tomorrow's run tries again).
        cursor.execute("SET LOCAL lock_timeout = '10s'")
        cursor.execute(sql.SQL("SELECT min(id), max(id) FROM {}").format(table))
        lo, hi = cursor.fetchone()
        with maintenance(cursor):
            cursor.execute(
                sql.SQL("ALTER TABLE {} DETACH PARTITION {}").format(sql.Identifier(RAW), table)
            )
            moved = _move_kept(cursor, table, expired)
            cursor.execute(sql.SQL("DROP TABLE {}").format(table))
        counts = {"raw_partitions": max(rows - moved, 0), "raw_kept_in_default": moved}
        for key, hanging in HANGING.items():
            counts[key] = 0
            if lo is not None:
                cursor.execute(sql.SQL(DELETE_HANGING).format(sql.Identifier(hanging)), [lo, hi])
                counts[key] = cursor.rowcount
    return counts


def _move_kept(cursor, table: sql.Identifier, expired: Expired) -> int:
    if not expired.names and not expired.pairs:
        return 0
    sources = [s for s, _ in expired.pairs]
    names = [n for _, n in expired.pairs]
    cursor.execute(sql.SQL(MOVE_KEPT).format(table), [expired.names, sources, names])
    return cursor.rowcount


# Raw rows in DEFAULT (a month with no partition) as old as a droppable month.
DEFAULT_BATCH = sql.SQL(
    "DELETE FROM {t} WHERE id IN (SELECT id FROM {t} WHERE received_at < %s LIMIT %s)"
).format(t=sql.Identifier(RAW_DEFAULT))
DEFAULT_COUNT = sql.SQL("SELECT count(*) FROM {t} WHERE received_at < %s").format(
    t=sql.Identifier(RAW_DEFAULT)
)


def default_boundary(rules: Rules, now: datetime) -> datetime:
    return months_before(now, rules.longest()) - margin()


def count_default(rules: Rules, now: datetime) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            DEFAULT_COUNT.as_string(connection.connection), [default_boundary(rules, now)]
        )
        return cursor.fetchone()[0]


def sweep_default(rules: Rules, now: datetime) -> dict[str, int]:
    """DEFAULT's rows as old as a droppable month, and the inbox rows of events that old
    (their raw event is gone: processing them would fail)."""
    boundary, deleted = default_boundary(rules, now), 0
    statement = DEFAULT_BATCH.as_string(connection.connection)
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [boundary, batch_size()])
            deleted += cursor.rowcount
            if cursor.rowcount < batch_size():
                break
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM integrations_eventinbox WHERE received_at < %s", [boundary])
        return {"raw_default": deleted, "inbox": cursor.rowcount}


# Resolved events --------------------------------------------------------------------------

NAMES = """
WITH RECURSIVE n(name) AS (
    SELECT min(name) FROM profiles_profileevent
    UNION ALL
    SELECT (SELECT min(name) FROM profiles_profileevent WHERE name > n.name)
    FROM n WHERE n.name IS NOT NULL
)
SELECT name FROM n WHERE name IS NOT NULL
"""


def event_names() -> list[str]:
    """The resolved events' names, read by skipping down the (name, timestamp) index."""
    with connection.cursor() as cursor:
        cursor.execute(NAMES)
        return [row[0] for row in cursor.fetchall()]


@dataclass(frozen=True)
class NameCut:
    """Events named ``name`` go before ``other`` from most sources, before ``special``'s
    time from those it names."""

    name: str
    other: datetime
    special: dict[int, datetime]

    @property
    def widest(self) -> datetime:
        return max([self.other, *self.special.values()])

    def where(self) -> tuple[sql.Composable, list]:
        """The condition on a resolved event (alias e) and its parameters."""
        params: list = [self.name, self.widest]
        condition = sql.SQL("e.name = %s AND e.timestamp < %s")
        if self.special:
            whens = sql.SQL(" ").join(sql.SQL("WHEN %s THEN %s::timestamptz") for _ in self.special)
            condition += sql.SQL(" AND e.timestamp < CASE e.source_id {} ELSE %s END").format(whens)
            for source, cut in sorted(self.special.items()):
                params += [source, cut]
            params.append(self.other)
        return condition, params


def name_cuts(rules: Rules, now: datetime) -> list[NameCut]:
    cuts = []
    for name in event_names():
        special, other = rules.for_name(name)
        cuts.append(
            NameCut(
                name=name,
                other=months_before(now, other),
                special={s: months_before(now, m) for s, m in special.items()},
            )
        )
    return cuts


def count_expired(cut: NameCut) -> int:
    """Resolved events of ``cut`` past their time, counted up to COUNT_CAP."""
    condition, params = cut.where()
    statement = sql.SQL(
        "SELECT count(*) FROM (SELECT 1 FROM profiles_profileevent e WHERE {} LIMIT %s) t"
    ).format(condition)
    with connection.cursor() as cursor:
        cursor.execute(statement.as_string(connection.connection), [*params, COUNT_CAP])
        return cursor.fetchone()[0]


# A batch read as plain integers (the event id, the month of receipt as year * 12 + month
# - 1, the event time in microseconds since 1970 for the next batch's start): turning
# thousands of timestamps into Python datetimes cost more than the deletes themselves.
PICK = """
SELECT e.event_id,
       (extract(year FROM e.received_at AT TIME ZONE 'UTC') * 12
        + extract(month FROM e.received_at AT TIME ZONE 'UTC') - 1)::int,
       (extract(epoch FROM e.timestamp) * 1000000)::bigint
FROM profiles_profileevent e
WHERE {} AND e.timestamp >= timestamptz 'epoch' + %s * interval '1 microsecond'
ORDER BY e.timestamp LIMIT %s
"""
YEAR_ONE = -62_135_596_800_000_000  # 0001-01-01 in microseconds since 1970


def delete_expired(cut: NameCut) -> dict[str, int]:
    """Deletes ``cut``'s expired resolved events and their raw copies, a batch at a time
    (each its own transaction, so a stop keeps what is done and the next run goes on)."""
    condition, params = cut.where()
    pick = sql.SQL(PICK).format(condition).as_string(connection.connection)
    after, done = YEAR_ONE, {"resolved": 0, "raw": 0}
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(pick, [*params, after, batch_size()])
            batch = cursor.fetchall()
            if not batch:
                return done
            done["raw"] += _delete_raw_copies(cursor, batch)
            cursor.execute(
                "DELETE FROM profiles_profileevent WHERE event_id = ANY(%s)",
                [[row[0] for row in batch]],
            )
            done["resolved"] += cursor.rowcount
        after = batch[-1][2]
        if len(batch) < batch_size():
            return done


def _delete_raw_copies(cursor, batch) -> int:
    """The raw rows of a batch's events, month by month (each DELETE pruned to one
    partition, or to DEFAULT)."""
    by_month: dict[int, list[int]] = {}
    for event_id, month, _ in batch:
        by_month.setdefault(month, []).append(event_id)
    deleted = 0
    for month, ids in by_month.items():
        start = datetime(month // 12, month % 12 + 1, 1, tzinfo=UTC)
        cursor.execute(
            "DELETE FROM integrations_event WHERE id = ANY(%s) "
            "AND received_at >= %s AND received_at < %s",
            [ids, start, month_start(start.date(), 1)],
        )
        deleted += cursor.rowcount
    return deleted
