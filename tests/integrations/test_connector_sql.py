"""The SQL database connector against real databases: each test here runs on PostgreSQL and
on MySQL / MariaDB (tests.support.sql_servers; MySQL's are skipped, with the reason, when
no server answers at CDP_TEST_MYSQL_URL), then PostgreSQL's own. MySQL's own are in
test_connector_sql_mysql.py. Runs are driven slice by slice, as the task does.
"""

from datetime import timedelta

import pytest
from django.db import connection as django_connection
from django.test import override_settings

from integrations.connectors import services
from integrations.connectors.models import StreamState, SyncRun
from integrations.models import Event, RejectedEvent
from tests.support.connectors import remaining_by_slice
from tests.support.sql_servers import drive, payload

# One worker at a time: PostgreSQL's ERP rewrites the server's pg_hba.conf.
pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("sql_erp")]
postgresql_only = pytest.mark.parametrize("erp", ["postgresql"], indirect=True)


def test_a_table_is_read_in_keyset_pages_and_each_row_stored_once(erp, erp_db):
    connection = erp.connect()
    run = drive(services.start_run(connection=connection))
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert (run.pages, run.records_read, run.stored, run.rejected) == (3, 250, 250, 0)
    assert Event.objects.values("user_id").distinct().count() == 250
    state = StreamState.objects.get(connection=connection, stream="rows")
    newest = "2026-03-01T10:04:10+00:00"
    assert state.cursor == {"since": newest, "kind": "time", "column": "updated_at"}
    row = payload("7")
    assert row["traits"]["email"] == "person7@example.com"
    assert row["timestamp"].startswith("2026-03-01T10:00:07")
    # The next run reads only the overlap window again, and stores none of it twice.
    again = drive(services.start_run(connection=connection))
    assert (again.records_read, again.stored, again.duplicates) == (250, 0, 250)


def test_a_pass_counts_its_rows_once_for_the_eta_then_counts_down(erp, erp_db):
    run = services.start_run(connection=erp.connect())
    # One COUNT after the first page, then what each page read.
    assert remaining_by_slice(run, slices=3) == [150, 50, None]
    assert run.status == SyncRun.Status.SUCCEEDED and run.requests == 4  # 3 pages, 1 count


def test_a_row_updated_since_the_last_run_is_stored_again(erp, erp_db):
    connection = erp.connect()
    drive(services.start_run(connection=connection))
    erp_db.execute(
        "UPDATE customers SET email = 'new@example.com', updated_at = %s WHERE id = 3",
        [erp.base + timedelta(hours=2)],
    )
    run = drive(services.start_run(connection=connection))
    assert run.stored == 1
    assert payload("3")["traits"]["email"] == "new@example.com"
    assert Event.objects.filter(user_id="3").count() == 2


def test_a_row_committed_late_inside_the_overlap_window_is_picked_up(erp, erp_db):
    connection = erp.connect(overlap_minutes=10)
    drive(services.start_run(connection=connection))
    newest = erp.base + timedelta(seconds=250)
    # Two transactions that began before the last run and committed after it: their rows
    # carry an updated-at older than what the last run saw.
    erp_db.execute(
        "INSERT INTO customers (id, email, total, updated_at) VALUES "
        "(900, 'late@example.com', 1, %s), (901, 'too-late@example.com', 1, %s)",
        [newest - timedelta(minutes=5), newest - timedelta(minutes=30)],
    )
    run = drive(services.start_run(connection=connection))
    assert run.stored == 1
    assert Event.objects.filter(user_id="900").exists()
    # Outside the window: the window is what bounds the re-read.
    assert not Event.objects.filter(user_id="901").exists()


def test_rows_without_a_key_value_are_rejected_with_the_reason(erp, erp_db):
    base = erp.base
    erp_db.execute(
        "INSERT INTO walkins VALUES (1, 'a@example.com', %s), (NULL, 'nokey@example.com', %s),"
        " (2, 'b@example.com', %s)",
        [base, base + timedelta(seconds=1), base + timedelta(seconds=1)],
    )
    run = drive(services.start_run(connection=erp.connect(table="walkins")))
    assert run.status == SyncRun.Status.SUCCEEDED
    assert (run.stored, run.rejected) == (2, 1)
    assert run.errors[0]["reason"] == "The record has no primary key ($.id)."
    assert "nokey@example.com" in run.errors[0]["record"]
    assert RejectedEvent.objects.get().code == "connector_record"


