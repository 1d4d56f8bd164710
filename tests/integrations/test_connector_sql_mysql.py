"""The SQL database connector on MySQL and MariaDB: what only they do (what every dialect
does is in test_connector_sql.py). The server is the one at CDP_TEST_MYSQL_URL
(tests.support.sql_servers); without one these tests are skipped, with the reason.
"""

import base64
from datetime import timedelta

import pytest

from integrations.connectors import services, sync
from integrations.connectors.base import ConnectorError
from integrations.connectors.kinds import sql
from integrations.connectors.models import SyncRun
from integrations.models import Event
from tests.support.sql_servers import PHOTO, drive, mysql_admin_args, mysql_quoted, payload

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.xdist_group("sql_erp"),
    pytest.mark.parametrize("erp", ["mysql"], indirect=True),
]


def _admin() -> dict:
    """The server's administrator, as a connection's settings: it may read every table."""
    args = mysql_admin_args()
    return {"user": args["user"], "password": args["password"]}


def test_values_become_json_and_datetimes_are_utc(erp, erp_db):
    rules = "userId = $.id\n" + "\n".join(
        f"traits.{name} = $.{name}" for name in ("total", "born", "photo", "updated_at")
    )
    drive(services.start_run(connection=erp.connect(streams={"rows": {"rules": rules}})))
    assert Event.objects.count() == 250
    assert payload("8")["traits"] == {
        "total": 10.0,
        "born": "1990-01-09",
        "photo": base64.b64encode(PHOTO).decode(),
        "updated_at": "2026-03-01T10:00:08+00:00",
    }


def test_a_page_that_ends_on_a_row_without_a_key_goes_on_past_it(erp, erp_db):
    # The first page ends on the row without a key; MySQL sorts NULL first, so the rows
    # with a key and the same updated-at come after it, on the next page.
    base = erp.base
    earlier = [
        (n, f"walkin{n}@example.com", base - timedelta(hours=1, seconds=-n)) for n in range(1, 100)
    ]
    same_time = [(n, f"walkin{n}@example.com", base) for n in range(100, 150)]
    erp_db.executemany(
        "INSERT INTO walkins VALUES (%s, %s, %s)",
        [*earlier, (None, "nokey@example.com", base), *same_time],
    )
    run = drive(services.start_run(connection=erp.connect(table="walkins")))
    assert (run.pages, run.stored, run.rejected) == (2, 149, 1)


def test_mariadb_urls_name_the_same_dialect(erp, erp_db):
    connection = erp.connect()
    services.update_connection(
        connection=connection, base_url=connection.base_url.replace("mysql://", "mariadb://")
    )
    services.set_secrets(connection=connection, secrets={"password": erp.password})
    result = services.test_connection(connection=connection)
    assert result.ok, result.message


@pytest.mark.parametrize(
    ("changes", "code", "words"),
    [
        ({"password": "wrong"}, "auth", "refused the password of user 'cdp_reader_"),
        # A user with grants on some tables only: MySQL does not say whether it exists.
        ({"table": "orders"}, "permission", "may not read the table 'orders', or it does not"),
        (
            {**_admin(), "table": "orders"},
            "config",
            "the table 'orders' does not exist",
        ),
        ({"cursor_column": "email"}, "config", "is of type varchar: it must be a date or time"),
        (
            {"table": "", "query": "SELECT id, nickname, updated_at FROM customers"},
            "config",
            "The query lacks a column the connector reads (Unknown column 'nickname'",
        ),
        ({"sslmode": "require"}, "tls", "TLS connection"),
    ],
)
def test_test_connection_says_what_is_wrong(erp, erp_db, changes, code, words):
    if changes.get("sslmode") == "require":
        erp_db.execute("SHOW GLOBAL VARIABLES LIKE 'have_ssl'")
        if (erp_db.fetchone() or ("", "YES"))[1] == "YES":
            pytest.skip("this server offers TLS (with a certificate the test cannot check)")
    result = services.test_connection(connection=erp.connect(**changes))
    assert (result.ok, result.code) == (False, code), result.message
    assert words in result.message


def test_a_missing_database_is_told_apart_from_one_the_user_may_not_use(erp, erp_db):
    def elsewhere(connection, password: str):
        base_url = connection.base_url.replace(erp.database, "nosuchdb")
        services.update_connection(connection=connection, base_url=base_url)
        services.set_secrets(connection=connection, secrets={"password": password})
        return services.test_connection(connection=connection)

    # The reader may not know whether it exists: the server says "access denied".
    result = elsewhere(erp.connect(), erp.password)
    assert (result.ok, result.code) == (False, "permission")
    assert "may not use database 'nosuchdb'" in result.message
    # The server's administrator may: there is none.
    result = elsewhere(erp.connect(**_admin()), _admin()["password"])
    assert (result.ok, result.code) == (False, "config")
    assert "has no database 'nosuchdb'" in result.message


