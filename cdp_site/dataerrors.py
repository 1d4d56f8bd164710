"""Which failures a bad record causes, and which the system itself causes.

Shared loops (a processing batch, an outbox cursor, a sync) set a record aside only when
the record is to blame; a failure of the database or the machine is retried instead,
because setting records aside for it would quarantine good data by the thousand.

PostgreSQL says which is which in the SQLSTATE's class, not in the Python class psycopg
maps it to: a value too long for an index ("program limit exceeded", class 54) and a
lost connection are both an OperationalError.
"""

from __future__ import annotations

import psycopg
from django.db import Error as DjangoDatabaseError

# Classes of SQLSTATE that a value in the data can cause: data exceptions (22: a cast that
# fails, a number out of range, a string too long), integrity violations (23) and program
# limits (54: an index row too large, too many columns in an expression).
DATA_SQLSTATE_CLASSES = frozenset({"22", "23", "54"})


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error, through Django's wrapping; None for others."""
    seen = 0
    while exc is not None and seen < 5:
        state = getattr(exc, "sqlstate", None)
        if state:
            return state
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


def _is_database_error(exc: BaseException) -> bool:

    return isinstance(exc, DjangoDatabaseError | psycopg.Error)


def _is_time_limit(exc: BaseException) -> bool:
    # Celery's soft time limit is an Exception raised anywhere in the task: the task ran
    # too long, which says nothing about one record.
    return type(exc).__name__ in {"SoftTimeLimitExceeded", "TimeLimitExceeded"}


def is_data_error(exc: BaseException) -> bool:
    """True when the failure comes from the data being processed, not from the system.

    Database errors count only with a data SQLSTATE; a database error without one (a
    closed connection) or with another (serialization failure, deadlock, statement
    timeout, shutdown, a bug in our SQL) is the system's. Python errors raised while
    handling a record (a ValueError on a strange value, a TypeError on an unexpected
    shape) are the data's.
    """
    if not isinstance(exc, Exception) or _is_time_limit(exc):
        return False
    if isinstance(exc, MemoryError):
        return False
    state = sqlstate(exc)
    if state is not None:
        return state[:2] in DATA_SQLSTATE_CLASSES
    return not _is_database_error(exc)


# Classes of SQLSTATE that say the database or the machine failed, whatever the query:
# connection (08), transaction rollback (40: serialization failure, deadlock), resources
# (53), operator intervention (57, but for 57014, a statement timeout), system (58, XX).
SYSTEM_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57", "58", "XX"})
QUERY_CANCELED = "57014"


def is_system_error(exc: BaseException) -> bool:
    """True when the database or the machine failed, so that any work would have: the
    caller retries. False for a failure of one piece of work (a bad value, a query of
    its own that is wrong or too slow), which the caller sets aside and goes on."""
    if not isinstance(exc, Exception) or _is_time_limit(exc) or isinstance(exc, MemoryError):
        return True
    state = sqlstate(exc)
    if state is not None:
        return state[:2] in SYSTEM_SQLSTATE_CLASSES and state != QUERY_CANCELED
    return _is_database_error(exc)


def describe(exc: BaseException, *, limit: int = 2000) -> str:
    """One line for people: the exception's class, SQLSTATE when there is one, message."""
    state = sqlstate(exc)
    message = " ".join(str(exc).split()) or type(exc).__name__
    head = f"{type(exc).__name__}" + (f" [{state}]" if state else "")
    return f"{head}: {message}"[:limit]
