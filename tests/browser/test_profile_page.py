"""The Customer 360 page in real Chromium: search as you type, open a profile, scroll
the timeline to load more, add a note."""

import pytest
from playwright.sync_api import expect

from cdp_site import services as site_services
from cdp_site.permissions import ACCOUNT_MANAGER
from integrations import services
from integrations.models import Source
from profiles import selectors
from tests.conftest import PASSWORD
from tests.profiles.conftest import drain, message, profile_of
from tests.support.signing import signed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def customer(transactional_db):
    web = services.create_source(name="Webshop", kind=Source.Kind.WEBSITE)
    identify = message("identify", userId="w-ann", traits={"email": "ann@example.org",
                       "firstName": "Ann", "lastName": "Smith"})  # fmt: skip
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
