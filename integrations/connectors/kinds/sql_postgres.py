"""The SQL connector's PostgreSQL dialect (psycopg): ``postgresql://host:5432/database``.

- **How it connects.** libpq connects to the checked addresses (``hostaddr``) while TLS
  still verifies the host name (``sslmode``, libpq's meanings). A connection URL kept as a
  secret may carry the user, password and sslmode, but must name the same host, port and
  database. None of the worker's own credentials (PGPASSWORD, ~/.pgpass, a client
  certificate, Kerberos) reach the server.
- **The session.** Read-only (``default_transaction_read_only=on`` and a ``READ ONLY``
  transaction), in UTC, with a statement timeout: a query that writes fails even if the
  database user could write (it should not be able to: give the connector a user with
  SELECT only).
- **Paging.** A row comparison, ``(column, key) > (%s, %s)``; parameters go as text,
  which PostgreSQL casts to the column's own type.
"""

from __future__ import annotations

import os

import psycopg
from psycopg import errors as pgerrors
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row

from ..base import ConnectorError
from . import sql_session as db

SCHEMES = ("postgresql", "postgres")
DEFAULT_PORT = 5432
TIME_TYPES = frozenset({"timestamptz", "timestamp", "date"})
NUMBER_TYPES = frozenset({"int2", "int4", "int8", "numeric"})


# libpq fills what a connection does not say from the worker's environment (PGPASSWORD,
# ~/.pgpass, a client certificate, Kerberos): none of the worker's own credentials may
# reach a server an admin typed in. (The password is always given, if only empty.)
# A password file path that cannot exist (/dev/null itself draws a libpq warning).
_SEALED = {
    "passfile": os.path.join(os.devnull, "none"),
    "gssencmode": "disable",
    "sslcertmode": "disable",
}


def connect_args(base_url: str, config: dict, secrets: dict) -> dict:
    """psycopg.connect keyword arguments: the server from the base URL, the user and
    sslmode from the settings, the password (or a whole URL) from the secrets."""
    given = db.login(base_url, config, secrets, DIALECT, _from_url)
    addresses = db.checked_addresses(given.host, given.port)
    return _SEALED | {
        "host": ",".join([given.host] * len(addresses)),
        "hostaddr": ",".join(addresses),
        "port": str(given.port),
        "dbname": given.database,
        "user": given.user,
        "password": given.password,
        "sslmode": given.sslmode,
        "connect_timeout": db.CONNECT_TIMEOUT,
        "application_name": "cdp-connector",
    }


def _from_url(url: str) -> dict:
    try:
        given = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        raise db.config_error("The connection URL secret is not a valid PostgreSQL URL.") from None
    return {
        "server": (given.get("host"), int(given.get("port") or DEFAULT_PORT), given.get("dbname")),
        "user": given.get("user"),
        "password": given.get("password"),
        "sslmode": given.get("sslmode"),
    }


def connect(args: dict, *, statement_timeout: float) -> psycopg.Connection:
    """A read-only session (dict rows, UTC), or ConnectorError saying why not."""
    options = (
        "-c default_transaction_read_only=on -c TimeZone=UTC "
        f"-c statement_timeout={int(statement_timeout * 1000)}"
    )
    try:
        conn = psycopg.connect(**args, options=options, row_factory=dict_row)
    except psycopg.Error as exc:
        raise connect_error(exc, args) from None
    conn.read_only = True  # every transaction begins READ ONLY, whatever the server says
    return conn


