"""The website snippet (static/cdp.js) in real Chromium, on a page of a "customer's" site.

The shop page is served from 127.0.0.1 while the loader points at the live server as
localhost, so every request is cross-origin, as on a real customer's site. Tests wait
for rows in the events table (polling with a timeout), never for a fixed time.
"""

import json
from urllib.parse import urlencode

import pytest

from cdp_site.permissions import ADMIN
from integrations import services
from integrations.collect.verification import signature
from integrations.models import Event, Source

BROWSER = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
BATCH = "**/v1/batch"
# Counts navigator.sendBeacon calls the browser accepted, in the page's localStorage.
BEACON_SPY = """
const sendBeacon = navigator.sendBeacon.bind(navigator);
navigator.sendBeacon = (url, data) => {
  const accepted = sendBeacon(url, data);
  const count = Number(localStorage.getItem("beacons_accepted") || 0);
  localStorage.setItem("beacons_accepted", String(count + (accepted ? 1 : 0)));
  return accepted;
};
"""


@pytest.fixture
def source(transactional_db):
    return services.create_source(name="Corner Shop website", kind=Source.Kind.WEBSITE)


@pytest.fixture
def shop_url(live_server):
    """The shop page's URL for a write key, on another origin than the collection host."""
    shop_origin = live_server.url.replace("localhost", "127.0.0.1")
    assert shop_origin != live_server.url

    def url(key: str, **params) -> str:
        query = urlencode({"key": key, "host": live_server.url, **params})
        return f"{shop_origin}/corner-shop/?{query}"

    return url


def open_shop(page, url: str):
    page.goto(url)
    # A function, not an expression: Playwright polls expressions with eval(), which the
    # shop's CSP (rightly) forbids.
    page.wait_for_function("() => window.cdp && window.cdp.loaded === true")
    return page


def wait_for_events(page, source, count: int, timeout: float = 20.0, **filters) -> list[Event]:
    """Polls the events table until ``count`` matching events are stored.

    page.wait_for_timeout (not time.sleep) keeps Playwright's loop turning, so route
    handlers keep answering the browser while the test waits.
    """
    waited = 0.0
    while True:
        events = list(Event.objects.filter(source=source, **filters).order_by("id"))
        if len(events) >= count:
            return events
        if waited > timeout:
            raise AssertionError(f"{len(events)} of {count} events arrived: {events}")
        page.wait_for_timeout(100)
        waited += 0.1


def stored_queue(page) -> list:
    return json.loads(page.evaluate("localStorage.getItem('cdp_queue') || '[]'"))


# The source page --------------------------------------------------------------------


@pytest.mark.django_db
def test_website_source_page_shows_the_loader_as_text_with_its_key_and_host(client_as):
    source = services.create_source(name="Shop", kind=Source.Kind.WEBSITE)
    server = services.create_source(name="Backend", kind=Source.Kind.SERVER)
    client = client_as(ADMIN)

    body = client.get(f"/integrations/sources/{source.pk}/", HTTP_HOST="localhost:8000")
    text = body.content.decode()
    assert f'(window, document, "{source.write_key}", "http://localhost:8000");' in text
    assert "&lt;script&gt;" in text  # shown, not run: our pages carry no inline script
    assert "<script>" not in text and "cdp.page();" in text
    other = client.get(f"/integrations/sources/{server.pk}/").content.decode()
    assert "cdp.page();" not in other


@pytest.mark.django_db
def test_rotating_the_key_swaps_in_a_loader_with_the_new_key(client_as):
    source = services.create_source(name="Shop", kind=Source.Kind.WEBSITE)
    old = source.write_key
    partial = client_as(ADMIN).post(
        f"/integrations/sources/{source.pk}/rotate-key/", {"grace_hours": 1}, HTTP_HX_REQUEST="true"
    )
    source.refresh_from_db()
    text = partial.content.decode()
    assert f'"{source.write_key}", "http://testserver");' in text
    assert f'"{old}", "http' not in text


