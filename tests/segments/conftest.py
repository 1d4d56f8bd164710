from datetime import UTC, datetime, timedelta

import pytest

from profiles.models import Identity
from tests.profiles.conftest import crm, drain, message, send, web  # noqa: F401

pytestmark = pytest.mark.django_db

NOW = datetime.now(UTC)


def rule(*children, match="all"):
    return {"version": 1, "root": {"type": "group", "match": match, "children": list(children)}}


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


# The example: Dutch, viewed products 3 times in 14 days, no order in 14 days.
EXAMPLE = rule(
    {"type": "trait", "key": "country", "op": "equals", "value": "NL"},
    {
        "type": "event",
        "name": "Product Viewed",
        "count": {"op": "at_least", "value": 3},
        "window": {"last_days": 14},
    },
    {"type": "event", "name": "Order Completed", "did": False, "window": {"last_days": 14}},
)
