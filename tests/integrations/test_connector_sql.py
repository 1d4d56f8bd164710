"""The SQL database connector against a second, real PostgreSQL database.

A database of its own is created on the test server for this module (the "ERP"), with a
role that may log in with a password and read only some tables; the server's pg_hba.conf
gets one line asking that role for its password (the test server trusts everyone else),
and everything is put back afterwards. Runs are driven slice by slice, as the task does.
"""

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from django.db import connection as django_connection
from django.test import override_settings
from psycopg import sql

from integrations.connectors import services, sync
from integrations.connectors.models import StreamState, SyncRun
from integrations.models import Event, RejectedEvent
from tests.support.connectors import remaining_by_slice

pytestmark = pytest.mark.django_db

BASE = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
PASSWORD = "s3cret-Pa$$"


def _admin_dsn(dbname: str | None = None) -> dict:
    settings = django_connection.settings_dict
    return {
        "host": settings["HOST"],
        "port": settings["PORT"] or 5432,
        "user": settings["USER"],
        "dbname": dbname or "postgres",
        "autocommit": True,
    }


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


@pytest.fixture(scope="module")
def erp(django_db_blocker):
    """(dbname, reader role): a database with a role that needs its password."""
    tag = uuid.uuid4().hex[:8]
    dbname, role = f"cdp_erp_{tag}", f"cdp_reader_{tag}"
    with django_db_blocker.unblock():
        admin = psycopg.connect(**_admin_dsn(django_connection.settings_dict["NAME"]))
    hba = admin.execute("SHOW hba_file").fetchone()[0]
    original = admin.execute("SELECT pg_read_file(%s)", [hba]).fetchone()[0].splitlines()
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    admin.execute(
        sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
            sql.Identifier(role), sql.Literal(PASSWORD)
        )
    )
    ask = f"host {dbname} {role} 127.0.0.1/32 scram-sha-256"
    _rewrite_hba(admin, [ask, *original])
    try:
        yield dbname, role
    finally:
        _rewrite_hba(admin, original)
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(dbname)))
        admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
        admin.close()


@pytest.fixture
def db(erp):
    """A psycopg connection (autocommit) to the ERP database, with a fresh customers table
    of 250 rows one second apart that the reader role may read."""
    dbname, role = erp
    with psycopg.connect(**_admin_dsn(dbname)) as conn:
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
            [BASE],
        )
        for table in ("customers", "walkins"):
            conn.execute(
                sql.SQL("GRANT SELECT ON {} TO {}").format(
                    sql.Identifier(table), sql.Identifier(role)
                )
            )
        yield conn


def connect(erp, *, password: str = PASSWORD, streams: dict | None = None, **config):
    dbname, role = erp
    port = django_connection.settings_dict["PORT"]
    return services.create_connection(
        name="ERP",
        kind="sql",
        base_url=f"postgresql://127.0.0.1:{port}/{dbname}",
        config={
            "user": role,
            "table": "public.customers",
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
    newest = (BASE + timedelta(seconds=250)).isoformat()
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


def test_values_become_json(erp, db):
    rules = "userId = $.id\ntraits.total = $.total\ntraits.born = $.born"
    drive(services.start_run(connection=connect(erp, streams={"rows": {"rules": rules}})))
    assert Event.objects.count() == 250
    assert payload("8")["traits"] == {"total": 10.0, "born": "1990-01-09"}


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
        "INSERT INTO customers VALUES (900, 'late@example.com', 1, NULL, %s), "
        "(901, 'too-late@example.com', 1, NULL, %s)",
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


def test_a_custom_query_is_read_in_pages(erp, db):
    query = """
        -- the shop's customers with an even number (a comment at the end is fine too)
        SELECT id AS customer_no, lower(email) AS email, updated_at
        FROM customers
        WHERE email LIKE 'person%@example.com' AND id % 2 = 0 -- even
    """
    connection = connect(
        erp,
        table="",
        query=query,
        key_column="customer_no",
        streams={"rows": {"rules": "userId = $.customer_no\ntraits.email = $.email"}},
    )
    assert services.test_connection(connection=connection).ok  # its % are not parameters
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
    db.execute("INSERT INTO customers VALUES (251, 'new@example.com', 1, NULL, now())")
    run = drive(services.start_run(connection=connection))
    # ids 245..251 read again (the overlap): each row is one message, so only 251 is new.
    assert (run.records_read, run.stored) == (7, 1)
    assert StreamState.objects.get(connection=connection).cursor == {
        "since": 251,
        "kind": "number",
        "column": "id",
    }


def test_rows_can_be_track_calls_and_another_incremental_column_starts_over(erp, db):
    rules = 'userId = $.id\nevent = "Order Completed"\nproperties.revenue = $.total'
    connection = connect(
        erp, streams={"rows": {"message_kind": "track", "rules": rules}}, cursor_column="id"
    )
    drive(services.start_run(connection=connection))
    order = payload("4")
    assert (order["type"], order["event"], order["properties"]) == (
        "track",
        "Order Completed",
        {"revenue": 5.0},
    )
    # Paging on updated_at now: the stored cursor (an id) does not apply to it.
    services.update_connection(
        connection=connection, config=connection.config | {"cursor_column": "updated_at"}
    )
    run = drive(services.start_run(connection=connection))
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.records_read == 250


def test_test_connection_succeeds_on_a_good_configuration(erp, db):
    result = services.test_connection(connection=connect(erp))
    assert result.ok, result.message


@pytest.mark.parametrize(
    ("changes", "code", "words"),
    [
        ({"password": "wrong"}, "auth", "refused the password"),
        ({"table": "public.orders"}, "config", "'public.orders' does not exist"),
        ({"table": "payroll"}, "permission", "may not read the table 'payroll'"),
        ({"key_column": "customer_id"}, "config", "has no key column 'customer_id'"),
        ({"cursor_column": "changed_at"}, "config", "has no incremental column 'changed_at'"),
        ({"cursor_column": "email"}, "config", "must be a date or time"),
    ],
)
def test_test_connection_says_what_is_wrong(erp, db, changes, code, words):
    result = services.test_connection(connection=connect(erp, **changes))
    assert (result.ok, result.code) == (False, code), result.message
    assert words in result.message


def test_a_missing_database_and_a_closed_port_are_told_apart(erp, db):
    connection = connect(erp)
    dbname = erp[0]
    services.update_connection(
        connection=connection, base_url=connection.base_url.replace(dbname, "nosuchdb")
    )
    services.set_secrets(connection=connection, secrets={"password": PASSWORD})
    result = services.test_connection(connection=connection)
    assert (result.ok, result.code) == (False, "config")
    assert "has no database 'nosuchdb'" in result.message
    services.update_connection(connection=connection, base_url="postgresql://127.0.0.1:9/x")
    result = services.test_connection(connection=connection)
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
        "WITH gone AS (DELETE FROM customers RETURNING *) SELECT * FROM gone",
        "SELECT * INTO copy_of_customers FROM customers",
        "SELECT * FROM customers WHERE id = $1",
        "",
    ],
)
def test_a_statement_that_is_not_one_select_is_refused_when_saved(erp, query):
    with pytest.raises(services.ConnectionInvalid) as caught:
        connect(erp, table="", query=query)
    assert set(caught.value.errors) & {"config.query", "config.table"}


