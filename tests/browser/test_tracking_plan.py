"""An admin starts a tracking plan from a source's events in real Chromium, sees an
invalid JSON Schema refused at its field (htmx swaps the events in place), saves a valid
one, blocks the source's bad events and reads the violation with its example."""

import pytest
from playwright.sync_api import expect

from cdp_site import services as site_services
from integrations import services as integrations
from integrations.models import RejectedEvent
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop(transactional_db):
    site_services.create_user(email="ada@example.org", role="Admin", password=PASSWORD)
    source = integrations.create_source(name="Shop backend", kind="server")
    order = {"type": "track", "userId": "a", "event": "Order Completed"}
    integrations.ingest_messages(
        source_id=source.pk, messages=[order | {"properties": {"total": 3}}]
    )
    return source


def test_an_admin_infers_edits_and_enforces_a_tracking_plan(page, log_in, live_server, shop):
    log_in("ada@example.org", PASSWORD)
    page.goto(f"{live_server.url}/integrations/")
    page.get_by_role("link", name="Tracking plans").click()
    page.get_by_label("Source", exact=True).select_option(label="Shop backend")
    page.get_by_label("Name of the new plan").fill("Shop plan")
    page.get_by_role("button", name="Infer a plan").click()
    expect(page.get_by_role("heading", name="Shop plan", level=1)).to_be_visible()

    page.get_by_text("Order Completed", exact=True).click()  # opens the event's card
    schema = page.get_by_label("JSON Schema of its properties").first
    expect(schema).to_contain_text('"total"')
    schema.fill('{"type": "object", "properties": {"total": {"type": "money"}}}')
    page.get_by_role("button", name="Save Order Completed").click()
    expect(page.get_by_role("alert").first).to_contain_text("Not a valid JSON Schema")

    page.get_by_label("JSON Schema of its properties").first.fill(
        '{"type": "object", "properties": {"total": {"type": "number"}}}'
    )
    page.get_by_role("button", name="Save Order Completed").click()
    expect(page.locator("#plan-events")).not_to_contain_text("Not a valid JSON Schema")

    page.get_by_label("Source", exact=True).select_option(label="Shop backend")
    page.get_by_label("What breaks the plan").select_option("block")
    page.get_by_role("button", name="Follow this plan").click()
    # The table, not the form's own options, says the mode once the section is swapped.
    expect(page.locator("#plan-sources tbody")).to_contain_text("Block the event")

    bad = {"type": "track", "userId": "a", "event": "Order Completed", "messageId": "bad-1"}
    integrations.ingest_messages(source_id=shop.pk, messages=[bad | {"properties": {"total": "x"}}])
    assert RejectedEvent.objects.get().reason.startswith("Tracking plan: /properties/total")
    page.reload()
    page.get_by_text("Order Completed", exact=True).click()
    expect(page.locator("#plan-events")).to_contain_text("expected number, got string")
    expect(page.locator("#plan-events")).to_contain_text("bad-1")
