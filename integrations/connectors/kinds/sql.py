"""SQL database (PostgreSQL, MySQL, MariaDB): rows of a table or of a read-only query, for
ERP and point-of-sale databases.

The base URL names the server and database, ``postgresql://host:5432/database`` or
``mysql://host:3306/database`` (``mariadb://`` too): its scheme picks the dialect
(``sql_postgres.py``, ``sql_mysql.py``; what they share is in ``sql_session.py``). The
settings name the user, the table (``schema.table``) or a query (one SELECT), the key
column and the incremental column; the password is a secret (or a whole connection URL,
which must name the same server). Sessions are read-only with a statement timeout, names
typed by the admin are always quoted identifiers, and values always go as parameters.

Reading is keyset paging on (incremental column, key):

    SELECT * FROM <table, or (<query>) q> WHERE (col, key) > (%s, %s)
    ORDER BY col, key LIMIT <page size>

(each dialect writes the row comparison its own way).

Cursor: ``{"since": <the newest incremental value of the last complete pass>, "kind":
"time"|"number"|"text", "column": <the incremental column>}`` between runs (another column
starts over), plus ``last`` (the (col, key) of the last row read) within a pass. A new
pass starts at ``since`` minus the overlap window (minutes for a date/time column, values
for a growing id): a transaction that committed late can have written rows older than
``since``; rows read twice get the same message id and are stored once, a row changed
since gets a new one. When the incremental column is the key itself (a growing id), pages
are on the key alone and each row is one message.

Remaining rows (the run page's ETA): once a pass, after its first page when that page is
full, ``SELECT COUNT(*)`` with the same condition, in a session of its own with a short
timeout (COUNT_TIMEOUT); if it takes longer or fails, the run shows no ETA and goes on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from ..base import ConnectorError, Field, Kind, Page, Stream
from . import sql_mysql, sql_postgres
from . import sql_session as db

DIALECTS = {s: d for d in (sql_postgres.DIALECT, sql_mysql.DIALECT) for s in d.schemes}
PAGE_SIZES = (100, 20_000)
COUNT_TIMEOUT = 5  # seconds: an ETA is not worth a slow count
SSLMODE_CHOICES = tuple((m, m) for m in db.SSLMODES)


@dataclass(frozen=True)
class Spec:
    dialect: db.Dialect
    source: str  # the table, or the query as a subquery
    what: str  # how messages name it: 'the table "public.orders"', "the query"
    key: str
    column: str  # the incremental column; the key itself when paging on the key alone
    page_size: int
    overlap_minutes: int
    overlap_ids: int
    timeout: float

    @property
    def single(self) -> bool:
        return self.column == self.key


def _int(config: dict, name: str) -> int:
    value = config.get(name)
    if value in (None, ""):
        value = next(f.default for f in KIND.config if f.name == name)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ConnectorError(f"{name} must be a whole number.", code="config") from None


def _table(name: str) -> list[str] | None:
    parts = [p.strip() for p in str(name).split(".")]
    return parts if len(parts) <= 2 and all(parts) else None


def dialect_of(base_url: str) -> db.Dialect:
    try:
        scheme = urlsplit(base_url.strip()).scheme.lower()
    except ValueError:
        scheme = ""
    if scheme not in DIALECTS:
        raise db.config_error(
            "The base URL must name the server and database: postgresql://host:5432/database "
            "or mysql://host:3306/database."
        )
    return DIALECTS[scheme]


def spec_of(base_url: str, config: dict) -> Spec:
    problems = validate(config)
    if problems:
        field, message = next(iter(problems.items()))
        raise ConnectorError(f"{field}: {message}", code="config")
    dialect = dialect_of(base_url)
    key = config["key_column"].strip()
    column = (config.get("cursor_column") or "").strip() or key
    if (config.get("table") or "").strip():
        parts = _table(config["table"])
        source = ".".join(_quote(dialect, part) for part in parts)
        what = f"the table {'.'.join(parts)!r}"
    else:
        source, what = f"(\n{db.query_text(config['query'])}\n) AS q", "the query"
    return Spec(
        dialect=dialect,
        source=source,
        what=what,
        key=key,
        column=column,
        page_size=_int(config, "page_size"),
        overlap_minutes=_int(config, "overlap_minutes"),
        overlap_ids=_int(config, "overlap_ids"),
        timeout=float(_int(config, "statement_timeout")),
    )


def validate(config: dict) -> dict[str, str]:
    """Errors by setting, before anything is saved or read."""
    errors: dict[str, str] = {}
    table, query = (config.get("table") or "").strip(), (config.get("query") or "").strip()
    if bool(table) == bool(query):
        errors["table"] = "Name a table, or write a query in its place (one of the two)."
    elif table and _table(table) is None:
        errors["table"] = "A table name, or schema.table."
    elif query:
        problem = db.select_problem(query)
        if problem:
            errors["query"] = problem
    if not (config.get("key_column") or "").strip():
        errors["key_column"] = "Required: the column that identifies a row."
    for name, low, high in (
        ("page_size", *PAGE_SIZES),
        ("overlap_minutes", 0, 7 * 24 * 60),
        ("overlap_ids", 0, 10_000_000),
        ("statement_timeout", 1, 3600),
    ):
        value = config.get(name)
        if value in (None, ""):
            continue
        try:
            ok = low <= int(value) <= high
        except (TypeError, ValueError):
            ok = False
        if not ok:
            errors[name] = f"A whole number from {low:,} to {high:,}."
    if (config.get("sslmode") or "prefer") not in db.SSLMODES:
        errors["sslmode"] = f"One of {', '.join(db.SSLMODES)}."
    return errors


def _path(column: str) -> str:
    return f"$.{column}" if re.fullmatch(r"[A-Za-z_][\w$@-]*", column) else f"$['{column}']"


def configure_stream(config: dict, stream: Stream) -> Stream:
    """Message ids rest on the key and, when it is not the key, the incremental column."""
    key = (config.get("key_column") or "").strip()
    if not key or "'" in key:
        return stream
    column = (config.get("cursor_column") or "").strip() or key
    updated = "" if column == key or "'" in column else _path(column)
    return replace(stream, primary_key=_path(key), updated_at=updated)


# --- reading ---------------------------------------------------------------------------


def _quote(dialect: db.Dialect, name: str) -> str:
    # % doubled: statements always go with parameters, and a name is no placeholder.
    return dialect.quote(name).replace("%", "%%")


def _session(reader, spec: Spec) -> db.Session:
    session = spec.dialect.open(
        reader.base_url, reader.config, reader.secrets, timeout=spec.timeout
    )
    if hasattr(reader, "requests"):
        reader.requests += 1
    return session


def _condition(spec: Spec, cursor: dict) -> tuple[str, list]:
    dialect, kind = spec.dialect, cursor.get("kind")
    column, key = _quote(dialect, spec.column), _quote(dialect, spec.key)
    last = cursor.get("last")
    if last is not None and spec.single:
        return f"{key} > %s", [dialect.param(last[0], kind)]
    if last is not None:
        values = [dialect.param(last[0], kind), dialect.param(last[1], "key")]
        return dialect.after(column, key, values)
    lower = _lower_bound(spec, cursor)
    if lower is None:
        return f"{column} IS NOT NULL", []
    return f"{column} >= %s", [dialect.param(lower, kind)]


def _lower_bound(spec: Spec, cursor: dict) -> str | None:
    """Where a new pass starts: the last pass's newest value minus the overlap window."""
    since, kind = cursor.get("since"), cursor.get("kind")
    if since is None:
        return None
    if kind == "time" and spec.overlap_minutes:
        try:
            when = datetime.fromisoformat(str(since))
        except ValueError:
            return str(since)
        return (when - timedelta(minutes=spec.overlap_minutes)).isoformat()
    if kind == "number" and spec.overlap_ids:
        try:
            return str(Decimal(str(since)) - spec.overlap_ids)
        except InvalidOperation:
            return str(since)
    return str(since)


