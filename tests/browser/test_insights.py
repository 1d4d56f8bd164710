"""The journey view in real Chromium: the charts draw from the installed plotly, and a
new period or granularity reloads the report in place."""

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
def shoppers(transactional_db):
    web = services.create_source(name="Webshop", kind=Source.Kind.WEBSITE)
    sent = []
    for n in range(6):
        sent.append(message("page", userId=f"s{n}", minutes=n * DAY, properties={"path": "/"}))
        if n % 2:
            sent.append(message(userId=f"s{n}", event="Product Viewed", minutes=(n + 1) * DAY))
        if n % 3 == 0:
            sent.append(message(userId=f"s{n}", event="Order Completed", minutes=(n + 2) * DAY))
    assert services.ingest_messages(source_id=web.id, messages=signed(web, *sent)).stored
    drain()
    site_services.create_user(email="mia@example.org", role="Marketer", password=PASSWORD)


def test_the_journey_view_draws_its_charts_and_reloads_in_place(
    page, log_in, live_server, shoppers, off_site
):
    log_in("mia@example.org", PASSWORD)
    page.goto(f"{live_server.url}/insights/journey/?start=2026-10-25&end=2026-11-20")

    page.wait_for_selector("[data-chart='people-chart'] .main-svg")
    expect(page.locator("[data-chart='flow-chart'] .sankey-node .node-label").first).to_have_text(
        "New"
    )
    assert off_site() == []
    weeks = page.locator("#report details").first.locator("tbody tr")
    expect(weeks).to_have_count(5)  # Sunday 25 Oct is in the week of 19 Oct

    page.get_by_label("Per", exact=True).select_option("day")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#report details").first.locator("tbody tr")).to_have_count(27)
    page.wait_for_selector("[data-chart='flow-chart'] .sankey-node")
    assert "granularity=day" in page.url


def test_a_number_opens_its_people_who_save_as_a_segment(page, log_in, live_server, shoppers):
    log_in("mia@example.org", PASSWORD)
    page.goto(f"{live_server.url}/insights/journey/?start=2026-10-25&end=2026-11-20")
    flows = page.locator("#report details").nth(1)
    flows.locator("summary").click()
    arrivals = flows.locator("tbody tr", has_text="New").filter(has_text="Orientation")
    arrivals.get_by_role("link", name="6").click()

    page.get_by_role("heading", name="Arrived in orientation").wait_for()
    expect(page.locator("tbody tr")).to_have_count(6)  # s0 … s5, each with a first page
    page.get_by_label("Segment name").fill("New visitors, late October")
    page.get_by_role("button", name="Save as a segment").click()
    page.get_by_text("Saved 6 people as “New visitors, late October”.").wait_for()
    assert "/segments/" in page.url


def test_the_retention_grid_draws_a_heatmap(page, log_in, live_server, shoppers):
    log_in("mia@example.org", PASSWORD)
    page.goto(
        f"{live_server.url}/insights/retention/?start=2026-10-26&end=2026-11-08"
        "&returning_event=Product+Viewed"
    )
    page.wait_for_selector("[data-chart='retention-chart'] .main-svg")
    page.locator("#grid details summary").click()
    expect(page.locator("#grid tbody tr")).to_have_count(2)  # weeks of 26 Oct and 2 Nov


def test_a_funnel_is_built_in_the_page_and_its_drop_offs_saved(page, log_in, live_server, shoppers):
    log_in("mia@example.org", PASSWORD)
    page.goto(f"{live_server.url}/insights/funnels/?start=2026-10-25&end=2026-11-20")
    page.get_by_label("Step 1", exact=True).fill("Product Viewed")
    page.get_by_role("button", name="Show", exact=True).click()  # step 2 left empty
    expect(page.locator("#b-steps-1-name-error")).to_have_text("Enter an event name.")
    page.get_by_label("Step 2", exact=True).fill("Order Completed")
    page.get_by_role("button", name="Add a step").click()  # an htmx partial: the rows only
    expect(page.get_by_label("Step 3", exact=True)).to_be_visible()
    expect(page.get_by_label("Step 1", exact=True)).to_have_value("Product Viewed")
    page.get_by_role("button", name="Remove step 3").click()
    expect(page.get_by_label("Step 3", exact=True)).to_have_count(0)
    # The segment builder's property filter, added to step 1 and removed again.
    page.get_by_role("button", name="Add property filter").first.click()
    expect(page.get_by_label("where property")).to_be_visible()
    # Its comparison picker posts the rows back (the segment builder's own): "between"
    # brings the second number.
    # (once htmx has processed the new rows: visible comes a moment earlier)
    page.wait_for_function(
        "() => document.querySelector('#b-steps-0-where-0-op')?.['htmx-internal-data']?.initHash"
    )
    page.get_by_label("Comparison").select_option("between")
    expect(page.locator("[name='steps[0].where[0].value2']")).to_be_visible()
    page.get_by_role("button", name="Remove this property filter").click()
    expect(page.get_by_label("where property")).to_have_count(0)
    page.get_by_role("button", name="Show", exact=True).click()

    page.wait_for_selector("[data-chart='funnel-chart'] .main-svg")
    page.wait_for_selector("[data-chart='funnel-time-chart'] .main-svg")
    expect(page.get_by_role("heading", name="3 people started; 33% finished")).to_be_visible()
    assert "Order+Completed" in page.url  # the address shares the funnel
    page.get_by_role("button", name="Save as a segment").click()
    page.get_by_text("Saved").wait_for()
    assert "/segments/" in page.url


def test_the_lifecycle_bars_draw_and_switch_to_days_in_place(page, log_in, live_server, shoppers):
    log_in("mia@example.org", PASSWORD)
    page.goto(f"{live_server.url}/insights/lifecycle/?start=2026-10-26&end=2026-11-15")
    page.wait_for_selector("[data-chart='lifecycle-chart'] .main-svg")
    expect(page.locator("[data-chart='lifecycle-chart'] .legendtext")).to_have_count(4)
    page.get_by_label("Per", exact=True).select_option("day")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**granularity=day**")
    page.locator("#lifecycle details summary").click()
    expect(page.locator("#lifecycle tbody tr")).to_have_count(21)  # 26 Oct to 15 Nov
    first_day = page.locator("#lifecycle tbody tr").nth(6)  # 1 Nov: s0's first page view
    expect(first_day.locator("td").nth(1)).to_have_text("1")
