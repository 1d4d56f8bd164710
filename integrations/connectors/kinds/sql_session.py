"""The database side of the SQL connector: where it may connect, how, and what it says
when it cannot. Used by ``kinds/sql.py`` only.

- **Where.** The connection's base URL names the server: ``postgresql://host:port/db``
  (the framework's rule "credentials are not carried to another host" then holds: changing
  the base URL forgets the password). The host is resolved here and every address it
  resolves to is checked with ``integrations.outbound.refusal`` (private and loopback
  addresses only where ``CDP_OUTBOUND_ALLOWED_NETWORKS`` allows); libpq then connects to
  the checked addresses (``hostaddr``) while TLS still verifies the host name. A
  connection URL kept as a secret may carry the user, password and sslmode, but must name
  the same host, port and database.
- **How.** Every session is read-only (``default_transaction_read_only=on`` and a
  ``READ ONLY`` transaction), in UTC, with a statement timeout: a query that writes fails
  even if the database user could write (it should not be able to: give the connector a
  user with SELECT only).
- **What it says.** psycopg's errors become ``ConnectorError`` with a message an admin can
  act on and a code (auth, config, unreachable, tls, permission).
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import os
import socket
import uuid
from decimal import Decimal
from urllib.parse import unquote, urlsplit

import psycopg
import sqlparse
from psycopg import errors as pgerrors
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row
from sqlparse import tokens as T

from integrations import outbound

from ..base import ConnectorError

SCHEMES = ("postgresql", "postgres")
DEFAULT_PORT = 5432
CONNECT_TIMEOUT = 10
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


def server_of(base_url: str) -> tuple[str, int, str]:
    """(host, port, database) named by the base URL ``postgresql://host:port/database``."""
    try:
        parts = urlsplit(base_url.strip())
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise _config(f"{base_url!r} is not a usable database address.") from None
    database = unquote(parts.path.strip("/"))
    if parts.scheme.lower() not in SCHEMES or not parts.hostname or not database:
        raise _config(
            "The base URL must name the server and database: postgresql://host:5432/database."
        )
    if parts.username or parts.password:
        raise _config("Put the user name in the settings and the password in the secrets.")
    return parts.hostname, port, database


def _config(message: str) -> ConnectorError:
    return ConnectorError(message, code="config")


def checked_addresses(host: str, port: int) -> list[str]:
    """Every address of ``host``, each one allowed; ConnectorError otherwise."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise ConnectorError(
            f"The database server {host} cannot be found (its name does not resolve).",
            retryable=True,
            code="unreachable",
        ) from None
    found: list[str] = []
    for _, _, _, _, sockaddr in infos:
        address = str(sockaddr[0]).split("%", 1)[0]
        reason = outbound.refusal(ipaddress.ip_address(address))
        if reason:
            raise ConnectorError(
                f"{host} resolves to {reason} ({address}), which is not allowed "
                "(CDP_OUTBOUND_ALLOWED_NETWORKS lists the exceptions).",
                code="unreachable",
            )
        if address not in found:
            found.append(address)
    return found


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
    host, port, database = server_of(base_url)
    user, password = config.get("user") or "", secrets.get("password") or ""
    sslmode = config.get("sslmode") or "prefer"
    if secrets.get("url"):
        try:
            given = conninfo_to_dict(secrets["url"])
        except psycopg.ProgrammingError:
            raise _config("The connection URL secret is not a valid PostgreSQL URL.") from None
        named = (given.get("host"), int(given.get("port") or DEFAULT_PORT), given.get("dbname"))
        if named != (host, port, database):
            raise _config(
                "The connection URL secret names another server or database than the base "
                f"URL ({host}:{port}/{database}); the connector only connects to the latter."
            )
        user = given.get("user") or user
        password = given.get("password") or password
        sslmode = given.get("sslmode") or sslmode
    if not user:
        raise _config("Name the database user (settings: user).")
    if sslmode not in SSLMODES:
        raise _config(f"sslmode must be one of {', '.join(SSLMODES)}.")
    addresses = checked_addresses(host, port)
    return _SEALED | {
        "host": ",".join([host] * len(addresses)),
        "hostaddr": ",".join(addresses),
        "port": str(port),
        "dbname": database,
        "user": user,
        "password": password,
        "sslmode": sslmode,
        "connect_timeout": CONNECT_TIMEOUT,
        "application_name": "cdp-connector",
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
        return _config(f"The server {server} has no database {args['dbname']!r}.")
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
        why = f"did not answer within {CONNECT_TIMEOUT} s"
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
        return _config(f"{what} does not exist, or this user cannot see it ({primary}).")
    if isinstance(exc, pgerrors.InsufficientPrivilege):
        return ConnectorError(
            f"The database user may not read {what} ({primary}): GRANT SELECT on it.",
            code="permission",
        )
    if isinstance(exc, pgerrors.UndefinedColumn):
        return _config(
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
        return _config(f"{what} tries to write; the connector only reads ({primary}).")
    if isinstance(exc, psycopg.OperationalError) and not exc.sqlstate:
        return ConnectorError(
            "The connection to the database was lost.", retryable=True, code="unreachable"
        )
    return _config(f"The database refused to read {what}: {primary}")


# --- the admin's custom query ----------------------------------------------------------


def select_problem(query: str) -> str | None:
    """Why ``query`` cannot be the connector's query (one SELECT, no parameters), or None."""
    statements = [s for s in sqlparse.parse(query) if str(s).strip(" \t\r\n;")]
    if not statements:
        return "Write a SELECT statement."
    if len(statements) > 1:
        return "One statement only (a single SELECT)."
    statement = statements[0]
    if statement.get_type() != "SELECT":
        return "Only a SELECT statement (or WITH … SELECT) can be read."
    for token in statement.flatten():
        if token.ttype in T.Name.Placeholder:
            return f"The query may not hold parameters ({token.value})."
        if token.ttype in T.Keyword.DML and token.normalized != "SELECT":
            return f"The query may not hold {token.normalized} (it only reads)."
        if token.ttype in T.Keyword and token.normalized == "INTO":
            return "SELECT … INTO writes a table; the query only reads."
    return None


def query_text(query: str) -> str:
    """The query as it goes inside ``SELECT * FROM (…) q``: no final semicolon, and
    ``%`` doubled so that psycopg does not take it for a parameter."""
    return query.strip().rstrip(";").strip().replace("%", "%%")


# --- values ----------------------------------------------------------------------------


# Values that are JSON already (checked by exact type: bool is an int, and a str or int
# subclass from an adapter goes through jsonable).
PLAIN = frozenset({str, int, float, bool, type(None)})


def jsonable(value):
    """A column's value as JSON: dates and times ISO 8601 (UTC for a timestamptz),
    Decimal as a number when a float holds it exactly to 15 digits, else as text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        if value.is_finite() and len(value.as_tuple().digits) <= 15:
            return float(value)
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes | memoryview | bytearray):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID):
        return str(value)
    return str(value)