def _statement(spec: Spec, cursor: dict, limit: int) -> tuple[str, list]:
    condition, params = _condition(spec, cursor)
    order = [spec.key] if spec.single else [spec.column, spec.key]
    order_by = ", ".join(_quote(spec.dialect, name) for name in order)
    # Names are quoted identifiers (the dialect's quoting), the admin's query was checked
    # to be one SELECT, and every value is a parameter.
    where = f"WHERE {condition} ORDER BY {order_by} LIMIT {int(limit)}"
    return f"SELECT * FROM {spec.source} {where}", params  # noqa: S608


def _kind_of_column(types: dict[str, str], spec: Spec) -> str:
    """time, number or text: the incremental column's type; ConnectorError when a column
    is missing or the incremental column cannot be one."""
    for label, name in (("key", spec.key), ("incremental", spec.column)):
        if name not in types:
            raise ConnectorError(
                f"{spec.what[0].upper()}{spec.what[1:]} has no {label} column {name!r} "
                f"(its columns: {', '.join(sorted(types))}).",
                code="config",
            )
    name = types[spec.column]
    if name in spec.dialect.time_types:
        return "time"
    if name in spec.dialect.number_types and spec.single:
        return "number"
    if spec.single:
        return "text"
    raise ConnectorError(
        f"The incremental column {spec.column!r} is of type {name or 'unknown'}: it must be "
        "a date or time (an updated-at), or the key column itself (a growing id).",
        code="config",
    )


