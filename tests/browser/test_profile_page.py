"""The Customer 360 page in real Chromium: search as you type, open a profile, scroll
the timeline to load more, add a note."""

import pytest
from playwright.sync_api import expect

from cdp_site import services as site_services
from cdp_site.permissions import ACCOUNT_MANAGER
from integrations import services
from integrations.models import Source
from profiles import selectors
from profiles.rules import services as rules_services
from tests.browser.conftest import log_in_page
from tests.conftest import PASSWORD
from tests.profiles.conftest import drain, message, profile_of
from tests.support.signing import signed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def customer(transactional_db):
    web = services.create_source(name="Webshop", kind=Source.Kind.WEBSITE)
    identify = message(
        "identify",
        userId="w-ann",
        traits={"email": "ann@example.org", "firstName": "Ann", "lastName": "Smith"},
    )
    views = [message(userId="w-ann", minutes=i, event=f"Viewed product {i}") for i in range(45)]
    result = services.ingest_messages(source_id=web.id, messages=signed(web, identify, *views))
    assert result.stored == 46
    drain()


def test_account_manager_finds_a_customer_scrolls_the_timeline_and_adds_a_note(
    page, log_in, live_server, customer
):
    site_services.create_user(email="amy@example.org", role=ACCOUNT_MANAGER, password=PASSWORD)
    log_in("amy@example.org", PASSWORD)
    page.goto(f"{live_server.url}/profiles/")

    page.get_by_role("searchbox", name="Search").press_sequentially("ann@ex", delay=30)
    results = page.locator("#results")
    results.get_by_text("Profiles matching “ann@ex”").wait_for()
    results.get_by_role("link", name="Ann Smith").click()

    page.get_by_role("heading", name="Ann Smith", level=1).wait_for()
    items = page.locator("#timeline-list .timeline-item")
    expect(items).to_have_count(30)
    page.locator(".timeline-more").scroll_into_view_if_needed()
    total = len(selectors.timeline(profile=profile_of("user_id", "w-ann"), limit=500).items)
    assert total > 46  # 46 events and the stage change
    expect(items).to_have_count(total)  # the older items, loaded when revealed
    expect(page.locator(".timeline-more")).to_have_count(0)
    ids = [(i.get_attribute("data-kind"), i.get_attribute("data-id")) for i in items.all()]
    assert len(ids) == len(set(ids)) == total

    page.get_by_label("Add a note").fill("Asked about the winter catalogue")
    page.get_by_role("button", name="Add note").click()
    page.get_by_text("Note added.").wait_for()
    assert (
        page.locator("#notes .note")
        .first.inner_text()
        .startswith("Asked about the winter catalogue")
    )


@pytest.fixture
def shopper(transactional_db):
    """A profile whose key figures have long labels, and 60 more profiles (two pages)."""
    for key, label, event, aggregation, prop in [
        ("favourite_category", "Favourite category", "Product Viewed", "most_frequent", "category"),
        ("product_views_14d", "Product views, last 14 days", "Product Viewed", "count", ""),
    ]:
        rules_services.save_computed_trait(
            key=key, label=label, event_name=event, aggregation=aggregation, property=prop
        )
    web = services.create_source(name="Webshop", kind=Source.Kind.WEBSITE)
    people = [
        message("identify", userId=f"w-{i}", traits={"firstName": f"P{i}"}) for i in range(60)
    ]
    viewed = message(userId="w-0", event="Product Viewed", properties={"category": "Jackets"})
    services.ingest_messages(source_id=web.id, messages=signed(web, *people, viewed))
    drain()
    return profile_of("user_id", "w-0")


# How many lines an element's text takes.
LINES = """el => {
    const range = document.createRange();
    range.selectNodeContents(el);
    return range.getClientRects().length;
}"""
BEFORE = "el => getComputedStyle(el, '::before').content"


@pytest.mark.parametrize("width", [1280, 375])
def test_key_figures_keep_each_value_on_one_line(browser, live_server, shopper, width):
    site_services.create_user(email="mo@example.org", role=ACCOUNT_MANAGER, password=PASSWORD)
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = log_in_page(context.new_page(), live_server.url, "mo@example.org", PASSWORD)
    page.goto(f"{live_server.url}/profiles/{shopper.pk}/")

    figures = page.locator("#computed-title + .facts")
    value = figures.locator("dd", has_text="Jackets")
    assert value.evaluate(LINES) == 1  # was one letter per line beside a long label
    assert figures.locator("dd", has_text="1").evaluate(LINES) == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    context.close()


def test_on_a_phone_stacked_tables_name_each_value(browser, live_server, shopper):
    site_services.create_user(email="mo@example.org", role=ACCOUNT_MANAGER, password=PASSWORD)
    for width, shown in ((375, True), (1280, False)):
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = log_in_page(context.new_page(), live_server.url, "mo@example.org", PASSWORD)
        page.goto(f"{live_server.url}/profiles/")
        cell = page.locator("#results tbody tr").first.locator("td").nth(2)
        expect(cell).to_have_attribute("data-label", "Stage")
        assert (cell.evaluate(BEFORE) != "none") is shown
        if shown:  # the next page arrives through htmx: its rows are named too
            page.get_by_role("link", name="Next 50 profiles").click()
            expect(page.get_by_role("link", name="First page")).to_be_visible()
            last = page.locator("#results tbody tr").last.locator("td").nth(1)
            expect(last).to_have_attribute("data-label", "E-mail")
        context.close()
