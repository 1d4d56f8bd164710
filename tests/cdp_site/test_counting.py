"""Bounded counts: exact up to the cap, a floor past it, "unknown" when slow, and the
caller's own statement timeout left as it was; ``time_limit``, the block under them."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from cdp_site.counting import TimeLimitExceeded, bounded_count, estimated_rows, time_limit

pytestmark = pytest.mark.django_db


def timeout() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        return cursor.fetchone()[0]


def test_counts_exactly_up_to_the_cap_then_gives_a_floor(make_user):
    for role in ("Admin", "Viewer", "Marketer"):
        make_user(role)
    users = get_user_model().objects.all()
    assert (bounded_count(users, cap=5).value, bounded_count(users, cap=5).how) == (3, "exact")
    assert (bounded_count(users, cap=2).value, bounded_count(users, cap=2).how) == (2, "at_least")


def test_a_count_slower_than_its_time_limit_is_unknown_and_the_timeout_is_restored(make_user):
    make_user("Viewer")
    before = timeout()
    slow = get_user_model().objects.extra(where=["pg_sleep(0.2) IS NOT NULL"])  # noqa: S610
    assert bounded_count(slow, timeout_ms=20).how == "unknown"
    assert timeout() == before
    assert bounded_count(get_user_model().objects.all(), timeout_ms=20).how == "exact"
    assert timeout() == before


def test_a_block_past_its_time_limit_raises_and_the_callers_work_and_timeout_remain(make_user):
    before = timeout()
    with pytest.raises(TimeLimitExceeded), time_limit(20):
        make_user("Viewer")  # written inside the block: rolled back with it
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(0.2)")
    assert timeout() == before
    assert not get_user_model().objects.exists()
    with time_limit(1000):
        make_user("Admin")
    assert timeout() == before
    assert get_user_model().objects.count() == 1


def test_estimates_come_from_the_statistics_of_a_table_and_its_partitions():
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE auth_user")
    assert estimated_rows("auth_user") == 0
    assert estimated_rows("no_such_table") is None
    estimated_rows("integrations_event")  # partitioned: summed, never an error
