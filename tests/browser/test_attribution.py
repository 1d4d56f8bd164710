"""The attribution report in real Chromium: the bar chart draws from the installed
plotly, a new channel grouping reloads in place, and a number opens its buyers."""

import pytest
from playwright.sync_api import expect

from cdp_site import services as site_services
from integrations import services
from integrations.models import Source
from tests.conftest import PASSWORD
from tests.profiles.conftest import drain, message
from tests.support.signing import signed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DAY = 24 * 60


@pytest.fixture
def buyers(transactional_db):
    web = services.create_source(name="Webshop", kind=Source.Kind.WEBSITE)
    url = "https://shop.example/?utm_source=google&utm_medium=cpc"
    sent = []
    for n in range(3):
        props = {"url": url, "path": "/"} if n < 2 else {"path": "/"}
        sent.append(message("page", userId=f"b{n}", minutes=n * DAY, properties=props))
        sent.append(
            message(
                userId=f"b{n}",
                event="Order Completed",
                minutes=(n + 1) * DAY,
                properties={"revenue": 10 * (n + 1), "currency": "EUR"},
            )
        )
    assert services.ingest_messages(source_id=web.id, messages=signed(web, *sent)).stored
    drain()
    site_services.create_user(email="mia@example.org", role="Marketer", password=PASSWORD)


def test_the_report_draws_reloads_in_place_and_opens_the_buyers(
    page, log_in, live_server, buyers, off_site
):
    log_in("mia@example.org", PASSWORD)
    page.goto(f"{live_server.url}/insights/attribution/?start=2026-11-01&end=2026-11-30")

    page.wait_for_selector("[data-chart='attribution-chart-0'] .main-svg")
    assert off_site() == []
    table = page.locator("#report details")
    table.locator("summary").click()
    expect(table.locator("tbody tr", has_text="google")).to_contain_text("30.00")

    page.get_by_label("Channel by").select_option("medium")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#report details tbody tr", has_text="cpc")).to_have_count(1)
    assert "by=medium" in page.url

    page.locator("#report details summary").click()
    row = page.locator("#report details tbody tr", has_text="cpc")
    row.get_by_role("link").first.click()
    page.get_by_role("heading", name="Order Completed credited to medium cpc").wait_for()
    expect(page.locator("tbody tr")).to_have_count(2)
