import os

import pytest
from django.db import connection

from cdp_site import services
from cdp_site.permissions import ROLES
from integrations.collect import keys
from integrations.tracking_plan import door

# Playwright's sync API runs an event loop in the test thread; Django's ORM guard
# would otherwise refuse the test's own database calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Shared fixtures: a real SMTP server (smtp_inbox), the SQL connector's databases (erp),
# an imitation of a Twilio-compatible SMS API (twilio).
pytest_plugins = ["tests.support.smtp", "tests.support.sql_servers", "tests.support.twilio"]

PASSWORD = "correct-horse-battery-staple"


def pytest_collection_modifyitems(items):
    """``make test`` runs two pytest-xdist workers (``--dist loadgroup``). The tests that
    start their own processes or drive Chromium share one group, so they run one after
    another on one worker while the other worker takes the rest: no two of them compete
    for the two cores, or for the ports and processes they start."""
    for item in items:
        if item.get_closest_marker("services") or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.xdist_group("processes"))


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    """Each test starts and ends with empty write-key and tracking-plan caches (they live
    per process)."""
    keys.clear_cache()
    door.clear_cache()
    yield
    keys.clear_cache()
    door.clear_cache()


def _transactional(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    names = request.fixturenames
    return bool(marker and marker.kwargs.get("transaction")) or (
        "transactional_db" in names or "live_server" in names
    )


@pytest.fixture(autouse=True)
def _no_events_left_behind(request, django_db_blocker):
    """A transactional test starts with no stored events: the flush after the one before
    empties the tables Django manages, not the partitioned events table (RunSQL), and a
    live server may still store a late request's events (and their inbox rows) after it,
    for a source the flush removed; processing them here failed on that source."""
    if _transactional(request):
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute("TRUNCATE integrations_eventinbox, integrations_event")
    yield


@pytest.fixture
def make_user(db):
    def make(role: str, email: str | None = None):
        email = email or role.lower().replace(" ", "-") + "@example.org"
        return services.create_user(email=email, role=role, password=PASSWORD).user

    return make


@pytest.fixture
def users_by_role(make_user):
    return {role: make_user(role) for role in ROLES}


@pytest.fixture
def client_as(client, make_user):
    def login(role: str):
        client.force_login(make_user(role))
        return client

    return login


@pytest.fixture
def many_profiles(db):
    """``insert(count, same_time_every=1)`` puts active profiles straight into the table
    (last seen one minute apart, ``same_time_every`` sharing each minute) and ANALYZEs
    it, so that PostgreSQL's estimate of the table says how many there are.

    ANALYZE writes its figures outside the test's transaction: they would outlive the
    test's rollback, so the rows are deleted and the table analysed again at the end."""

    def insert(count: int, *, same_time_every: int = 1) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                """INSERT INTO profiles_profile (display_name, stage, traits, computed,
                       consent, created_at, updated_at, last_seen_at)
                   SELECT 'Many ' || g, '', '{}', '{}', '{}', now(), now(),
                          now() - make_interval(mins => g / %s)
                   FROM generate_series(1, %s) g""",
                [same_time_every, count],
            )
            cursor.execute("ANALYZE profiles_profile")

    yield insert
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM profiles_profile WHERE display_name LIKE 'Many %%'")
        cursor.execute("ANALYZE profiles_profile")
