"""The SQL connector's MySQL and MariaDB dialect (PyMySQL): ``mysql://host:3306/database``
(or ``mariadb://``).

- **How it connects.** The connector opens the TCP connection itself, to an address
  ``sql_session.checked_addresses`` allowed, and hands it to PyMySQL, which keeps the
  host name for TLS. ``sslmode`` has libpq's meanings: disable; allow and prefer (TLS
  when the server offers it, the certificate unchecked); require (TLS or no connection,
  unchecked); verify-ca (a certificate the system's CAs signed); verify-full (that, for
  this host name). PyMySQL reads no option file and sends no client certificate: none of
  the worker's own credentials reach the server. ``LOAD DATA LOCAL`` stays off.
- **The session.** ``SET SESSION TRANSACTION READ ONLY`` and ``START TRANSACTION READ
  ONLY``, ``time_zone`` +00:00 (a TIMESTAMP column comes in UTC) and a statement timeout,
  ``max_statement_time`` (seconds) on MariaDB, ``max_execution_time`` (ms) on MySQL (the
  server's version string tells them apart); a socket timeout a little longer backs it.
- **Values.** DATETIME and TIMESTAMP values carry no time zone: they are taken as UTC
  (the kind's help says so). Binary columns become base64, like PostgreSQL's bytea.
- **Paging.** ``col >= a AND (col > a OR key > b)``, what ``(col, key) > (a, b)`` means,
  in a form both servers read with a range on an (incremental column, key) index; NULL
  sorts first in MySQL, so a page that ends on a row without a key goes on past it.
"""

from __future__ import annotations

import socket
import ssl
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qs, unquote, urlsplit

import pymysql
from pymysql.constants import CR, ER, FIELD_TYPE
from pymysql.cursors import DictCursor

from ..base import ConnectorError
from . import sql_session as db

SCHEMES = ("mysql", "mariadb")
DEFAULT_PORT = 3306
TIME_TYPES = frozenset({"datetime", "timestamp", "date"})
NUMBER_TYPES = frozenset({"tinyint", "smallint", "mediumint", "int", "bigint", "decimal"})
_NAMES = {
    FIELD_TYPE.TINY: "tinyint",
    FIELD_TYPE.SHORT: "smallint",
    FIELD_TYPE.INT24: "mediumint",
    FIELD_TYPE.LONG: "int",
    FIELD_TYPE.LONGLONG: "bigint",
    FIELD_TYPE.DECIMAL: "decimal",
    FIELD_TYPE.NEWDECIMAL: "decimal",
    FIELD_TYPE.NEWDATE: "date",
    FIELD_TYPE.VAR_STRING: "varchar",
    FIELD_TYPE.STRING: "char",
    FIELD_TYPE.BLOB: "text or blob",
}
_NAMES |= {
    code: name.lower()
    for name, code in vars(FIELD_TYPE).items()
    if name.isupper() and code not in _NAMES
}
_DATETIMES = frozenset({FIELD_TYPE.DATETIME, FIELD_TYPE.TIMESTAMP})
# Past the statement timeout, the server should have stopped the statement; the socket
# gives up this much later in case it did not (an old server, a stuck network).
SOCKET_MARGIN = 30
# Errors of a statement that ran too long: MySQL's, MariaDB's, and an interrupted query.
_TIMEOUTS = frozenset({ER.QUERY_TIMEOUT, ER.STATEMENT_TIMEOUT, 1317})
_READ_ONLY = 1792  # "Cannot execute statement in a READ ONLY transaction"
_DENIED = frozenset({ER.TABLEACCESS_DENIED_ERROR, ER.COLUMNACCESS_DENIED_ERROR, 1044})


# --- where and who ---------------------------------------------------------------------


def connect_args(base_url: str, config: dict, secrets: dict) -> dict:
    """Where and as whom: the server from the base URL, the user and sslmode from the
    settings, the password (or a whole ``mysql://user:password@host/db`` URL) from the
    secrets."""
    given = db.login(base_url, config, secrets, DIALECT, _from_url)
    return {
        "host": given.host,
        "addresses": db.checked_addresses(given.host, given.port),
        "port": given.port,
        "database": given.database,
        "user": given.user,
        "password": given.password,
        "sslmode": given.sslmode,
    }


def _from_url(url: str) -> dict:
    try:
        parts = urlsplit(url.strip())
        port = parts.port or DEFAULT_PORT
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in SCHEMES:
        raise db.config_error("The connection URL secret is not a valid MySQL URL.")
    return {
        "server": (parts.hostname, port, unquote(parts.path.strip("/"))),
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        "sslmode": (parse_qs(parts.query).get("sslmode") or [""])[0],
    }


