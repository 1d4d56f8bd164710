"""List parameters sent as one array literal (cdp_site/pgarrays.py): whatever the
elements hold, PostgreSQL reads back exactly the list that was sent."""

import json
import math
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from cdp_site.pgarrays import adapt, array_literal

pytestmark = pytest.mark.django_db

AWKWARD_TEXTS = [
    "",
    "NULL",
    "null",
    " padded ",
    "a,b",
    "{braces}",
    'quote " inside',
    "back\\slash",
    '\\"',
    "tab\tnew\nline",
    "zoë ✓ 𝄞",
    "it's",
]


def read_back(sql: str, value):
    with connection.cursor() as cursor:
        cursor.execute(sql, adapt([value]))
        return cursor.fetchone()[0]


def test_texts_with_quotes_backslashes_commas_braces_and_the_word_null_read_back_unchanged():
    assert read_back("SELECT %s::text[]", AWKWARD_TEXTS) == AWKWARD_TEXTS


def test_none_is_null_and_not_the_text_null():
    assert read_back("SELECT %s::text[]", [None, "NULL", None]) == [None, "NULL", None]


def test_json_documents_arrive_as_jsonb_values():
    documents = [{"name": 'Rain "Pro" Jacket', "path": "C:\\shop", "n": 1.5}, [], {"ü": None}]
    texts = [json.dumps(d) for d in documents]
    assert [json.loads(v) for v in read_back("SELECT %s::jsonb[]::text[]", texts)] == documents


def test_times_keep_their_instant_and_dates_their_day():
    india_minus = timezone(timedelta(hours=-5, minutes=-30))
    moments = [
        datetime(2026, 12, 7, 1, 2, 3, 456789, tzinfo=UTC),
        datetime(2026, 3, 29, 2, 30, tzinfo=india_minus),
    ]
    assert read_back("SELECT %s::timestamptz[]", moments) == moments
    assert read_back("SELECT %s::date[]", [date(2024, 2, 29)]) == [date(2024, 2, 29)]


def test_numbers_booleans_and_non_finite_floats():
    assert read_back("SELECT %s::bigint[]", [0, -1, 2**63 - 1]) == [0, -1, 2**63 - 1]
    assert read_back("SELECT %s::boolean[]", [True, False, None]) == [True, False, None]
    assert read_back("SELECT %s::numeric[]", [Decimal("1.10")]) == [Decimal("1.10")]
    floats = read_back("SELECT %s::float8[]", [0.1, -2.5e300, math.inf, -math.inf, math.nan])
    assert floats[:4] == [0.1, -2.5e300, math.inf, -math.inf] and math.isnan(floats[4])


def test_an_untyped_literal_takes_the_type_of_what_it_is_compared_with():
    assert read_back("SELECT 3::bigint = ANY(%s)", [1, 2, 3]) is True


def test_lists_that_are_not_flat_scalars_are_left_to_psycopg():
    nested = [[1, 2], [3, 4]]
    assert array_literal(nested) is nested
    assert array_literal([b"bytes"]) == [b"bytes"]
    assert read_back("SELECT %s::int[]", nested) == nested


def test_mappings_are_adapted_by_name_and_other_values_pass_through():
    assert adapt({"ids": [1, 2], "one": 3}) == {"ids": "{1,2}", "one": 3}
    assert adapt(None) is None


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.none()
        | st.text(alphabet=st.characters(exclude_characters="\x00", exclude_categories=("Cs",)))
    )
)
def test_any_list_of_texts_reads_back_unchanged(texts):
    assert read_back("SELECT %s::text[]", texts) == texts
