"""The SQL database connector's test servers: an "ERP" database on PostgreSQL and on MySQL /
MariaDB, each with a user that must give its password and may read only some tables.

``erp`` (module scope) stands for both dialects, so that a test that does not care which
runs on each (``erp.dialect`` says which); a module of one dialect's tests narrows it
with ``pytest.mark.parametrize("erp", ["mysql"], indirect=True)``. ``erp_db`` gives each
test a fresh customers table of 250 rows one second apart: a psycopg connection or a
PyMySQL cursor, as the admin, in autocommit.

PostgreSQL is the test server (its pg_hba.conf gets one line asking the reader for its
password, put back afterwards); MySQL is the server at CDP_TEST_MYSQL_URL (default
mysql://root@127.0.0.1:3306/, a user that may create databases and users), and its tests
are skipped, with the reason, when no server answers there.
"""

import contextlib
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote, urlsplit

import psycopg
import pymysql
import pytest
from django.db import connection as django_connection
from psycopg import sql

from integrations.connectors import services
from integrations.connectors.models import SyncRun
from integrations.models import Event
from tests.support import connectors

MYSQL_URL = os.environ.get("CDP_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/")
PHOTO = b"\x00\x01\xffpng"


@dataclass(frozen=True)
class Erp:
    dialect: str  # "postgresql", or "mysql" for MySQL and MariaDB alike
    server: str  # "postgresql", "mysql" or "mariadb"
    host: str
    port: int
    database: str
    user: str
    password: str
    base: datetime  # when the first customer changed; naive for MySQL's DATETIME (UTC)
    other_database: str  # one the reader may not use
    table: str  # the customers table's name, as the connection names it

    @property
    def base_url(self) -> str:
        return f"{self.dialect}://{self.host}:{self.port}/{self.database}"

    def url_with_password(self) -> str:
        """The connection URL with the reader's name and password in it (a secret)."""
        secret = quote(self.password, safe="")
        return f"{self.dialect}://{self.user}:{secret}@{self.host}:{self.port}/{self.database}"

    def connect(self, *, password: str | None = None, streams: dict | None = None, **config):
        """A saved connection to the customers table, as the reader; ``config`` overrides."""
        return services.create_connection(
            name="ERP",
            kind="sql",
            base_url=self.base_url,
            config={
                "user": self.user,
                "table": self.table,
                "key_column": "id",
                "cursor_column": "updated_at",
                "page_size": 100,
                **config,
            },
            secrets={"password": self.password if password is None else password},
            streams=streams,
            schedule_minutes=60,
        )


def drive(run: SyncRun) -> SyncRun:
    """Runs ``run`` slice by slice to its end, as the task does; the run, refreshed."""
    connectors.drive(run, max_slices=100)
    return run


def payload(user_id: str) -> dict:
    return Event.objects.filter(user_id=user_id).order_by("-id").first().payload


# --- PostgreSQL ---------------------------------------------------------------------------

PG_PASSWORD = "s3cret-Pa$$"


def _pg_admin(dbname: str | None = None) -> psycopg.Connection:
    settings = django_connection.settings_dict
    return psycopg.connect(
        host=settings["HOST"],
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        dbname=dbname or settings["NAME"],
        autocommit=True,
    )


def _rewrite_hba(conn, lines: list[str]) -> None:
    hba = conn.execute("SHOW hba_file").fetchone()[0]
    values = sql.SQL(", ").join(sql.Literal(line) for line in lines if line.strip())
    conn.execute(
        sql.SQL(
            "COPY (SELECT line FROM unnest(ARRAY[{}]::text[]) AS line) TO {} "
            "WITH (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')"
        ).format(values, sql.Literal(hba))
    )
    conn.execute("SELECT pg_reload_conf()")


@contextlib.contextmanager
def _postgres_erp(django_db_blocker):
    tag = uuid.uuid4().hex[:8]
    dbname, role = f"cdp_erp_{tag}", f"cdp_reader_{tag}"
    with django_db_blocker.unblock():
        admin = _pg_admin()
    hba = admin.execute("SHOW hba_file").fetchone()[0]
    original = admin.execute("SELECT pg_read_file(%s)", [hba]).fetchone()[0].splitlines()
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    admin.execute(
        sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
            sql.Identifier(role), sql.Literal(PG_PASSWORD)
        )
    )
    ask = f"host {dbname} {role} 127.0.0.1/32 scram-sha-256"
    _rewrite_hba(admin, [ask, *original])
    try:
        yield Erp(
            dialect="postgresql",
            server="postgresql",
            host="127.0.0.1",
            port=int(django_connection.settings_dict["PORT"] or 5432),
            database=dbname,
            user=role,
            password=PG_PASSWORD,
            base=datetime(2026, 3, 1, 10, 0, tzinfo=UTC),
            other_database="postgres",
            table="public.customers",
        )
    finally:
        _rewrite_hba(admin, original)
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(dbname)))
        admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
        admin.close()


