"""Each resolved event keeps its campaign and page (context.campaign, context.page), the
raw material of attribution; events without them keep nothing."""

import pytest

from profiles.models import ProfileEvent
from profiles.touches import touch_of

from .conftest import message

pytestmark = pytest.mark.django_db


def test_page_event_keeps_utm_from_its_url_and_its_referrer(web, send):
    send(
        web,
        message(
            "page",
            anonymousId="a-1",
            properties={
                "url": "https://shop.example/tents?utm_source=google&utm_medium=cpc"
                "&utm_campaign=spring&id=7",
                "path": "/tents",
                "referrer": "https://www.google.com/",
            },
        ),
    )

    kept = ProfileEvent.objects.get().context
    assert kept["campaign"] == {"source": "google", "medium": "cpc", "name": "spring"}
    assert kept["page"]["path"] == "/tents"
    assert kept["page"]["referrer"] == "https://www.google.com/"


def test_context_campaign_wins_over_the_url_query(web, send):
    send(
        web,
        message(
            anonymousId="a-2",
            context={
                "campaign": {"source": "newsletter", "medium": "email", "name": "december"},
                "page": {"url": "https://shop.example/?utm_source=other", "path": "/"},
            },
        ),
    )

    assert ProfileEvent.objects.get().context["campaign"] == {
        "source": "newsletter",
        "medium": "email",
        "name": "december",
    }


def test_event_without_campaign_or_page_keeps_nothing(web, send):
    send(web, message(anonymousId="a-3", properties={"price": 3}))

    assert ProfileEvent.objects.get().context is None


@pytest.mark.parametrize(
    "context",
    [
        "not an object",
        {"campaign": ["a list"], "page": 7},
        {"campaign": {"source": {"nested": 1}, "medium": True}},
        {"page": {"url": "http://[::1"}},
    ],
)
def test_malformed_context_is_ignored_not_fatal(context):
    touch = touch_of({"type": "track", "context": context})

    assert touch is None or set(touch) <= {"campaign", "page"}
    assert "campaign" not in (touch or {})


def test_long_values_are_cut():
    touch = touch_of({"type": "track", "context": {"campaign": {"name": "x" * 5000}}})

    assert len(touch["campaign"]["name"]) == 300
