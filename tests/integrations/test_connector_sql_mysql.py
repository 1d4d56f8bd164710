"""The SQL database connector against a real MySQL or MariaDB server.

The server is the one at CDP_TEST_MYSQL_URL (default mysql://root@127.0.0.1:3306/, a
user that may create databases and users); without one the module is skipped. A database
of its own is created for this module (the "ERP"), with a user that may log in with a
password and read only some tables, and both are dropped afterwards. Runs are driven
slice by slice, as the task does.
"""

import base64
import os
import uuid
from datetime import datetime, timedelta
from urllib.parse import unquote, urlsplit

import pymysql
import pytest
from django.test import override_settings

from integrations.connectors import services, sync
from integrations.connectors.base import ConnectorError
from integrations.connectors.kinds import sql
from integrations.connectors.models import StreamState, SyncRun
from integrations.models import Event, RejectedEvent
from tests.support.connectors import remaining_by_slice

MYSQL_URL = os.environ.get("CDP_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/")
BASE = datetime(2026, 3, 1, 10, 0)  # naive: MySQL's DATETIME, taken as UTC
PASSWORD = "s3cret-Pa$$'`"
PHOTO = b"\x00\x01\xffpng"


def _admin_args(database: str | None = None) -> dict:
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


try:
    pymysql.connect(**_admin_args()).close()
except pymysql.Error as exc:
    pytest.skip(
        f"No MySQL / MariaDB server answers at {MYSQL_URL} ({exc}). To run these tests, "
        "install one (apt-get install mariadb-server) or set CDP_TEST_MYSQL_URL="
        "mysql://user:password@host:port/ (a user that may create databases and users).",
        allow_module_level=True,
    )

pytestmark = pytest.mark.django_db
# The server's administrator, as a connection's settings: it may read every table.
ADMIN = {"user": _admin_args()["user"], "password": _admin_args()["password"], "table": "orders"}


def _quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


@pytest.fixture(scope="module")
def erp():
    """(database, reader user, "mariadb" | "mysql"): a database with a user that needs
    its password and may read customers and walkins only."""
    tag = uuid.uuid4().hex[:8]
    database, user = f"cdp_erp_{tag}", f"cdp_reader_{tag}"
    admin = pymysql.connect(**_admin_args())
    with admin.cursor() as cur:
        cur.execute("SELECT VERSION()")
        server = "mariadb" if "mariadb" in cur.fetchone()[0].lower() else "mysql"
        cur.execute(f"CREATE DATABASE {_quoted(database)} CHARACTER SET utf8mb4")
        cur.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", [user, PASSWORD])
    try:
        yield database, user, server
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {_quoted(database)}")
            cur.execute("DROP USER IF EXISTS %s@'%%'", [user])
        admin.close()


@pytest.fixture
def db(erp):
    """A PyMySQL cursor (autocommit, as the admin) on the ERP database, with a fresh
    customers table of 250 rows one second apart that the reader may read."""
    database, user, server = erp
    conn = pymysql.connect(**_admin_args(database))
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
                BASE + timedelta(seconds=n),
            )
            for n in range(1, 251)
        ],
    )
    for table in ("customers", "walkins"):
        cur.execute(f"GRANT SELECT ON {_quoted(database)}.{table} TO %s@'%%'", [user])
    try:
        yield cur
    finally:
        conn.close()


def connect(erp, *, password: str = PASSWORD, streams: dict | None = None, **config):
    database, user, _ = erp
    admin = _admin_args()
    return services.create_connection(
        name="ERP",
        kind="sql",
        base_url=f"mysql://{admin['host']}:{admin['port']}/{database}",
        config={
            "user": user,
            "table": "customers",
            "key_column": "id",
            "cursor_column": "updated_at",
            "page_size": 100,
            **config,
        },
        secrets={"password": password},
        streams=streams,
        schedule_minutes=60,
    )


