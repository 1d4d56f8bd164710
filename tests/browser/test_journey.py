"""The journey page in real Chromium: open the gallery, create the cart-abandonment
journey, see its steps drawn, change the first wait to 30 minutes in the editor, save,
and see the change in the flow."""

import re

import pytest
from playwright.sync_api import expect

from cdp_site import services as site_services
from cdp_site.permissions import MARKETER
from integrations.models import Destination
from tests.conftest import PASSWORD

WAIT = 15_000

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_marketer_creates_the_cart_journey_from_the_gallery_and_edits_its_wait(
    page, log_in, live_server
):
    Destination.objects.create(name="Shop mail", kind=Destination.Kind.SMTP)
    site_services.create_user(email="mia@example.org", role=MARKETER, password=PASSWORD)
    log_in("mia@example.org", PASSWORD)
    page.goto(f"{live_server.url}/campaigns/")
    page.get_by_role("link", name="From the gallery", exact=True).click()
    expect(page.get_by_role("heading", name="Journey gallery")).to_be_visible()
    expect(page.locator("#gallery-cart-abandonment")).to_contain_text("Stage: Acquisition")
    page.get_by_role("button", name=re.compile(r"^Use this journey\W+Cart abandonment$")).click()

    expect(page.get_by_role("heading", name="Cart abandonment", level=1)).to_be_visible()
    flow = page.locator("#flow")
    for step in ("wait-1h", "await-order", "ordered", "reminder"):
        expect(flow.locator(f'[data-step="{step}"]')).to_be_visible()
    expect(flow.locator('[data-step="wait-1h"]')).to_contain_text("1 hour")
    expect(flow.locator('[data-step="await-order"]')).to_contain_text("Order Completed")
    assert flow.locator("path.flow-arrow").count() == 3
    expect(flow.locator(".flow-arrow-label", has_text="timed out")).to_have_count(1)

    first = page.locator("#step-wait-1h")
    minutes = first.get_by_label("Minutes")
    expect(minutes).to_have_value("60")
    minutes.fill("30")
    page.get_by_role("button", name="Save journey").click()
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible(timeout=WAIT)
    expect(page.locator('#flow [data-step="wait-1h"]')).to_contain_text("30 minutes")
    expect(page.locator("#step-wait-1h").get_by_label("Minutes")).to_have_value("30")

    # A mistake is shown next to its field and nothing is saved.
    page.locator("#step-await-order").get_by_label("At most (minutes)").fill("soon")
    page.get_by_role("button", name="Save journey").click()
    expect(page.locator("#f-steps-1-timeout-minutes-error")).to_contain_text(
        "Enter how many minutes", timeout=WAIT
    )
    expect(page.locator("#step-await-order").get_by_label("At most (minutes)")).to_have_attribute(
        "aria-invalid", "true"
    )
