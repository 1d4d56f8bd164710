"""A statement sent now and read later (cdp_site/pgsend.py): its rows as text, parameters
of each kind, Django's error for a failing statement, and the connection usable after."""

from datetime import UTC, datetime

import pytest
from django.db import DataError, connection

from cdp_site.pgsend import SentStatement

pytestmark = pytest.mark.django_db(transaction=True)


def test_rows_come_back_as_text_once_read_and_again_when_asked():
    at = datetime(2026, 11, 28, 19, 30, 15, 123456, tzinfo=UTC)
    statement = SentStatement(
        "SELECT $1::bigint + 1, $2::timestamptz = '2026-11-28 19:30:15.123456+00', "
        "array_length($3::bigint[], 1), $4::text IS NULL, $5::text",
        [41, at, [1, 2, 3], None, "zoë"],
    )
    assert statement.rows() == [("42", "t", "3", "t", "zoë")]
    assert statement.rows() == [("42", "t", "3", "t", "zoë")]  # read once, kept
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


def test_a_failing_statement_raises_djangos_error_and_the_connection_goes_on():
    statement = SentStatement("SELECT 1 / $1::int", [0])
    for _ in range(2):  # asked again, the same error (not an empty result)
        with pytest.raises(DataError, match="division by zero"):
            statement.rows()
    assert SentStatement("SELECT generate_series(1, $1::int)", [3]).rows() == [
        ("1",),
        ("2",),
        ("3",),
    ]


def test_a_named_statement_is_prepared_once_per_connection_and_again_after_a_reconnect():
    def prepared_here():
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name = 'twice'")
            return cursor.fetchone()[0]

    for value in (1, 2):
        assert SentStatement("SELECT $1::int * 2", [value], name="twice").rows() == [
            (str(value * 2),)
        ]
    assert prepared_here() == 1
    connection.close()  # a new connection knows nothing of the old one's statements
    assert prepared_here() == 0
    assert SentStatement("SELECT $1::int * 2", [5], name="twice").rows() == [("10",)]
    assert prepared_here() == 1
