"""The lifecycle bars in real Chromium: a number of the table opens the people behind it,
who save as a static segment in one click."""

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD

from .test_insights import shoppers  # noqa: F401 (the fixture: six shoppers from 1 November)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_lifecycle_number_opens_its_people_who_save_as_a_segment(
    page,
    log_in,
    live_server,
    shoppers,  # noqa: F811
):
    log_in("mia@example.org", PASSWORD)
    page.goto(f"{live_server.url}/insights/lifecycle/?start=2026-10-26&end=2026-11-22")
    page.wait_for_selector("[data-chart='lifecycle-chart'] .main-svg")
    week = page.locator("#lifecycle tbody tr", has_text="2026-11-02")
    week.get_by_role("link", name="5").first.click()  # s1 … s5 are new that week

    page.get_by_role("heading", name="New, week of 2026-11-02 – 2026-11-08").wait_for()
    expect(page.locator("tbody tr")).to_have_count(5)
    page.get_by_label("Segment name").fill("New in the first week of November")
    page.get_by_role("button", name="Save as a segment").click()
    page.get_by_text("Saved 5 people as “New in the first week of November”.").wait_for()
    assert "/segments/" in page.url
