import pytest

from tests.profiles import conftest as profiles_conftest
from tests.profiles.conftest import message

# The profiles tests' fixtures: a website source, a CRM, and sending through collection.
web, crm, send = profiles_conftest.web, profiles_conftest.crm, profiles_conftest.send


@pytest.fixture
def marketer_client(client, make_user):
    client.force_login(make_user("Marketer"))
    return client


DAY = 24 * 60


@pytest.fixture
def journeys(web, send):
    """Four people over three weeks around T0 (2026-11-01), one starting before it."""
    send(web, message("page", userId="early", minutes=-10 * DAY, properties={"path": "/"}))
    send(web, message("page", userId="u1", properties={"path": "/"}))
    send(web, message(userId="u2", event="Product Viewed", minutes=1 * DAY))
    send(web, message(userId="u1", event="Product Viewed", minutes=2 * DAY))
    send(web, message("page", userId="u4", minutes=3 * DAY, properties={"path": "/"}))
    send(web, message(userId="early", event="Checkout Started", minutes=5 * DAY))
    send(web, message(userId="u1", event="Order Completed", minutes=9 * DAY))
    send(web, message(userId="u2", event="Cart Viewed", minutes=16 * DAY))
