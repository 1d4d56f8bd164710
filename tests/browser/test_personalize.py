"""cdp.personalize() in real Chromium: the demo's shop page, on a customer's origin, shows
the banner of the visitor's journey stage, read through GET /v1/personalize."""

from urllib.parse import urlencode

import pytest

from campaigns.personalization import cache, settings
from integrations import services
from integrations.models import Source
from profiles.models import Identity
from tests.profiles.conftest import message, send  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ANONYMOUS_ID = "anon-browser-visitor"
CONSENT = {"consent": {"categoryPreferences": {"personalisation": True}}}


@pytest.fixture
def considering(transactional_db, send):  # noqa: F811
    """A website source and a visitor in the consideration stage (viewed a product)."""
    source = services.create_source(name="Trailhead webshop", kind=Source.Kind.WEBSITE)
    send(
        source,
        message("page", anonymousId=ANONYMOUS_ID, context=CONSENT),
        message(anonymousId=ANONYMOUS_ID, event="Product Viewed", context=CONSENT),
    )
    profile = Identity.objects.get(kind__name="anonymous_id", value=ANONYMOUS_ID).profile
    assert profile.stage == "consideration"
    return source


@pytest.mark.urls("tests.browser.personalize_site")
def test_shop_page_shows_the_banner_of_the_visitors_stage(page, live_server, considering):
    shop_origin = live_server.url.replace("localhost", "127.0.0.1")
    settings.save_settings(
        source=considering, segment_ids=[], traits=[], stage=True, origins=[shop_origin]
    )
    cache.rebuild()
    page.context.add_cookies(
        [{"name": "cdp_anonymous_id", "value": ANONYMOUS_ID, "url": shop_origin}]
    )

    query = urlencode({"key": considering.write_key, "host": live_server.url})
    page.goto(f"{shop_origin}/trailhead/?{query}")

    banner = page.locator('#banner[data-stage="consideration"]')
    banner.wait_for(timeout=15_000)
    assert "Compare our three best-selling jackets" in banner.inner_text()
    assert page.locator("#stage").inner_text() == "consideration"


@pytest.mark.urls("tests.browser.personalize_site")
def test_origin_not_allowed_leaves_the_default_banner(page, live_server, considering):
    shop_origin = live_server.url.replace("localhost", "127.0.0.1")
    settings.save_settings(
        source=considering, segment_ids=[], traits=[], stage=True, origins=["https://other.example"]
    )
    cache.rebuild()
    page.context.add_cookies(
        [{"name": "cdp_anonymous_id", "value": ANONYMOUS_ID, "url": shop_origin}]
    )
    failed = []
    page.on(
        "console", lambda m: failed.append(m.text) if "personalize() failed" in m.text else None
    )

    query = urlencode({"key": considering.write_key, "host": live_server.url})
    page.goto(f"{shop_origin}/trailhead/?{query}")
    page.wait_for_function("() => window.cdp && window.cdp.loaded === true")
    page.evaluate("() => cdp.personalize()")

    assert failed
    assert page.locator("#banner").get_attribute("data-stage") == ""
    assert page.locator("#banner-title").inner_text() == "Welcome to Trailhead"
