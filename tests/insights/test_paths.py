"""Paths after (or before) an event: the steps equal each start's next events, pages are
named without ids or query strings, the rarer events are other, and the window holds."""

from datetime import date

import pytest
from django.utils import timezone

from insights.paths.selectors import END, OTHER, label, paths
from insights.periods import Period
from tests.profiles.conftest import message

pytestmark = pytest.mark.django_db
NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30), "week", timezone.get_current_timezone())


@pytest.fixture
def visits(web, send):
    """Five visitors view a product, then each does something else within minutes."""
    thereafter = [
        [("page", "/cart?ref=mail"), "Checkout Started", "Order Completed"],
        [("page", "/cart"), "Checkout Started"],
        [("page", "/orders/123"), "Order Completed"],
        [("page", "/orders/9f2c4e1a-2b3c-4d5e-8f90-1234567890ab")],
        ["Product Removed"],
    ]
    for n, steps in enumerate(thereafter):
        sent = [message(userId=f"v{n}", event="Product Viewed", minutes=10 * n)]
        for k, step in enumerate(steps):
            at = 10 * n + k + 1
            if isinstance(step, tuple):
                sent.append(
                    message("page", userId=f"v{n}", minutes=at, properties={"path": step[1]})
                )
            else:
                sent.append(message(userId=f"v{n}", event=step, minutes=at))
        send(web, *sent)
    # Two days later: outside a 24-hour window.
    send(web, message(userId="v4", event="Order Completed", minutes=48 * 60))


def ask(**overrides):
    question = {"event": "Product Viewed", "direction": "next", "steps": 3, "hours": 24, "top": 8}
    return paths(NOVEMBER, **{**question, **overrides})


def test_pages_are_named_without_ids_or_query_strings():
    assert label("page", "", "/cart?ref=mail#top") == "page /cart"
    assert label("page", "", "/orders/123/items/9") == "page /orders/:id/items/:id"
    assert label("screen", "Home", None) == "screen Home"
    assert label("track", "Order Completed", "/x") == "Order Completed"
    assert label("page", "", "/p/5f3e9a1b2c4d/reviews") == "page /p/:id/reviews"  # hex id
    assert label("page", "", "/blog/deadbeef") == "page /blog/deadbeef"  # a word, not an id
    assert label("page", "", "https://shop.example/orders/42?x=1") == "page /orders/:id"
    assert label("page", "", "https://shop.example") == "page /"


def test_each_step_counts_what_the_starts_did_next_within_the_window(visits):
    found = ask()
    assert found.starts == 5 and not found.sampled
    assert found.steps[0] == {"page /cart": 2, "page /orders/:id": 2, "Product Removed": 1}
    assert found.steps[1] == {"Checkout Started": 2, "Order Completed": 1, END: 2}
    assert found.steps[2] == {"Order Completed": 1, END: 4}  # v4's order came 2 days later
    assert found.links[(1, "page /cart", "Checkout Started")] == 2
    assert found.links[(0, "", "page /orders/:id")] == 2


def test_the_rarer_events_of_a_step_are_other(visits):
    found = ask(top=2)
    assert found.steps[0] == {"page /cart": 2, "page /orders/:id": 2, OTHER: 1}


def test_paths_before_an_event_walk_backwards(visits):
    found = ask(event="Checkout Started", direction="previous", steps=2)
    assert found.steps[0] == {"page /cart": 2} and found.steps[1] == {"Product Viewed": 2}


def test_the_page_and_the_api_draw_the_paths(visits, marketer_client):
    query = "event=Product+Viewed&start=2026-11-01&end=2026-11-30"
    page = marketer_client.get(f"/insights/paths/?{query}").content.decode()
    assert 'data-chart="paths-chart"' in page and "5 times read" in page
    body = marketer_client.get(f"/api/v1/insights/paths/?{query}").json()
    assert body["starts"] == 5 and body["steps"][0]["page /cart"] == 2


@pytest.mark.parametrize(
    "query, field",
    [
        ("start=2026-11-01", "event"),
        ("event=x&steps=6", "steps"),
        ("event=x&hours=0", "hours"),
        ("event=x&direction=sideways", "direction"),
    ],
)
def test_a_bad_paths_question_is_a_400_naming_the_field(marketer_client, query, field):
    assert marketer_client.get(f"/insights/paths/?{query}").status_code == 400
    api = marketer_client.get(f"/api/v1/insights/paths/?{query}")
    assert api.status_code == 400 and field in api.json()["error"]["fields"]


def test_the_steps_download_as_csv_with_cells_safe_for_a_spreadsheet(web, send, marketer_client):
    send(
        web,
        message(userId="x", event="Product Viewed"),
        message(userId="x", event="=cmd()", minutes=1),
    )
    query = "event=Product+Viewed&start=2026-11-01&end=2026-11-30&format=csv"
    lines = marketer_client.get(f"/insights/paths/?{query}").content.decode().splitlines()
    assert lines[0] == "step,event,times" and "1,'=cmd(),1" in lines


@pytest.fixture
def sessions(web, send):
    """s0 views a product, looks at the cart 5 minutes later and checks out 15 minutes after
    that; 40 minutes later (a new session, the same 24 hours) orders. s1 searched 10 and
    45 minutes before viewing a product (the first search in an earlier session)."""
    send(
        web,
        message(userId="s0", event="Product Viewed", minutes=0),
        message("page", userId="s0", minutes=5, properties={"path": "/cart/7?utm=x"}),
        message(userId="s0", event="Checkout Started", minutes=20),
        message(userId="s0", event="Order Completed", minutes=60),
        message(userId="s1", event="Products Searched", minutes=-45),
        message(userId="s1", event="Products Searched", minutes=-10),
        message(userId="s1", event="Product Viewed", minutes=0),
    )


def test_a_session_window_ends_the_path_at_a_pause_of_30_minutes(sessions):
    by_hours = ask()
    in_session = ask(session=True)
    assert by_hours.steps[2] == {"Order Completed": 1, END: 1}
    assert in_session.steps[0] == {"page /cart/:id": 1, END: 1}
    assert in_session.steps[1] == {"Checkout Started": 1, END: 1}
    assert in_session.steps[2] == {END: 2}  # the order came after a 40-minute pause


def test_a_session_window_walks_backwards_too(sessions):
    found = ask(direction="previous", steps=2, session=True)
    assert found.steps[0] == {"Products Searched": 1, END: 1}
    assert found.steps[1] == {END: 2}  # s1's first search was 35 minutes earlier


def test_the_page_and_the_api_choose_the_session_window(sessions, marketer_client):
    query = "event=Product+Viewed&start=2026-11-01&end=2026-11-30&window=session"
    body = marketer_client.get(f"/api/v1/insights/paths/?{query}").json()
    assert body["window"] == "session" and body["steps"][2] == {END: 2}
    page = marketer_client.get(f"/insights/paths/?{query}").content.decode()
    assert "in the same session (no pause of 30 minutes or more)" in page
    assert 'data-testid="time-zone">UTC<' in page
    bad = marketer_client.get("/api/v1/insights/paths/?event=x&window=forever")
    assert bad.status_code == 400 and "window" in bad.json()["error"]["fields"]