def test_a_query_that_writes_fails_at_run_time_the_session_being_read_only(erp, db):
    # The server's superuser, who could write anything: the session still refuses.
    owner = django_connection.settings_dict["USER"]
    query = "SELECT id, nextval('tickets') AS ticket, updated_at FROM customers"
    run = drive(services.start_run(connection=connect(erp, user=owner, table="", query=query)))
    assert run.status == SyncRun.Status.FAILED
    assert "tries to write" in run.error and "read-only transaction" in run.error
    assert db.execute("SELECT last_value FROM tickets").fetchone()[0] == 1


def test_a_loopback_server_is_refused_unless_allowed(erp, db):
    connection = connect(erp)
    with override_settings(CDP_OUTBOUND_ALLOWED_NETWORKS=[]):
        result = services.test_connection(connection=connection)
    assert (result.ok, result.code) == (False, "unreachable")
    assert "loopback" in result.message


def test_a_connection_url_secret_must_name_the_same_server(erp, db):
    dbname, role = erp
    port = django_connection.settings_dict["PORT"]
    connection = connect(erp, password="")
    good = f"postgresql://{role}:{PASSWORD.replace('$', '%24')}@127.0.0.1:{port}/{dbname}"
    services.set_secrets(connection=connection, secrets={"url": good})
    assert services.test_connection(connection=connection).ok
    elsewhere = good.replace(f"/{dbname}", "/postgres")
    services.set_secrets(connection=connection, secrets={"url": elsewhere})
    result = services.test_connection(connection=connection)
    assert (result.ok, result.code) == (False, "config")
    assert "another server or database" in result.message


def test_the_workers_own_database_password_is_never_sent(erp, db, monkeypatch):
    # libpq would take PGPASSWORD from the environment for a connection that gives none.
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    result = services.test_connection(connection=connect(erp, password=""))
    assert (result.ok, result.code) == (False, "auth")


def test_every_session_is_read_only_with_the_statement_timeout(erp, db):
    query = """SELECT id, updated_at, current_setting('transaction_read_only') AS read_only,
                      current_setting('statement_timeout') AS timeout,
                      current_setting('TimeZone') AS zone
               FROM customers WHERE id < 3"""
    rules = "userId = $.id\ntraits.read_only = $.read_only\ntraits.timeout = $.timeout\n"
    rules += "traits.zone = $.zone"
    connection = connect(
        erp, table="", query=query, statement_timeout=7, streams={"rows": {"rules": rules}}
    )
    drive(services.start_run(connection=connection))
    assert payload("1")["traits"] == {"read_only": "on", "timeout": "7s", "zone": "UTC"}