def _tls(sslmode: str) -> dict:
    """PyMySQL's TLS arguments for an sslmode (see the module's docstring)."""
    if sslmode == "disable":
        return {"ssl_disabled": True}
    if sslmode in ("allow", "prefer"):
        return {}  # PyMySQL's own default: TLS if offered, unverified
    context = ssl.create_default_context()
    if sslmode != "verify-full":
        context.check_hostname = False
    if sslmode == "require":
        context.verify_mode = ssl.CERT_NONE
    return {"ssl": context}


# --- the session -----------------------------------------------------------------------


def _socket(args: dict) -> socket.socket:
    """A TCP connection to the first checked address that answers."""
    failure: OSError | None = None
    for address in args["addresses"]:
        try:
            sock = socket.create_connection((address, args["port"]), db.CONNECT_TIMEOUT)
        except OSError as exc:
            failure = exc
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        return sock
    raise _unreachable(args, failure)


def connect(args: dict, *, statement_timeout: float) -> pymysql.Connection:
    """A read-only session (dict rows, UTC), or ConnectorError saying why not."""
    conn = pymysql.Connection(
        host=args["host"],  # the name TLS verifies; the socket goes to a checked address
        port=args["port"],
        user=args["user"],
        password=args["password"],
        database=args["database"],
        charset="utf8mb4",
        cursorclass=DictCursor,
        read_timeout=statement_timeout + SOCKET_MARGIN,
        write_timeout=statement_timeout + SOCKET_MARGIN,
        autocommit=False,
        local_infile=False,
        program_name="cdp-connector",
        defer_connect=True,
        **_tls(args["sslmode"]),
    )
    try:
        conn.connect(_socket(args))
    except pymysql.Error as exc:
        raise connect_error(exc, args) from None
    try:
        _begin(conn, statement_timeout)
    except pymysql.Error as exc:
        conn.close()
        raise query_error(exc, "the session's settings") from None
    return conn


def _begin(conn: pymysql.Connection, statement_timeout: float) -> None:
    if "mariadb" in conn.get_server_info().lower():
        timeout = "SESSION max_statement_time = %s", int(statement_timeout)
    else:
        timeout = "SESSION max_execution_time = %s", int(statement_timeout * 1000)
    with conn.cursor() as cur:
        cur.execute(f"SET SESSION time_zone = '+00:00', {timeout[0]}", [timeout[1]])
        cur.execute("SET SESSION TRANSACTION READ ONLY")
        cur.execute("START TRANSACTION READ ONLY")


class _Session:
    def __init__(self, conn: pymysql.Connection):
        self.conn = conn

    def __enter__(self) -> _Session:
        return self

    def __exit__(self, *exc_info) -> None:
        if self.conn.open:
            self.conn.close()  # the read-only transaction ends with it

    def run(self, statement: str, params: list, what: str) -> tuple[dict[str, str], list]:
        try:
            with self.conn.cursor() as cur:
                cur.execute(statement, params)
                description = cur.description
                rows = cur.fetchall()
        except pymysql.Error as exc:
            raise query_error(exc, what) from None
        columns = {d[0]: _NAMES.get(d[1], "unknown") for d in description}
        times = [d[0] for d in description if d[1] in _DATETIMES]
        if times:
            _as_utc(rows, times)
        return columns, list(rows)


def _as_utc(rows, names: list[str]) -> None:
    """MySQL datetimes carry no zone: they are UTC here (the session's time_zone for a
    TIMESTAMP; the documented assumption for a DATETIME)."""
    for row in rows:
        for name in names:
            value = row[name]
            if isinstance(value, datetime):  # a zero date comes as text
                row[name] = value.replace(tzinfo=UTC)


def _open(base_url: str, config: dict, secrets: dict, *, timeout: float) -> _Session:
    return _Session(connect(connect_args(base_url, config, secrets), statement_timeout=timeout))


# --- what it says when it cannot -------------------------------------------------------


def _unreachable(args: dict, exc: BaseException | None) -> ConnectorError:
    server = f"{args['host']}:{args['port']}"
    if isinstance(exc, TimeoutError):
        why = f"did not answer within {db.CONNECT_TIMEOUT} s"
    elif isinstance(exc, ConnectionRefusedError):
        why = "refused the connection"
    else:
        why = "could not be reached"
    return ConnectorError(
        f"The database server {server} {why}.", retryable=True, code="unreachable"
    )


