"""The RFM grid in real Chromium: the heatmaps draw from the installed plotly, and a click
on a cell opens the customers behind it."""

from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone
from playwright.sync_api import expect

from cdp_site import services as site_services
from integrations import services
from integrations.models import Source
from profiles import defaults
from profiles.computed import scores
from tests.conftest import PASSWORD
from tests.profiles.conftest import drain, message
from tests.support.signing import signed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def buyers(transactional_db):
    """Five customers: b5 ordered five times, most recently; b1 once, longest ago. So the
    scores fall on the diagonal, one customer per cell from (1, 1) to (5, 5)."""
    defaults.install_scores(apps)  # a flushed test database lost the migration's rows
    web = services.create_source(name="Webshop", kind=Source.Kind.WEBSITE)
    now = timezone.now()
    sent = [
        message(
            userId=f"b{n}",
            event="Order Completed",
            properties={"revenue": 10 * n},
            timestamp=(now - timedelta(days=(6 - n) * 3 + k, hours=1)).isoformat(),
        )
        for n in range(1, 6)
        for k in range(n)
    ]
    assert services.ingest_messages(source_id=web.id, messages=signed(web, *sent)).stored
    drain()
    scores.recompute_scores()
    site_services.create_user(email="mia@example.org", role="Marketer", password=PASSWORD)


def test_a_click_on_a_cell_opens_its_customers(page, log_in, live_server, buyers, off_site):
    log_in("mia@example.org", PASSWORD)
    page.goto(f"{live_server.url}/insights/rfm/")
    page.wait_for_selector("[data-chart='rfm-customers-chart'] .main-svg")
    page.wait_for_selector("[data-chart='rfm-revenue-chart'] .main-svg")
    assert off_site() == []

    # The plot area is 5 x 5 cells, R5 on top and F5 on the right: the top-right cell is
    # the champion, b5.
    area = page.locator("[data-chart='rfm-customers-chart'] .nsewdrag").first.bounding_box()
    page.mouse.click(area["x"] + area["width"] * 0.9, area["y"] + area["height"] * 0.1)

    page.get_by_role("heading", name="Recency 5, frequency 5 (Champions)").wait_for()
    assert page.url.endswith("/insights/rfm/people/?r=5&f=5")
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody tr").first).to_contain_text("Champions")