@contextlib.contextmanager
def _postgres_tables(erp: Erp):
    with _pg_admin(erp.database) as conn:
        conn.execute(
            """
            DROP TABLE IF EXISTS customers, payroll, walkins;
            CREATE TABLE customers (
                id integer PRIMARY KEY, email text, total numeric(10, 2),
                born date, updated_at timestamptz NOT NULL
            );
            CREATE INDEX ON customers (updated_at, id);
            CREATE TABLE payroll (id integer PRIMARY KEY, salary numeric);
            CREATE TABLE walkins (id integer, email text, updated_at timestamptz);
            CREATE SEQUENCE IF NOT EXISTS tickets;
            """
        )
        conn.execute(
            """INSERT INTO customers
               SELECT n, 'person' || n || '@example.com', n * 1.25, DATE '1990-01-01' + n,
                      %s + make_interval(secs => n)
               FROM generate_series(1, 250) AS n""",
            [erp.base],
        )
        for table in ("customers", "walkins"):
            conn.execute(
                sql.SQL("GRANT SELECT ON {} TO {}").format(
                    sql.Identifier(table), sql.Identifier(erp.user)
                )
            )
        yield conn


# --- MySQL / MariaDB ----------------------------------------------------------------------

MYSQL_PASSWORD = "s3cret-Pa$$'`"


def mysql_admin_args(database: str | None = None) -> dict:
    """PyMySQL's arguments for the server's administrator (CDP_TEST_MYSQL_URL)."""
    parts = urlsplit(MYSQL_URL)
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": unquote(parts.username or "root"),
        "password": unquote(parts.password or ""),
        "database": database,
        "autocommit": True,
        "connect_timeout": 3,
    }


def mysql_quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


@contextlib.contextmanager
def _mysql_erp():
    try:
        admin = pymysql.connect(**mysql_admin_args())
    except pymysql.Error as exc:
        pytest.skip(
            f"No MySQL / MariaDB server answers at {MYSQL_URL} ({exc}). To run these tests, "
            "install one (apt-get install mariadb-server) or set CDP_TEST_MYSQL_URL="
            "mysql://user:password@host:port/ (a user that may create databases and users)."
        )
    tag = uuid.uuid4().hex[:8]
    database, user = f"cdp_erp_{tag}", f"cdp_reader_{tag}"
    with admin.cursor() as cur:
        cur.execute("SELECT VERSION()")
        server = "mariadb" if "mariadb" in cur.fetchone()[0].lower() else "mysql"
        cur.execute(f"CREATE DATABASE {mysql_quoted(database)} CHARACTER SET utf8mb4")
        cur.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", [user, MYSQL_PASSWORD])
    args = mysql_admin_args()
    try:
        yield Erp(
            dialect="mysql",
            server=server,
            host=args["host"],
            port=args["port"],
            database=database,
            user=user,
            password=MYSQL_PASSWORD,
            base=datetime(2026, 3, 1, 10, 0),
            other_database="mysql",
            table="customers",
        )
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {mysql_quoted(database)}")
            cur.execute("DROP USER IF EXISTS %s@'%%'", [user])
        admin.close()


@contextlib.contextmanager
def _mysql_tables(erp: Erp):
    conn = pymysql.connect(**mysql_admin_args(erp.database))
    cur = conn.cursor()
    cur.execute("DROP TABLE IF EXISTS customers, payroll, walkins")
    cur.execute(
        """CREATE TABLE customers (
               id INT PRIMARY KEY, email VARCHAR(200), total DECIMAL(10, 2), born DATE,
               photo VARBINARY(16), updated_at DATETIME(6) NOT NULL,
               INDEX (updated_at, id))"""
    )
    cur.execute("CREATE TABLE payroll (id INT PRIMARY KEY, salary DECIMAL(10, 2))")
    cur.execute("CREATE TABLE walkins (id INT NULL, email VARCHAR(200), updated_at DATETIME)")
    cur.executemany(
        "INSERT INTO customers VALUES (%s, %s, %s, %s, %s, %s)",
        [
            (
                n,
                f"person{n}@example.com",
                n * 1.25,
                datetime(1990, 1, 1) + timedelta(days=n),
                PHOTO if n == 8 else None,
                erp.base + timedelta(seconds=n),
            )
            for n in range(1, 251)
        ],
    )
    for table in ("customers", "walkins"):
        cur.execute(f"GRANT SELECT ON {mysql_quoted(erp.database)}.{table} TO %s@'%%'", [erp.user])
    try:
        yield cur
    finally:
        conn.close()


# --- the fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["postgresql", "mysql"])
def erp(request, django_db_blocker):
    """The ERP database on each dialect's server (an ``Erp``)."""
    setup = _postgres_erp(django_db_blocker) if request.param == "postgresql" else _mysql_erp()
    with setup as erp:
        yield erp


@pytest.fixture
def erp_db(erp):
    """The ERP's fresh tables, as the admin: a psycopg connection or a PyMySQL cursor."""
    tables = _postgres_tables if erp.dialect == "postgresql" else _mysql_tables
    with tables(erp) as db:
        yield db
