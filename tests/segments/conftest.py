from datetime import UTC, datetime, timedelta

import pytest

from profiles.models import Identity
from tests.profiles.conftest import crm, drain, message, send, web  # noqa: F401
from tests.support.segment_rules import EXAMPLE, rule  # noqa: F401 (for the tests)

pytestmark = pytest.mark.django_db

NOW = datetime.now(UTC)


def recent(minutes: float) -> str:
    """A timestamp a day ago plus ``minutes``: inside every window the tests use."""
    return (NOW - timedelta(days=1) + timedelta(minutes=minutes)).isoformat()


def pid(value, kind="user_id"):
    return Identity.objects.get(kind__name=kind, value=value).profile_id


@pytest.fixture
def shoppers(web, send):  # noqa: F811
    """nl-3: Dutch, 3 product views, no order (in the example segment); nl-order: Dutch,
    3 views and an order; nl-1: Dutch, 1 view; be-3: Belgian, 3 views."""
    for user, country in [("nl-3", "NL"), ("nl-1", "nl"), ("nl-order", "NL"), ("be-3", "BE")]:
        send(
            web,
            message(
                "identify",
                userId=user,
                traits={
                    "country": country,
                    "age": 40,
                    "email": f"{user}@example.org",
                    "firstName": user.upper(),
                },
            ),
        )
    for user, views in [("nl-3", 3), ("nl-1", 1), ("nl-order", 3), ("be-3", 3)]:
        for i in range(views):
            send(
                web,
                message(
                    userId=user,
                    event="Product Viewed",
                    timestamp=recent(i + 1),
                    properties={"category": "Jackets", "price": 100 + i},
                ),
            )
    send(
        web,
        message(
            userId="nl-order",
            event="Order Completed",
            timestamp=recent(9),
            properties={"revenue": 250},
        ),
    )