def drive(run: SyncRun, *, max_slices: int = 100) -> SyncRun:
    seq = 0
    for _ in range(max_slices):
        step = sync.run_slice(run_id=run.id, seq=seq)
        if step.seq is None:
            run.refresh_from_db()
            return run
        seq = step.seq
    raise AssertionError("the run did not end")


def payload(user_id: str) -> dict:
    return Event.objects.filter(user_id=user_id).order_by("-id").first().payload


def test_a_table_is_read_in_keyset_pages_and_each_row_stored_once(erp, db):
    connection = connect(erp)
    run = drive(services.start_run(connection=connection))
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert (run.pages, run.records_read, run.stored, run.rejected) == (3, 250, 250, 0)
    assert Event.objects.values("user_id").distinct().count() == 250
    state = StreamState.objects.get(connection=connection, stream="rows")
    newest = (BASE + timedelta(seconds=250)).isoformat() + "+00:00"
    assert state.cursor == {"since": newest, "kind": "time", "column": "updated_at"}
    row = payload("7")
    assert row["traits"]["email"] == "person7@example.com"
    assert row["timestamp"].startswith("2026-03-01T10:00:07")
    # The next run reads only the overlap window again, and stores none of it twice.
    again = drive(services.start_run(connection=connection))
    assert (again.records_read, again.stored, again.duplicates) == (250, 0, 250)


def test_a_pass_counts_its_rows_once_for_the_eta_then_counts_down(erp, db):
    run = services.start_run(connection=connect(erp))
    # One COUNT after the first page, then what each page read.
    assert remaining_by_slice(run, slices=3) == [150, 50, None]
    assert run.status == SyncRun.Status.SUCCEEDED and run.requests == 4  # 3 pages, 1 count


def test_values_become_json_and_datetimes_are_utc(erp, db):
    rules = "userId = $.id\n" + "\n".join(
        f"traits.{name} = $.{name}" for name in ("total", "born", "photo", "updated_at")
    )
    drive(services.start_run(connection=connect(erp, streams={"rows": {"rules": rules}})))
    assert Event.objects.count() == 250
    assert payload("8")["traits"] == {
        "total": 10.0,
        "born": "1990-01-09",
        "photo": base64.b64encode(PHOTO).decode(),
        "updated_at": "2026-03-01T10:00:08+00:00",
    }


def test_a_row_updated_since_the_last_run_is_stored_again(erp, db):
    connection = connect(erp)
    drive(services.start_run(connection=connection))
    db.execute(
        "UPDATE customers SET email = 'new@example.com', updated_at = %s WHERE id = 3",
        [BASE + timedelta(hours=2)],
    )
    run = drive(services.start_run(connection=connection))
    assert run.stored == 1
    assert payload("3")["traits"]["email"] == "new@example.com"
    assert Event.objects.filter(user_id="3").count() == 2


def test_a_row_committed_late_inside_the_overlap_window_is_picked_up(erp, db):
    connection = connect(erp, overlap_minutes=10)
    drive(services.start_run(connection=connection))
    newest = BASE + timedelta(seconds=250)
    # Two transactions that began before the last run and committed after it: their rows
    # carry an updated-at older than what the last run saw.
    db.execute(
        "INSERT INTO customers VALUES (900, 'late@example.com', 1, NULL, NULL, %s), "
        "(901, 'too-late@example.com', 1, NULL, NULL, %s)",
        [newest - timedelta(minutes=5), newest - timedelta(minutes=30)],
    )
    run = drive(services.start_run(connection=connection))
    assert run.stored == 1
    assert Event.objects.filter(user_id="900").exists()
    # Outside the window: the window is what bounds the re-read.
    assert not Event.objects.filter(user_id="901").exists()


