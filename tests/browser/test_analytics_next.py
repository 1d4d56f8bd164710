"""Segment's own browser library, analytics.js 2.0 (``@segment/analytics-next`` from
npm), in real Chromium, sending to this server: its short paths (/v1/p, /v1/t, /v1/i)
and, with the batching strategy, /v1/b, as it does against Segment's API.

The page is served from 127.0.0.1 and the API is the live server as localhost, so every
request is cross-origin, as on a real customer's site.
"""

from urllib.parse import urlencode

import pytest

from integrations import services
from integrations.models import Event, Source
from tests.browser.test_snippet import wait_for_events

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.urls("tests.browser.segment_site"),
]

SEND = """async () => {
  await shop.page("Catalogue", "Winter jackets", {path: "/jackets", season: "winter"});
  await shop.track("Order Completed", {order_id: "o-1", total: 99.5,
                                       products: [{sku: "J-1", name: "Jacket"}]});
  await shop.identify("user-42", {email: "ana@example.org", plan: "gold"});
}"""


@pytest.fixture
def source(transactional_db):
    return services.create_source(name="Corner Shop website", kind=Source.Kind.WEBSITE)


@pytest.fixture
def open_shop(page, live_server):
    """Opens the shop page on another origin; returns the requests the browser made."""
    requests = []
    page.on("request", lambda request: requests.append(request.url))

    def open_(source, **params) -> list[str]:
        shop_origin = live_server.url.replace("localhost", "127.0.0.1")
        query = urlencode({"key": source.write_key, "host": live_server.url, **params})
        page.goto(f"{shop_origin}/analytics-shop/?{query}")
        page.wait_for_function("() => window.AnalyticsNext && window.shop")
        return requests

    return open_


def assert_stored(events: list[Event]) -> None:
    by_type = {e.type: e for e in events}
    assert set(by_type) == {"page", "track", "identify"}
    viewed, ordered, identified = by_type["page"], by_type["track"], by_type["identify"]
    assert viewed.payload["category"] == "Catalogue"
    assert viewed.payload["name"] == "Winter jackets"
    assert viewed.payload["properties"]["season"] == "winter"
    assert viewed.payload["properties"]["path"] == "/jackets"
    assert ordered.event == "Order Completed"
    assert ordered.payload["properties"] == {
        "order_id": "o-1",
        "total": 99.5,
        "products": [{"sku": "J-1", "name": "Jacket"}],
    }
    assert identified.user_id == "user-42"
    assert identified.payload["traits"] == {"email": "ana@example.org", "plan": "gold"}
    assert identified.anonymous_id == viewed.anonymous_id == ordered.anonymous_id
    assert ordered.payload["context"]["library"]["name"] == "analytics.js"
    assert "writeKey" not in ordered.payload


def test_page_track_and_identify_arrive_through_the_short_paths(
    page, source, open_shop, live_server
):
    requests = open_shop(source)
    page.evaluate(SEND)

    assert_stored(wait_for_events(page, source, 3))
    api = [u.removeprefix(live_server.url) for u in requests if u.startswith(live_server.url)]
    assert sorted(api) == ["/v1/i", "/v1/p", "/v1/t"]
    local = (live_server.url, live_server.url.replace("localhost", "127.0.0.1"), "data:")
    assert [u for u in requests if not u.startswith(local)] == []


def test_the_batching_strategy_sends_the_three_calls_to_the_batch_path(
    page, source, open_shop, live_server
):
    requests = open_shop(source, batching="1")
    page.evaluate(SEND)

    assert_stored(wait_for_events(page, source, 3))
    api = [u.removeprefix(live_server.url) for u in requests if u.startswith(live_server.url)]
    assert api == ["/v1/b"]