def _cursor_value(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def _fetch(reader, spec: Spec, cursor: dict) -> tuple[list[dict], str]:
    statement, params = _statement(spec, cursor, spec.page_size)
    with _session(reader, spec) as session:
        columns, rows = session.run(statement, params, spec.what)
    return rows, _kind_of_column(columns, spec)


def _left_after(reader, spec: Spec, cursor: dict, read: int) -> int | None:
    """Rows of this pass still to read after its first ``read``: one COUNT with the same
    condition; None when the database does not answer it within COUNT_TIMEOUT."""
    condition, params = _condition(spec, cursor)
    statement = f"SELECT COUNT(*) AS n FROM {spec.source} WHERE {condition}"  # noqa: S608
    try:
        with _session(reader, replace(spec, timeout=min(spec.timeout, COUNT_TIMEOUT))) as session:
            _, rows = session.run(statement, params, spec.what)
        return max(int(rows[0]["n"]) - read, 0)
    except (ConnectorError, KeyError, IndexError, TypeError, ValueError):
        return None


def read(reader, *, stream: Stream, cursor) -> Page:
    spec, cursor = spec_of(reader.base_url, reader.config), dict(cursor or {})
    if cursor.get("column", spec.column) != spec.column:
        cursor = {}  # the admin chose another incremental column: its values start over
    rows, kind = _fetch(reader, spec, cursor)
    plain, jsonable = db.PLAIN, db.jsonable
    records = [
        {name: value if type(value) in plain else jsonable(value) for name, value in row.items()}
        for row in rows
    ]
    if rows:
        row = rows[-1]
        last = [_cursor_value(row[spec.key])]
        if not spec.single:
            last.insert(0, _cursor_value(row[spec.column]))
    else:
        last = cursor.get("last")
    done = {"since": last[0] if last else cursor.get("since"), "kind": kind, "column": spec.column}
    if len(rows) >= spec.page_size:
        # A pass's first page (no "last" yet): counted once, the sync counts down after.
        left = None if cursor.get("last") else _left_after(reader, spec, cursor, len(rows))
        following = done | {"since": cursor.get("since"), "last": last}
        return Page(records, following, done=False, remaining=left)
    return Page(records, done, done=True)


def check(reader) -> None:
    """Connects, reads no row of the table or query, and finds its columns."""
    spec = spec_of(reader.base_url, reader.config)
    with _session(reader, spec) as session:
        statement = f"SELECT * FROM {spec.source} LIMIT 0"  # noqa: S608 (as in _statement)
        columns, _ = session.run(statement, [], spec.what)
    _kind_of_column(columns, spec)


KIND = Kind(
    key="sql",
    label="SQL database (PostgreSQL, MySQL, MariaDB)",
    source_kind="server",
    default_base_url="postgresql://localhost:5432/postgres",
    help=(
        "Rows of a table or of a query in a PostgreSQL, MySQL or MariaDB database (ERP, "
        "point of sale). Base URL: postgresql://host:5432/database, or "
        "mysql://host:3306/database for MySQL and MariaDB. Give the connector a database "
        "user that can only SELECT: sessions are read-only anyway, with a statement "
        "timeout. An index on (incremental column, key) keeps every page cheap. Rows whose "
        "incremental column is empty are not read (use COALESCE in a query). MySQL and "
        "MariaDB DATETIME values carry no time zone: they are taken as UTC (TIMESTAMP "
        "columns are read in UTC). Binary columns become base64 text."
    ),
    config=(
        Field("user", "Database user", help="A user with SELECT only."),
        Field(
            "sslmode",
            "TLS (sslmode)",
            type="choice",
            default="prefer",
            choices=SSLMODE_CHOICES,
            help="As libpq's, for every database: prefer uses TLS when the server offers "
            "it; require insists on it; verify-ca and verify-full also check the server's "
            "certificate (verify-full: and its host name; MySQL checks it against the "
            "system's CAs).",
        ),
        Field(
            "table",
            "Table",
            help="e.g. public.orders (MySQL: orders, or database.orders); or leave blank "
            "and write a query",
        ),
        Field(
            "query",
            "Query",
            type="textarea",
            help="One SELECT (WITH … SELECT allowed), no final ORDER BY needed: it is read "
            "as a subquery, in pages on the incremental column and the key.",
        ),
        Field("key_column", "Key column", required=True, default="id"),
        Field(
            "cursor_column",
            "Incremental column",
            default="updated_at",
            help="An updated-at column, or the key column itself if rows only ever grow. "
            "With the key, each row is one message however often it changes (what track "
            "calls for orders or sales need); with an updated-at, each change is one.",
        ),
        Field("page_size", "Rows a page", type="int", default=5000),
        Field(
            "overlap_minutes",
            "Overlap window (minutes)",
            type="int",
            default=10,
            help="Each run reads this far back again: a transaction that commits late can "
            "write rows older than the last run's newest. Rows read twice are stored once.",
        ),
        Field(
            "overlap_ids",
            "Overlap window (ids)",
            type="int",
            default=1000,
            help="The same when the key is the incremental column: ids read again.",
        ),
        Field("statement_timeout", "Statement timeout (seconds)", type="int", default=60),
    ),
    secrets=(
        Field("password", "Password"),
        Field(
            "url",
            "Connection URL",
            help="Instead of user and password: postgresql://user:password@host:5432/db "
            "or mysql://user:password@host:3306/db (the same server and database as the "
            "base URL).",
        ),
    ),
    streams=(
        Stream(
            name="rows",
            label="Rows",
            primary_key="$.id",
            updated_at="$.updated_at",
            message_kind="identify",
            rules="userId = $.id\ntraits.email = $.email\ntimestamp = $.updated_at",
            help="Edit the mapping to the table's columns; track calls for orders or sales.",
        ),
    ),
    read=read,
    check=check,
    validate=validate,
    configure_stream=configure_stream,
    extra={"url_schemes": tuple(DIALECTS)},
)