def test_rows_without_a_key_value_are_rejected_with_the_reason(erp, db):
    db.execute(
        "INSERT INTO walkins VALUES (1, 'a@example.com', %s), (NULL, 'nokey@example.com', %s),"
        " (2, 'b@example.com', %s)",
        [BASE, BASE + timedelta(seconds=1), BASE + timedelta(seconds=1)],
    )
    run = drive(services.start_run(connection=connect(erp, table="walkins")))
    assert run.status == SyncRun.Status.SUCCEEDED
    assert (run.stored, run.rejected) == (2, 1)
    assert run.errors[0]["reason"] == "The record has no primary key ($.id)."
    assert "nokey@example.com" in run.errors[0]["record"]
    assert RejectedEvent.objects.get().code == "connector_record"


def test_a_page_that_ends_on_a_row_without_a_key_goes_on_past_it(erp, db):
    # The first page ends on the row without a key; MySQL sorts NULL first, so the rows
    # with a key and the same updated-at come after it, on the next page.
    earlier = [
        (n, f"walkin{n}@example.com", BASE - timedelta(hours=1, seconds=-n)) for n in range(1, 100)
    ]
    same_time = [(n, f"walkin{n}@example.com", BASE) for n in range(100, 150)]
    db.executemany(
        "INSERT INTO walkins VALUES (%s, %s, %s)",
        [*earlier, (None, "nokey@example.com", BASE), *same_time],
    )
    run = drive(services.start_run(connection=connect(erp, table="walkins")))
    assert (run.pages, run.stored, run.rejected) == (2, 149, 1)


def test_a_custom_query_is_read_in_pages(erp, db):
    query = """
        -- the shop's customers with an even number (a comment at the end is fine too)
        SELECT id AS customer_no, LOWER(email) AS email, updated_at
        FROM customers
        WHERE email LIKE 'person%@example.com' AND id % 2 = 0 # even
    """
    connection = connect(
        erp,
        table="",
        query=query,
        key_column="customer_no",
        streams={"rows": {"rules": "userId = $.customer_no\ntraits.email = $.email"}},
    )
    assert services.test_connection(connection=connection).ok
    run = drive(services.start_run(connection=connection))
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert (run.pages, run.stored) == (2, 125)
    assert sorted(map(int, Event.objects.values_list("user_id", flat=True))) == list(
        range(2, 251, 2)
    )
    assert payload("40")["traits"]["email"] == "person40@example.com"


def test_a_growing_id_as_the_incremental_column_reads_only_new_rows(erp, db):
    connection = connect(erp, cursor_column="id", overlap_ids=5)
    drive(services.start_run(connection=connection))
    db.execute("UPDATE customers SET email = 'changed@example.com' WHERE id = 249")
    db.execute(
        "INSERT INTO customers VALUES (251, 'new@example.com', 1, NULL, NULL, UTC_TIMESTAMP())"
    )
    run = drive(services.start_run(connection=connection))
    # ids 245..251 read again (the overlap): each row is one message, so only 251 is new.
    assert (run.records_read, run.stored) == (7, 1)
    assert StreamState.objects.get(connection=connection).cursor == {
        "since": 251,
        "kind": "number",
        "column": "id",
    }


def test_test_connection_succeeds_on_a_good_configuration(erp, db):
    connection = connect(erp)
    result = services.test_connection(connection=connection)
    assert result.ok, result.message
    # mariadb:// names the same dialect.
    services.update_connection(
        connection=connection, base_url=connection.base_url.replace("mysql://", "mariadb://")
    )
    services.set_secrets(connection=connection, secrets={"password": PASSWORD})
    result = services.test_connection(connection=connection)
    assert result.ok, result.message