def test_a_query_that_writes_fails_at_run_time_the_session_being_read_only(erp, erp_db):
    if erp.server != "mariadb":
        pytest.skip("a SELECT that writes needs a MariaDB sequence")
    erp_db.execute("CREATE SEQUENCE tickets")
    # The server's administrator, who could write anything: the session still refuses.
    connection = erp.connect(
        **_admin(),
        table="",
        query="SELECT id, NEXTVAL(tickets) AS ticket, updated_at FROM customers",
    )
    run = drive(services.start_run(connection=connection))
    assert run.status == SyncRun.Status.FAILED
    assert "tries to write" in run.error and "READ ONLY transaction" in run.error
    erp_db.execute("SELECT NEXTVAL(tickets)")
    assert erp_db.fetchone()[0] == 1


def test_every_session_is_read_only_in_utc_with_the_statement_timeout(erp, erp_db):
    read_only, timeout = ("@@tx_read_only", "@@max_statement_time")
    if erp.server == "mysql":
        read_only, timeout = ("@@transaction_read_only", "@@max_execution_time")
    query = f"""SELECT id, updated_at, {read_only} AS read_only, {timeout} AS timeout,
                       @@time_zone AS zone
                FROM customers WHERE id < 3"""  # noqa: S608 (two names of variables)
    rules = "userId = $.id\ntraits.read_only = $.read_only\ntraits.timeout = $.timeout\n"
    rules += "traits.zone = $.zone"
    connection = erp.connect(
        table="", query=query, statement_timeout=7, streams={"rows": {"rules": rules}}
    )
    drive(services.start_run(connection=connection))
    assert payload("1")["traits"] == {
        "read_only": 1,
        "timeout": 7.0 if erp.server == "mariadb" else 7000,
        "zone": "+00:00",
    }


def test_a_statement_past_the_timeout_is_stopped_with_the_reason(erp, erp_db):
    query = "SELECT id, updated_at, SLEEP(3) AS napped FROM customers WHERE id = 1"
    connection = erp.connect(table="", query=query, statement_timeout=1)
    with pytest.raises(ConnectorError) as caught:
        sql.read(sync.reader_for(connection), stream=sql.KIND.streams[0], cursor=None)
    assert caught.value.retryable
    assert "took longer than the statement timeout" in caught.value.message


def test_names_are_quoted_identifiers_never_sql(erp, erp_db):
    # A table whose name holds a backtick and a %: read as a name, not as SQL.
    erp_db.execute("CREATE TABLE `odd``name%s` (id INT PRIMARY KEY, updated_at DATETIME)")
    erp_db.execute("INSERT INTO `odd``name%%s` VALUES (1, %s)", [erp.base])
    erp_db.execute(
        f"GRANT SELECT ON {mysql_quoted(erp.database)}.`odd``name%%s` TO %s@'%%'", [erp.user]
    )
    run = drive(services.start_run(connection=erp.connect(table="odd`name%s")))
    assert (run.status, run.stored) == (SyncRun.Status.SUCCEEDED, 1), run.error


def test_a_timestamp_column_is_read_in_utc_whatever_the_servers_zone(erp, erp_db):
    erp_db.execute("DROP TABLE IF EXISTS visits")
    erp_db.execute("CREATE TABLE visits (id INT PRIMARY KEY, changed TIMESTAMP NULL)")
    # Written by a client two hours east of UTC: the server keeps the instant.
    erp_db.execute("SET time_zone = '+02:00'")
    erp_db.execute("INSERT INTO visits VALUES (1, '2026-03-01 12:00:00')")
    erp_db.execute("SET time_zone = SYSTEM")
    erp_db.execute(f"GRANT SELECT ON {mysql_quoted(erp.database)}.visits TO %s@'%%'", [erp.user])
    rules = "userId = $.id\ntraits.changed = $.changed"
    connection = erp.connect(
        table="visits", cursor_column="changed", streams={"rows": {"rules": rules}}
    )
    drive(services.start_run(connection=connection))
    assert payload("1")["traits"] == {"changed": "2026-03-01T10:00:00+00:00"}
