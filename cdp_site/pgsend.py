"""A statement sent to PostgreSQL now and its result read later.

The sender of e-mails marks each message as being sent, and waits for that mark to be
committed, before the message goes out (at most once, see ``campaigns.delivery``). The
commit is a wait on the disk, and the SMTP exchange before the message's data (the
envelope: MAIL FROM, RCPT TO) is a wait on the mail server; with the statement sent first
and its result read after the envelope, the two waits overlap instead of adding up.

Django has no API for this, so it goes through the psycopg connection under Django's
(libpq's send/fetch, as psycopg itself does). What that skips of Django: query logging and
execute wrappers. Errors are Django's database errors, as from a cursor. Nothing else
may use the connection until ``rows()`` has been called: a statement left unread is
read (and its error raised) by ``rows()`` alone, so every path must call it.

A statement sent many times (one per e-mail) can be given a ``name``: it is prepared once
per connection and then only executed (the mark: about a third less database CPU). (A
pooler that resets sessions between transactions would drop it; we connect directly.)
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from psycopg import errors, generators, pq

Param = str | int | datetime | list[int] | list[str] | None


class SentStatement:
    """``sql`` (with ``$1`` … placeholders) sent with ``params``; ``rows()`` waits for its
    result (text values) and may be called any number of times (a failed statement
    raises its error each time)."""

    def __init__(self, sql: str, params: list[Param], *, name: str = ""):
        connection.ensure_connection()
        self._raw = connection.connection
        self._rows: list[tuple] | None = None
        self._error: Exception | None = None
        values = [_text(p) for p in params]
        with connection.wrap_database_errors:
            pgconn = self._raw.pgconn
            if name:
                _prepare(self._raw, name, sql)
                pgconn.send_query_prepared(name.encode(), values)
            else:
                pgconn.send_query_params(sql.encode(), values)
            self._raw.wait(generators.send(pgconn))

    def rows(self) -> list[tuple[str | None, ...]]:
        if self._error is not None:
            raise self._error
        if self._rows is None:
            try:
                with connection.wrap_database_errors:
                    results = self._raw.wait(generators.fetch_many(self._raw.pgconn))
                    self._rows = _rows(results, encoding=self._raw.info.encoding)
            except Exception as error:
                self._error = error
                raise
        return self._rows


def _prepare(raw, name: str, sql: str) -> None:
    """Prepares ``sql`` as ``name`` once per connection (planned once, not per call)."""
    prepared = raw.__dict__.setdefault("_cdp_prepared", set())
    if name not in prepared:
        result = raw.pgconn.prepare(name.encode(), sql.encode())
        if result.status == pq.ExecStatus.FATAL_ERROR:
            raise errors.error_from_result(result, encoding=raw.info.encoding)
        prepared.add(name)


def _text(value: Param) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat().encode()
    if isinstance(value, list) and value and isinstance(value[0], str):
        return ("{" + ",".join(_quoted(v) for v in value) + "}").encode()
    if isinstance(value, list):
        return ("{" + ",".join(str(int(v)) for v in value) + "}").encode()
    return str(value).encode()


def _quoted(text: str) -> str:
    """One element of a text array literal: quoted, its quotes and backslashes escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _rows(results, *, encoding: str) -> list[tuple]:
    rows: list[tuple] = []
    for result in results:
        if result.status == pq.ExecStatus.FATAL_ERROR:
            raise errors.error_from_result(result, encoding=encoding)
        for row in range(result.ntuples):
            rows.append(
                tuple(
                    None if (v := result.get_value(row, col)) is None else v.decode(encoding)
                    for col in range(result.nfields)
                )
            )
    return rows