@pytest.mark.parametrize(
    ("changes", "code", "words"),
    [
        ({"password": "wrong"}, "auth", "refused the password of user 'cdp_reader_"),
        # A user with grants on some tables only: MySQL does not say whether it exists.
        ({"table": "orders"}, "permission", "may not read the table 'orders', or it does not"),
        (ADMIN, "config", "the table 'orders' does not exist"),
        ({"table": "payroll"}, "permission", "may not read the table 'payroll'"),
        ({"key_column": "customer_id"}, "config", "has no key column 'customer_id'"),
        ({"cursor_column": "changed_at"}, "config", "has no incremental column 'changed_at'"),
        ({"cursor_column": "email"}, "config", "is of type varchar: it must be a date or time"),
        (
            {"table": "", "query": "SELECT id, nickname, updated_at FROM customers"},
            "config",
            "The query lacks a column the connector reads (Unknown column 'nickname'",
        ),
        ({"sslmode": "require"}, "tls", "TLS connection"),
    ],
)
def test_test_connection_says_what_is_wrong(erp, db, changes, code, words):
    if changes.get("sslmode") == "require":
        db.execute("SHOW GLOBAL VARIABLES LIKE 'have_ssl'")
        if (db.fetchone() or ("", "YES"))[1] == "YES":
            pytest.skip("this server offers TLS (with a certificate the test cannot check)")
    result = services.test_connection(connection=connect(erp, **changes))
    assert (result.ok, result.code) == (False, code), result.message
    assert words in result.message


def test_a_missing_database_and_a_closed_port_are_told_apart(erp, db):
    def elsewhere(connection, base_url: str, password: str):
        services.update_connection(connection=connection, base_url=base_url)
        services.set_secrets(connection=connection, secrets={"password": password})
        return services.test_connection(connection=connection)

    nosuchdb = connect(erp).base_url.replace(erp[0], "nosuchdb")
    # The reader may not know whether it exists: the server says "access denied".
    result = elsewhere(connect(erp), nosuchdb, PASSWORD)
    assert (result.ok, result.code) == (False, "permission")
    assert "may not use database 'nosuchdb'" in result.message
    # The server's administrator may: there is none.
    result = elsewhere(connect(erp, **ADMIN), nosuchdb, ADMIN["password"])
    assert (result.ok, result.code) == (False, "config")
    assert "has no database 'nosuchdb'" in result.message
    result = elsewhere(connect(erp), "mysql://127.0.0.1:9/x", PASSWORD)
    assert (result.ok, result.code) == (False, "unreachable")
    assert "127.0.0.1:9" in result.message


def test_a_run_with_a_wrong_password_fails_with_the_reason(erp, db):
    run = drive(services.start_run(connection=connect(erp, password="wrong")))
    assert run.status == SyncRun.Status.FAILED
    assert "refused the password" in run.error
    assert Event.objects.count() == 0


@pytest.mark.parametrize(
    "query",
    [
        "DELETE FROM customers",
        "SELECT 1; DROP TABLE customers",
        "SELECT * INTO OUTFILE '/tmp/customers' FROM customers",
        "SELECT id, updated_at FROM customers /*! INTO OUTFILE '/tmp/customers' */",
        "SELECT * FROM customers WHERE id = %s",
    ],
)
def test_a_statement_that_is_not_one_select_is_refused_when_saved(erp, query):
    with pytest.raises(services.ConnectionInvalid) as caught:
        connect(erp, table="", query=query)
    assert set(caught.value.errors) & {"config.query", "config.table"}


def test_a_query_that_writes_fails_at_run_time_the_session_being_read_only(erp, db):
    if erp[2] != "mariadb":
        pytest.skip("a SELECT that writes needs a MariaDB sequence")
    db.execute("CREATE SEQUENCE tickets")
    # The server's administrator, who could write anything: the session still refuses.
    admin = _admin_args()
    connection = connect(
        erp,
        user=admin["user"],
        password=admin["password"],
        table="",
        query="SELECT id, NEXTVAL(tickets) AS ticket, updated_at FROM customers",
    )
    run = drive(services.start_run(connection=connection))
    assert run.status == SyncRun.Status.FAILED
    assert "tries to write" in run.error and "READ ONLY transaction" in run.error
    db.execute("SELECT NEXTVAL(tickets)")
    assert db.fetchone()[0] == 1


