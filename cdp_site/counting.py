"""Counting rows on large tables without paying for a full count on each request.

``time_limit`` runs a block of queries under a statement timeout (a live count in the
segment builder, the count API, the bounded counts below);
``bounded_count`` counts at most ``cap`` rows of a query under a statement timeout;
``estimated_rows`` reads PostgreSQL's own estimate of a table's size (``pg_class``,
summed over the partitions of a partitioned table). Pages say which one they show
(``Count.how``). Apps use these for their list totals and dashboard tiles.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import DatabaseError, OperationalError, connection, transaction

CAP = 10_000
TIMEOUT_MS = 500


@dataclass(frozen=True)
class Count:
    """``value`` rows, ``how``: "exact", "at_least" (the count stopped at ``value``),
    "estimate" (table statistics) or "unknown" (counting took too long)."""

    value: int | None
    how: str

    @property
    def exact(self) -> bool:
        return self.how == "exact"


class TimeLimitExceeded(Exception):
    """The queries of a ``time_limit`` block ran past its limit (and were rolled back)."""


@contextmanager
def time_limit(milliseconds: int) -> Iterator[None]:
    """Runs the block's queries in a savepoint under ``statement_timeout``; a query that
    runs longer is cancelled by PostgreSQL and the block raises ``TimeLimitExceeded``.

    The caller's own timeout is put back afterwards: SET LOCAL outlives a released
    savepoint, and the caller's transaction (a request, a test) must not keep this one.
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            (previous,) = cursor.fetchone()
            cursor.execute("SET LOCAL statement_timeout = %s", [milliseconds])
        try:
            yield
        except OperationalError as error:
            if "statement timeout" in str(error):
                raise TimeLimitExceeded() from error
            raise
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", [previous])


def bounded_count(queryset, *, cap: int = CAP, timeout_ms: int = TIMEOUT_MS) -> Count:
    """The exact number of rows up to ``cap``; "at least cap" beyond it; "unknown" when
    even that takes longer than ``timeout_ms``."""
    try:
        with time_limit(timeout_ms):
            found = queryset.order_by().values("pk")[: cap + 1].count()
    except (TimeLimitExceeded, DatabaseError):
        return Count(None, "unknown")
    return Count(cap, "at_least") if found > cap else Count(found, "exact")


ESTIMATE_SQL = """
SELECT coalesce(sum(c.reltuples) FILTER (WHERE c.reltuples >= 0), 0)::bigint,
       bool_or(c.reltuples >= 0)
FROM pg_class c
WHERE c.oid = to_regclass(%(table)s)
   OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = to_regclass(%(table)s))
"""


def estimated_rows(table: str) -> int | None:
    """PostgreSQL's estimate of the rows of ``table`` (and its partitions), as of its
    last ANALYZE; None when it was never analysed."""
    with connection.cursor() as cursor:
        cursor.execute(ESTIMATE_SQL, {"table": table})
        total, analysed = cursor.fetchone()
    return int(total) if analysed else None


def count_rows(queryset, *, table: str, cap: int = CAP) -> Count:
    """The size of ``table`` (``queryset``: all its rows, or nearly all, e.g. the active
    profiles) for a page: the table's estimate when it says more than ``cap`` (no rows
    read), else an exact count bounded by ``cap``."""
    estimate = estimated_rows(table)
    if estimate is not None and estimate > cap:
        return Count(estimate, "estimate")
    return bounded_count(queryset, cap=cap)