def test_a_custom_query_is_read_in_pages(erp, erp_db):
    # Each dialect's own comment at the end of a line.
    comment = "# even" if erp.dialect == "mysql" else "-- even"
    query = f"""
        -- the shop's customers with an even number (a comment at the end is fine too)
        SELECT id AS customer_no, LOWER(email) AS email, updated_at
        FROM customers
        WHERE email LIKE 'person%@example.com' AND id % 2 = 0 {comment}
    """  # noqa: S608 (a comment)
    connection = erp.connect(
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


def test_a_growing_id_as_the_incremental_column_reads_only_new_rows(erp, erp_db):
    connection = erp.connect(cursor_column="id", overlap_ids=5)
    drive(services.start_run(connection=connection))
    erp_db.execute("UPDATE customers SET email = 'changed@example.com' WHERE id = 249")
    erp_db.execute(
        "INSERT INTO customers (id, email, total, updated_at)"
        " VALUES (251, 'new@example.com', 1, %s)",
        [erp.base + timedelta(days=1)],
    )
    run = drive(services.start_run(connection=connection))
    # ids 245..251 read again (the overlap): each row is one message, so only 251 is new.
    assert (run.records_read, run.stored) == (7, 1)
    assert StreamState.objects.get(connection=connection).cursor == {
        "since": 251,
        "kind": "number",
        "column": "id",
    }


def test_test_connection_succeeds_on_a_good_configuration(erp, erp_db):
    result = services.test_connection(connection=erp.connect())
    assert result.ok, result.message


@pytest.mark.parametrize(
    ("changes", "code", "words"),
    [
        ({"password": "wrong"}, "auth", "refused the password"),
        ({"table": "payroll"}, "permission", "may not read the table 'payroll'"),
        ({"key_column": "customer_id"}, "config", "has no key column 'customer_id'"),
        ({"cursor_column": "changed_at"}, "config", "has no incremental column 'changed_at'"),
        ({"cursor_column": "email"}, "config", "must be a date or time"),
    ],
)
def test_test_connection_says_what_is_wrong(erp, erp_db, changes, code, words):
    result = services.test_connection(connection=erp.connect(**changes))
    assert (result.ok, result.code) == (False, code), result.message
    assert words in result.message


def test_a_closed_port_is_unreachable(erp, erp_db):
    connection = erp.connect()
    services.update_connection(connection=connection, base_url=f"{erp.dialect}://127.0.0.1:9/x")
    services.set_secrets(connection=connection, secrets={"password": erp.password})
    result = services.test_connection(connection=connection)
    assert (result.ok, result.code) == (False, "unreachable")
    assert "127.0.0.1:9" in result.message


def test_a_run_with_a_wrong_password_fails_with_the_reason(erp, erp_db):
    run = drive(services.start_run(connection=erp.connect(password="wrong")))
    assert run.status == SyncRun.Status.FAILED
    assert "refused the password" in run.error
    assert Event.objects.count() == 0


@pytest.mark.parametrize(
    ("erp", "query"),
    [
        *[
            (dialect, query)
            for dialect in ("postgresql", "mysql")
            for query in ("DELETE FROM customers", "SELECT 1; DROP TABLE customers")
        ],
        ("postgresql", "WITH gone AS (DELETE FROM customers RETURNING *) SELECT * FROM gone"),
        ("postgresql", "SELECT * INTO copy_of_customers FROM customers"),
        ("postgresql", "SELECT * FROM customers WHERE id = $1"),
        ("postgresql", ""),
        ("mysql", "SELECT * INTO OUTFILE '/tmp/customers' FROM customers"),
        ("mysql", "SELECT id, updated_at FROM customers /*! INTO OUTFILE '/tmp/customers' */"),
        ("mysql", "SELECT * FROM customers WHERE id = %s"),
    ],
    indirect=["erp"],
)
def test_a_statement_that_is_not_one_select_is_refused_when_saved(erp, query):
    with pytest.raises(services.ConnectionInvalid) as caught:
        erp.connect(table="", query=query)
    assert set(caught.value.errors) & {"config.query", "config.table"}


def test_a_loopback_server_is_refused_unless_allowed(erp, erp_db):
    connection = erp.connect()
    with override_settings(CDP_OUTBOUND_ALLOWED_NETWORKS=[]):
        result = services.test_connection(connection=connection)
    assert (result.ok, result.code) == (False, "unreachable")
    assert "loopback" in result.message


def test_a_connection_url_secret_must_name_the_same_server(erp, erp_db):
    connection = erp.connect(password="")
    good = erp.url_with_password()
    services.set_secrets(connection=connection, secrets={"url": good})
    assert services.test_connection(connection=connection).ok
    elsewhere = good.replace(f"/{erp.database}", f"/{erp.other_database}")
    services.set_secrets(connection=connection, secrets={"url": elsewhere})
    result = services.test_connection(connection=connection)
    assert (result.ok, result.code) == (False, "config")
    assert "another server or database" in result.message


# --- PostgreSQL's own ----------------------------------------------------------------------


@postgresql_only
def test_values_become_json(erp, erp_db):
    rules = "userId = $.id\ntraits.total = $.total\ntraits.born = $.born"
    drive(services.start_run(connection=erp.connect(streams={"rows": {"rules": rules}})))
    assert Event.objects.count() == 250
    assert payload("8")["traits"] == {"total": 10.0, "born": "1990-01-09"}


@postgresql_only
def test_rows_can_be_track_calls_and_another_incremental_column_starts_over(erp, erp_db):
    rules = 'userId = $.id\nevent = "Order Completed"\nproperties.revenue = $.total'
    connection = erp.connect(
        streams={"rows": {"message_kind": "track", "rules": rules}}, cursor_column="id"
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


@postgresql_only
def test_a_missing_table_is_named(erp, erp_db):
    result = services.test_connection(connection=erp.connect(table="public.orders"))
    assert (result.ok, result.code) == (False, "config"), result.message
    assert "'public.orders' does not exist" in result.message


@postgresql_only
def test_a_missing_database_is_told(erp, erp_db):
    connection = erp.connect()
    services.update_connection(
        connection=connection, base_url=connection.base_url.replace(erp.database, "nosuchdb")
    )
    services.set_secrets(connection=connection, secrets={"password": erp.password})
    result = services.test_connection(connection=connection)
    assert (result.ok, result.code) == (False, "config")
    assert "has no database 'nosuchdb'" in result.message


@postgresql_only
def test_a_query_that_writes_fails_at_run_time_the_session_being_read_only(erp, erp_db):
    # The server's superuser, who could write anything: the session still refuses.
    owner = django_connection.settings_dict["USER"]
    query = "SELECT id, nextval('tickets') AS ticket, updated_at FROM customers"
    run = drive(services.start_run(connection=erp.connect(user=owner, table="", query=query)))
    assert run.status == SyncRun.Status.FAILED
    assert "tries to write" in run.error and "read-only transaction" in run.error
    assert erp_db.execute("SELECT last_value FROM tickets").fetchone()[0] == 1


@postgresql_only
def test_the_workers_own_database_password_is_never_sent(erp, erp_db, monkeypatch):
    # libpq would take PGPASSWORD from the environment for a connection that gives none.
    monkeypatch.setenv("PGPASSWORD", erp.password)
    result = services.test_connection(connection=erp.connect(password=""))
    assert (result.ok, result.code) == (False, "auth")


@postgresql_only
def test_every_session_is_read_only_with_the_statement_timeout(erp, erp_db):
    query = """SELECT id, updated_at, current_setting('transaction_read_only') AS read_only,
                      current_setting('statement_timeout') AS timeout,
                      current_setting('TimeZone') AS zone
               FROM customers WHERE id < 3"""
    rules = "userId = $.id\ntraits.read_only = $.read_only\ntraits.timeout = $.timeout\n"
    rules += "traits.zone = $.zone"
    connection = erp.connect(
        table="", query=query, statement_timeout=7, streams={"rows": {"rules": rules}}
    )
    drive(services.start_run(connection=connection))
    assert payload("1")["traits"] == {"read_only": "on", "timeout": "7s", "zone": "UTC"}
