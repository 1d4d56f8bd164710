"""The segment builder in real Chromium: build "country is NL, viewed Product Viewed at
least 3 times in the last 14 days, and did not Order Completed in the last 14 days" with
the mouse and the keyboard, watch the live estimate follow, save, open the member list."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from cdp_site import services as site_services
from cdp_site.permissions import MARKETER
from integrations import services
from integrations.models import Source
from segments import membership
from segments.models import Segment
from tests.conftest import PASSWORD
from tests.profiles.conftest import drain, message, profile_of
from tests.support.signing import signed

# The estimate waits 500 ms after the last change, then counts: generous on a busy machine.
WAIT = 15_000

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def days_ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


@pytest.fixture
def shoppers(transactional_db):
    """Dutch with 3 recent views (the one), Dutch with 1 view, Dutch with 3 views and an
    order, Belgian with 3 views."""
    web = services.create_source(name="Webshop", kind=Source.Kind.WEBSITE)
    people = [
        ("nl-3", "NL", "Noor"),
        ("nl-1", "NL", "Daan"),
        ("nl-order", "NL", "Sem"),
        ("be-3", "BE", "Lotte"),
    ]
    messages = [
        message(
            "identify",
            userId=user,
            timestamp=days_ago(5),
            traits={"country": country, "firstName": name, "lastName": "Test"},
        )
        for user, country, name in people
    ]
    for user, views in [("nl-3", 3), ("nl-1", 1), ("nl-order", 3), ("be-3", 3)]:
        messages += [
            message(
                userId=user,
                event="Product Viewed",
                timestamp=days_ago(3 - i * 0.5),
                properties={"category": "Jackets", "price": 100 + i},
            )
            for i in range(views)
        ]
    messages.append(
        message(
            userId="nl-order",
            event="Order Completed",
            timestamp=days_ago(1),
            properties={"revenue": 250},
        )
    )
    stored = services.ingest_messages(source_id=web.id, messages=signed(web, *messages)).stored
    assert stored == len(messages)
    drain()


def settled(page) -> None:
    """Waits until htmx has no request in flight and nothing left to swap or settle."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')",
        timeout=WAIT,
    )


def test_marketer_builds_the_example_segment_and_opens_its_members(
    page, log_in, live_server, shoppers
):
    site_services.create_user(email="mia@example.org", role=MARKETER, password=PASSWORD)
    log_in("mia@example.org", PASSWORD)
    page.goto(f"{live_server.url}/segments/")
    page.get_by_role("link", name="New segment").click()
    page.get_by_role("heading", name="New segment", level=1).wait_for()
    count = page.locator("#estimate-count")

    page.get_by_label("Name", exact=True).fill("Dutch browsers, no order")

    # Condition 1: a trait (the builder starts with one).
    first = page.locator("#b-root-children-0")
    first.get_by_label("Trait", exact=True).fill("country")
    first.get_by_label("Value", exact=True).fill("NL")
    expect(count).to_have_text("3", timeout=WAIT)

    # Condition 2: an event, added with the keyboard.
    page.get_by_label("Condition to add", exact=True).select_option("event")
    page.get_by_role("button", name="Add condition").press("Enter")
    second = page.locator("#b-root-children-1")
    expect(second.get_by_label("Did or did not", exact=True)).to_be_focused(timeout=WAIT)
    page.keyboard.press("Tab")
    event_name = second.get_by_label("Event name", exact=True)
    expect(event_name).to_be_focused(timeout=WAIT)
    page.keyboard.type("Product Viewed")
    second.get_by_label("How often", exact=True).select_option("at_least")
    settled(page)  # the choice redraws the condition: look again once it has
    second.get_by_label("Times", exact=True).fill("3")
    second.get_by_label("When", exact=True).select_option("last")
    settled(page)
    second.get_by_label("Days", exact=True).fill("14")
    expect(count).to_have_text("2", timeout=WAIT)

    # Condition 3: did not order, with the mouse.
    page.get_by_label("Condition to add", exact=True).select_option("event")
    page.get_by_role("button", name="Add condition").click()
    third = page.locator("#b-root-children-2")
    third.get_by_label("Did or did not", exact=True).select_option("did_not")
    third.get_by_label("Event name", exact=True).fill("Order Completed")
    third.get_by_label("When", exact=True).select_option("last")
    settled(page)
    third.get_by_label("Days", exact=True).fill("14")
    expect(count).to_have_text("1", timeout=WAIT)
    sample = page.locator(".estimate-sample a")
    expect(sample).to_have_count(1)
    expect(sample).to_have_text("N••• T•••")  # a marketer sees the name masked

    # A property filter suggests the event's properties, then is removed again.
    second.get_by_role("button", name="Add property filter").click()
    prop = second.get_by_label("where property", exact=True)
    expect(prop).to_be_focused(timeout=WAIT)
    expect(page.locator("#b-root-children-1-where-0-props option[value='category']")).to_have_count(
        1
    )
    second.get_by_role("button", name="Remove this property filter").click()
    expect(second.get_by_label("where property", exact=True)).to_have_count(0)

    page.get_by_role("button", name="Save segment").click()
    page.wait_for_url(re.compile(r"/segments/\d+/$"))
    segment = Segment.objects.get()
    assert segment.name == "Dutch browsers, no order"
    assert [c["type"] for c in segment.rule["root"]["children"]] == ["trait", "event", "event"]
    assert segment.rule["root"]["children"][2] == {
        "type": "event",
        "name": "Order Completed",
        "did": False,
        "window": {"last_days": 14},
    }

    # The worker's recompute, run here (no worker in this test).
    membership.recompute(segment)
    page.reload()
    members = page.locator("#member-list tr.member")
    expect(members).to_have_count(1)
    expect(members.first).to_have_attribute("data-profile", str(profile_of("user_id", "nl-3").pk))
    members.first.get_by_role("link").click()
    page.wait_for_url(f"{live_server.url}/profiles/*/")