def connect_error(exc: psycopg.Error, args: dict) -> ConnectorError:
    text = str(exc).lower()
    server, user = f"{args['host'].split(',')[0]}:{args['port']}", args["user"]
    if "password authentication failed" in text or "no password supplied" in text:
        return ConnectorError(f"The database refused the password of user {user!r}.", code="auth")
    if "role" in text and "does not exist" in text:
        return ConnectorError(f"The database has no user {user!r}.", code="auth")
    if "database" in text and "does not exist" in text:
        return db.config_error(f"The server {server} has no database {args['dbname']!r}.")
    if "permission denied" in text or "not permitted" in text or "pg_hba.conf" in text:
        return ConnectorError(
            f"The server {server} does not let user {user!r} connect to database "
            f"{args['dbname']!r} from here (CONNECT privilege or pg_hba.conf).",
            code="permission",
        )
    if "ssl" in text or "certificate" in text:
        return ConnectorError(
            f"The TLS connection to {server} failed (sslmode {args['sslmode']}).",
            retryable=True,
            code="tls",
        )
    if "timeout" in text or "timed out" in text:
        why = f"did not answer within {db.CONNECT_TIMEOUT} s"
    elif "refused" in text:
        why = "refused the connection"
    else:
        why = "could not be reached"
    return ConnectorError(
        f"The database server {server} {why}.", retryable=True, code="unreachable"
    )


def query_error(exc: psycopg.Error, what: str) -> ConnectorError:
    """An error of a statement on ``what`` (the table, or "the query")."""
    primary = (exc.diag.message_primary or str(exc)).strip()
    if isinstance(exc, pgerrors.UndefinedTable):
        return db.config_error(f"{what} does not exist, or this user cannot see it ({primary}).")
    if isinstance(exc, pgerrors.InsufficientPrivilege):
        return ConnectorError(
            f"The database user may not read {what} ({primary}): GRANT SELECT on it.",
            code="permission",
        )
    if isinstance(exc, pgerrors.UndefinedColumn):
        return db.config_error(
            f"{what[0].upper()}{what[1:]} lacks a column the connector reads ({primary}): "
            "check the key and incremental columns."
        )
    if isinstance(exc, pgerrors.QueryCanceled):
        return ConnectorError(
            f"Reading {what} took longer than the statement timeout; add an index on "
            "(incremental column, key) or raise the timeout.",
            retryable=True,
        )
    if isinstance(exc, pgerrors.ReadOnlySqlTransaction):
        return db.config_error(f"{what} tries to write; the connector only reads ({primary}).")
    if isinstance(exc, psycopg.OperationalError) and not exc.sqlstate:
        return ConnectorError(
            "The connection to the database was lost.", retryable=True, code="unreachable"
        )
    return db.config_error(f"The database refused to read {what}: {primary}")


class _Session:
    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def __enter__(self) -> _Session:
        return self

    def __exit__(self, *exc_info) -> None:
        self.conn.close()  # the read-only transaction ends with it

    def run(self, statement: str, params: list, what: str) -> tuple[dict[str, str], list]:
        try:
            with self.conn.cursor() as cur:
                cur.execute(statement, params)
                types = self.conn.adapters.types
                columns = {d.name: _type_name(types.get(d.type_code)) for d in cur.description}
                return columns, cur.fetchall()
        except psycopg.Error as exc:
            raise query_error(exc, what) from None


def _type_name(info) -> str:
    return info.name if info else ""


def _open(base_url: str, config: dict, secrets: dict, *, timeout: float) -> _Session:
    return _Session(connect(connect_args(base_url, config, secrets), statement_timeout=timeout))


def _quote(name: str) -> str:
    return sql.Identifier(name).as_string()


def _after(column: str, key: str, values: list) -> tuple[str, list]:
    return f"({column}, {key}) > (%s, %s)", values


def _param(value, kind: str | None):
    # Text: PostgreSQL casts it to the column's own type (psycopg sends str untyped).
    return None if value is None else str(value)


DIALECT = db.Dialect(
    schemes=SCHEMES,
    example="postgresql://host:5432/database",
    default_port=DEFAULT_PORT,
    time_types=TIME_TYPES,
    number_types=NUMBER_TYPES,
    quote=_quote,
    after=_after,
    param=_param,
    open=_open,
)