def test_every_session_is_read_only_in_utc_with_the_statement_timeout(erp, db):
    read_only, timeout = ("@@tx_read_only", "@@max_statement_time")
    if erp[2] == "mysql":
        read_only, timeout = ("@@transaction_read_only", "@@max_execution_time")
    query = f"""SELECT id, updated_at, {read_only} AS read_only, {timeout} AS timeout,
                       @@time_zone AS zone
                FROM customers WHERE id < 3"""  # noqa: S608 (two names of variables)
    rules = "userId = $.id\ntraits.read_only = $.read_only\ntraits.timeout = $.timeout\n"
    rules += "traits.zone = $.zone"
    connection = connect(
        erp, table="", query=query, statement_timeout=7, streams={"rows": {"rules": rules}}
    )
    drive(services.start_run(connection=connection))
    assert payload("1")["traits"] == {
        "read_only": 1,
        "timeout": 7.0 if erp[2] == "mariadb" else 7000,
        "zone": "+00:00",
    }


def test_a_statement_past_the_timeout_is_stopped_with_the_reason(erp, db):
    query = "SELECT id, updated_at, SLEEP(3) AS napped FROM customers WHERE id = 1"
    connection = connect(erp, table="", query=query, statement_timeout=1)
    with pytest.raises(ConnectorError) as caught:
        sql.read(sync.reader_for(connection), stream=sql.KIND.streams[0], cursor=None)
    assert caught.value.retryable
    assert "took longer than the statement timeout" in caught.value.message


def test_a_loopback_server_is_refused_unless_allowed(erp, db):
    connection = connect(erp)
    with override_settings(CDP_OUTBOUND_ALLOWED_NETWORKS=[]):
        result = services.test_connection(connection=connection)
    assert (result.ok, result.code) == (False, "unreachable")
    assert "loopback" in result.message


def test_a_connection_url_secret_must_name_the_same_server(erp, db):
    database, user, _ = erp
    admin = _admin_args()
    connection = connect(erp, password="")
    secret = PASSWORD.replace("$", "%24").replace("'", "%27").replace("`", "%60")
    good = f"mysql://{user}:{secret}@{admin['host']}:{admin['port']}/{database}"
    services.set_secrets(connection=connection, secrets={"url": good})
    assert services.test_connection(connection=connection).ok
    elsewhere = good.replace(f"/{database}", "/mysql")
    services.set_secrets(connection=connection, secrets={"url": elsewhere})
    result = services.test_connection(connection=connection)
    assert (result.ok, result.code) == (False, "config")
    assert "another server or database" in result.message


def test_names_are_quoted_identifiers_never_sql(erp, db):
    # A table whose name holds a backtick and a %: read as a name, not as SQL.
    db.execute("CREATE TABLE `odd``name%s` (id INT PRIMARY KEY, updated_at DATETIME)")
    db.execute("INSERT INTO `odd``name%%s` VALUES (1, %s)", [BASE])
    db.execute(f"GRANT SELECT ON {_quoted(erp[0])}.`odd``name%%s` TO %s@'%%'", [erp[1]])
    run = drive(services.start_run(connection=connect(erp, table="odd`name%s")))
    assert (run.status, run.stored) == (SyncRun.Status.SUCCEEDED, 1), run.error


def test_a_timestamp_column_is_read_in_utc_whatever_the_servers_zone(erp, db):
    db.execute("DROP TABLE IF EXISTS visits")
    db.execute("CREATE TABLE visits (id INT PRIMARY KEY, changed TIMESTAMP NULL)")
    # Written by a client two hours east of UTC: the server keeps the instant.
    db.execute("SET time_zone = '+02:00'")
    db.execute("INSERT INTO visits VALUES (1, '2026-03-01 12:00:00')")
    db.execute("SET time_zone = SYSTEM")
    db.execute(f"GRANT SELECT ON {_quoted(erp[0])}.visits TO %s@'%%'", [erp[1]])
    rules = "userId = $.id\ntraits.changed = $.changed"
    connection = connect(
        erp, table="visits", cursor_column="changed", streams={"rows": {"rules": rules}}
    )
    drive(services.start_run(connection=connection))
    assert payload("1")["traits"] == {"changed": "2026-03-01T10:00:00+00:00"}