# The snippet in Chromium ---------------------------------------------------------------


@pytest.mark.urls("tests.browser.snippet_site")
class TestSnippet:
    pytestmark = BROWSER

    def test_page_track_and_identify_arrive_in_the_events_table(self, page, source, shop_url):
        # The loader's own cdp.page() runs before cdp.js has loaded: it is replayed.
        open_shop(page, shop_url(source.write_key))
        page.evaluate(
            """() => {
                cdp.track("Product Viewed", {sku: "A-1", price: 9.5});
                cdp.identify("user-42", {email: "ana@example.org"});
            }"""
        )

        events = wait_for_events(page, source, 3)
        assert [(e.type, e.event, e.user_id) for e in events] == [
            ("page", None, None),
            ("track", "Product Viewed", None),
            ("identify", None, "user-42"),
        ]
        page_view, viewed, identify = (e.payload for e in events)
        anonymous_id = page.evaluate("cdp.anonymousId()")
        assert {e.anonymous_id for e in events} == {anonymous_id}
        assert len({e.message_id for e in events}) == 3
        assert page_view["properties"]["title"] == "Corner Shop"
        assert page_view["context"]["page"]["path"] == "/corner-shop/"
        assert page_view["context"]["library"]["name"] == "cdp.js"
        assert "Chrome" in page_view["context"]["userAgent"]
        assert page_view["context"]["locale"]
        assert "consent" not in page_view["context"]  # none given yet
        assert viewed["properties"] == {"sku": "A-1", "price": 9.5}
        assert identify["traits"] == {"email": "ana@example.org"}
        assert all(e.sent_at is not None for e in events)
        cookies = {c["name"]: c["value"] for c in page.context.cookies()}
        assert cookies["cdp_anonymous_id"] == anonymous_id
        page.wait_for_function("() => localStorage.getItem('cdp_queue') === null")

    def test_the_queue_leaves_by_beacon_when_the_page_is_hidden(self, page, source, shop_url):
        # The API never answers a fetch here (left pending, as on a slow network), so only
        # a beacon can deliver. A spy counts the beacons the browser accepted.
        page.route(BATCH, lambda route: None)
        page.add_init_script(BEACON_SPY)
        shop = open_shop(page, shop_url(source.write_key))
        shop_origin = shop.url.split("/corner-shop/")[0]
        page.evaluate("cdp.track('Checkout Started', {step: 1})")

        # Leaving the page (pagehide, visibilitychange: hidden), for a page of the same site
        # without the snippet, where the spy's count can be read back.
        page.goto(f"{shop_origin}/static/favicon.svg")

        events = wait_for_events(page, source, 2)
        assert [(e.type, e.event) for e in events] == [
            ("page", None),
            ("track", "Checkout Started"),
        ]
        assert int(page.evaluate("localStorage.getItem('beacons_accepted')")) >= 1
        assert stored_queue(page) == []

    def test_nothing_is_sent_while_analytics_consent_is_withheld(self, page, source, shop_url):
        requests = []
        page.on("request", lambda r: "/v1/batch" in r.url and requests.append(r))
        open_shop(page, shop_url(source.write_key, require_consent=1))
        # Withheld by the site's setting (the loader's cdp.page() too), then explicitly.
        page.evaluate("cdp.track('Before Consent'); cdp.identify('user-1', {plan: 'pro'})")
        assert stored_queue(page) == [] and page.context.cookies() == []
        page.evaluate("cdp.consent({analytics: false, marketing: true}); cdp.page('Refused')")
        assert stored_queue(page) == [] and page.evaluate("cdp.anonymousId()") is None

        page.evaluate(
            "cdp.consent({analytics: true, marketing: false}); cdp.track('After Consent')"
        )

        # The queue is first in, first out: had anything earlier been queued, it would
        # have been sent before (or with) this event.
        (event,) = wait_for_events(page, source, 1)
        assert event.event == "After Consent" and event.user_id is None
        assert event.payload["context"]["consent"] == {
            "categoryPreferences": {"analytics": True, "marketing": False}
        }
        assert Event.objects.filter(source=source).count() == 1
        assert len(requests) == 1

    def test_anonymous_id_survives_reloads_and_identify_carries_it(self, page, source, shop_url):
        open_shop(page, shop_url(source.write_key))
        first = page.evaluate("cdp.anonymousId()")
        page.reload()
        assert page.evaluate("cdp.anonymousId()") == first
        # Either store alone is enough to recognise the visitor.
        page.evaluate("localStorage.removeItem('cdp_anonymous_id')")
        page.reload()
        assert page.evaluate("cdp.anonymousId()") == first
        page.context.clear_cookies()
        page.reload()
        assert page.evaluate("cdp.anonymousId()") == first

        page.evaluate("cdp.identify('user-7', {name: 'Ana'})")
        (identify,) = wait_for_events(page, source, 1, type="identify")
        assert (identify.user_id, identify.anonymous_id) == ("user-7", first)

        # Logout: a new anonymous id and no user id from then on.
        page.evaluate("cdp.reset(); cdp.track('Logged Out')")
        (logged_out,) = wait_for_events(page, source, 1, event="Logged Out")
        assert logged_out.user_id is None
        assert logged_out.anonymous_id not in (None, first)
        assert {e.anonymous_id for e in Event.objects.filter(source=source, type="page")} == {first}

    def test_identify_carries_the_backend_s_signature_on_every_later_call(
        self, page, source, shop_url
    ):
        secret = services.verification_secret(source=source)
        made = signature(secret, user_id="user-9", email="ana@example.org")
        proof = {"userId": "user-9", "email": "ana@example.org", "signature": made}
        open_shop(page, shop_url(source.write_key))
        page.evaluate(
            "proof => { cdp.identify('user-9', {email: 'ana@example.org'},"
            " {identityVerification: proof}); cdp.track('Viewed Boots'); }",
            proof,
        )
        identify, viewed = wait_for_events(page, source, 2, user_id="user-9")
        for event in (identify, viewed):
            assert event.payload["cdpTrust"]["verified"][0] == "userId"
        assert identify.payload["cdpTrust"]["verified"] == ["userId", "email"]
        # Another person signs in on this device: the proof was not theirs.
        page.evaluate("cdp.identify('user-10'); cdp.track('Viewed Tents')")
        (other,) = wait_for_events(page, source, 1, event="Viewed Tents")
        assert other.payload["cdpTrust"]["verified"] == []

    @pytest.mark.parametrize("failure", ["500", "429", "offline"])
    def test_a_failed_send_is_retried_until_it_succeeds(self, page, source, shop_url, failure):
        attempts = []

        def route(route):
            attempts.append(json.loads(route.request.post_data))
            if len(attempts) > 1:
                return route.continue_()
            if failure == "offline":
                return route.abort("internetdisconnected")
            cors = {"Access-Control-Allow-Origin": route.request.headers["origin"]}
            headers = {**cors, "Retry-After": "1"} if failure == "429" else cors
            return route.fulfill(status=int(failure), headers=headers, json={"code": "x"})

        page.route(BATCH, route)
        open_shop(page, shop_url(source.write_key))
        page.evaluate("cdp.track('Order Completed', {total: 20})")

        events = wait_for_events(page, source, 2)
        assert [e.type for e in events] == ["page", "track"]
        assert len(attempts) >= 2
        # The retry resends the same messages, so the server can deduplicate them.
        first_ids = [m["messageId"] for m in attempts[0]["batch"]]
        assert set(first_ids) <= {e.message_id for e in events}
        assert attempts[1]["sentAt"] >= attempts[0]["sentAt"]

    def test_a_refused_batch_is_dropped_and_reported_not_retried(self, page, source, shop_url):
        with page.expect_console_message(lambda m: "refused" in m.text) as message:
            open_shop(page, shop_url("not-a-write-key"))
        assert "invalid_write_key" in message.value.text
        assert stored_queue(page) == []