def connect_error(exc: pymysql.Error, args: dict) -> ConnectorError:
    code, message = _code_and_message(exc)
    server, user, database = f"{args['host']}:{args['port']}", args["user"], args["database"]
    original = getattr(exc, "original_exception", None)
    if code == ER.ACCESS_DENIED_ERROR:
        return ConnectorError(
            f"The database refused the password of user {user!r} (or has no such user).",
            code="auth",
        )
    if code == ER.BAD_DB_ERROR:
        return db.config_error(f"The server {server} has no database {database!r}.")
    if code == ER.DBACCESS_DENIED_ERROR:
        return ConnectorError(
            f"User {user!r} may not use database {database!r} on {server}: it does not "
            "exist, or the user has no grant on it (GRANT SELECT ON database.* …).",
            code="permission",
        )
    if code == ER.HOST_NOT_PRIVILEGED:
        return ConnectorError(
            f"The server {server} does not let anyone connect from here ({message}).",
            code="permission",
        )
    if code == CR.CR_SSL_CONNECTION_ERROR or isinstance(original, ssl.SSLError):
        return ConnectorError(
            f"The TLS connection to {server} failed (sslmode {args['sslmode']}): "
            f"{_tls_reason(message, original)}.",
            retryable=True,
            code="tls",
        )
    if code == ER.NOT_SUPPORTED_AUTH_MODE or code == 2059:
        return ConnectorError(
            f"User {user!r} logs in with a method the connector does not support ({message}).",
            code="auth",
        )
    if code in (ER.CON_COUNT_ERROR, ER.TOO_MANY_USER_CONNECTIONS):
        return ConnectorError(
            f"The database server {server} has too many connections.",
            retryable=True,
            code="unreachable",
        )
    return _unreachable(args, original)


def _tls_reason(message: str, original) -> str:
    if isinstance(original, ssl.SSLCertVerificationError):
        return original.verify_message or "the certificate is not trusted"
    if "doesn't support" in message:
        return "the server does not offer TLS"
    return str(original or message)


def _code_and_message(exc: pymysql.Error) -> tuple[int | None, str]:
    args = exc.args
    if len(args) >= 2 and isinstance(args[0], int):
        return args[0], str(args[1])
    return None, str(exc)


def query_error(exc: pymysql.Error, what: str) -> ConnectorError:
    """An error of a statement on ``what`` (the table, or "the query")."""
    code, message = _code_and_message(exc)
    if code == ER.NO_SUCH_TABLE:
        return db.config_error(f"{what} does not exist, or this user cannot see it ({message}).")
    if code in _DENIED:
        # MySQL says so of a table that does not exist, too, to a user without a grant
        # on the whole database.
        return ConnectorError(
            f"The database user may not read {what}, or it does not exist ({message}): "
            "GRANT SELECT on it.",
            code="permission",
        )
    if code == ER.BAD_FIELD_ERROR:
        return db.config_error(
            f"{what[0].upper()}{what[1:]} lacks a column the connector reads ({message}): "
            "check the key and incremental columns."
        )
    if code in _TIMEOUTS or (code == CR.CR_SERVER_LOST and "timed out" in message):
        return ConnectorError(
            f"Reading {what} took longer than the statement timeout; add an index on "
            "(incremental column, key) or raise the timeout.",
            retryable=True,
        )
    if code == _READ_ONLY:
        return db.config_error(f"{what} tries to write; the connector only reads ({message}).")
    if code in (CR.CR_SERVER_GONE_ERROR, CR.CR_SERVER_LOST) or code is None:
        return ConnectorError(
            "The connection to the database was lost.", retryable=True, code="unreachable"
        )
    return db.config_error(f"The database refused to read {what}: {message}")


# --- the dialect -----------------------------------------------------------------------


def _quote(name: str) -> str:
    if "\x00" in name:
        raise db.config_error("A table or column name cannot hold a NUL character.")
    return "`" + name.replace("`", "``") + "`"


def _after(column: str, key: str, values: list) -> tuple[str, list]:
    value, key_value = values
    if key_value is None:  # NULL sorts first: the rows with a key come next
        return f"{column} >= %s AND ({column} > %s OR {key} IS NOT NULL)", [value, value]
    return f"{column} >= %s AND ({column} > %s OR {key} > %s)", [value, value, key_value]


def _param(value, kind: str | None):
    """A cursor value for MySQL: a date or time as a datetime in UTC without its zone
    (what the session compares with), a growing id as a number (MySQL would compare a
    number with text as floats), the rest as it came."""
    if kind == "number" and isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            return value
    if kind != "time" or not isinstance(value, str):
        return value
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return value  # a zero date, say: compared as text, as MySQL does
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when


DIALECT = db.Dialect(
    schemes=SCHEMES,
    example="mysql://host:3306/database",
    default_port=DEFAULT_PORT,
    time_types=TIME_TYPES,
    number_types=NUMBER_TYPES,
    quote=_quote,
    after=_after,
    param=_param,
    open=_open,
)
