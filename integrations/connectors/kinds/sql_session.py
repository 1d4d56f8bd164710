"""What the SQL connector's databases share: the dialect each one supplies, where a
connection may go, the admin's custom query and how values become JSON. Used by
``kinds/sql.py``, ``sql_postgres.py`` and ``sql_mysql.py`` only.

- **Dialects.** The base URL's scheme picks the database (``postgresql://``,
  ``mysql://`` or ``mariadb://``); each database's module supplies a ``Dialect``: how it
  quotes a name, how it pages past a row, how a cursor value goes back as a parameter,
  which column types are dates and numbers, and how it opens a read-only session.
- **Where.** The host is resolved here and every address it resolves to is checked with
  ``integrations.outbound.refusal`` (private and loopback addresses only where
  ``CDP_OUTBOUND_ALLOWED_NETWORKS`` allows); the driver then connects to a checked address
  while TLS still verifies the host name. Changing the base URL forgets the password (the
  framework's rule "credentials are not carried to another host").
- **What it says.** Each dialect turns its driver's errors into ``ConnectorError`` with a
  message an admin can act on and a code (auth, config, unreachable, tls, permission).
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol
from urllib.parse import unquote, urlsplit

import sqlparse
from sqlparse import tokens as T

from integrations import outbound

from ..base import ConnectorError

CONNECT_TIMEOUT = 10
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


class Session(Protocol):
    """An open read-only session (a context manager that closes it)."""

    def run(self, statement: str, params: list, what: str) -> tuple[dict[str, str], list]:
        """({column: type name}, rows as dicts); ConnectorError naming ``what``."""
        ...


@dataclass(frozen=True)
class Dialect:
    schemes: tuple[str, ...]  # of the base URL
    example: str  # a base URL, for messages
    default_port: int
    time_types: frozenset[str]  # type names (Session.run) of an updated-at column
    number_types: frozenset[str]  # ... and of a growing id
    quote: Callable[[str], str]  # a name as a quoted identifier
    # The keyset condition "(column, key) after (value, key value)": (SQL, parameters).
    after: Callable[[str, str, list], tuple[str, list]]
    # A cursor value (JSON) as a parameter; kind: "time" | "number" | "text" | "key".
    param: Callable[[object, str | None], object]
    # (base_url, config, secrets, *, timeout) -> Session, or ConnectorError.
    open: Callable[..., Session]


def server_of(base_url: str, dialect: Dialect) -> tuple[str, int, str]:
    """(host, port, database) named by the base URL ``scheme://host:port/database``."""
    try:
        parts = urlsplit(base_url.strip())
        port = parts.port or dialect.default_port
    except ValueError:
        raise config_error(f"{base_url!r} is not a usable database address.") from None
    database = unquote(parts.path.strip("/"))
    if parts.scheme.lower() not in dialect.schemes or not parts.hostname or not database:
        raise config_error(f"The base URL must name the server and database: {dialect.example}.")
    if parts.username or parts.password:
        raise config_error("Put the user name in the settings and the password in the secrets.")
    return parts.hostname, port, database


@dataclass(frozen=True)
class Login:
    """Where and as whom a session connects."""

    host: str
    port: int
    database: str
    user: str
    password: str
    sslmode: str


def login(
    base_url: str, config: dict, secrets: dict, dialect: Dialect, from_url: Callable
) -> Login:
    """The server from the base URL, the user and sslmode from the settings, the password
    from the secrets, or all three from a connection URL secret (``from_url`` reads it as
    ``{"server": (host, port, database), "user", "password", "sslmode"}``), which must name
    the same server and database as the base URL."""
    host, port, database = server_of(base_url, dialect)
    user, password = config.get("user") or "", secrets.get("password") or ""
    sslmode = config.get("sslmode") or "prefer"
    if secrets.get("url"):
        given = from_url(secrets["url"])
        if given["server"] != (host, port, database):
            raise config_error(
                "The connection URL secret names another server or database than the base "
                f"URL ({host}:{port}/{database}); the connector only connects to the latter."
            )
        user = given["user"] or user
        password = given["password"] or password
        sslmode = given["sslmode"] or sslmode
    if not user:
        raise config_error("Name the database user (settings: user).")
    if sslmode not in SSLMODES:
        raise config_error(f"sslmode must be one of {', '.join(SSLMODES)}.")
    return Login(host, port, database, user, password, sslmode)


def config_error(message: str) -> ConnectorError:
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
        if token.ttype in T.Comment.Multiline and token.value.startswith(("/*!", "/*M!")):
            # MySQL and MariaDB run what such a comment holds: it would escape this check.
            return "The query may not hold executable comments (/*! … */)."
    return None


def query_text(query: str) -> str:
    """The query as it goes inside ``SELECT * FROM (…) q``: no final semicolon, and
    ``%`` doubled so that the driver (psycopg, PyMySQL) does not take it for a
    parameter (statements always go with a list of parameters, if only an empty one)."""
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
